"""Writes on applications. Every state change is one function here: atomic, checked, audited."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditAction
from accounts.permissions import enforce
from accounts.services import record_audit
from grants.models import Tranche, Window

from . import permissions, signals, submission, uploads
from .checks import UnitLineData, content_errors, unit_line_errors

# Read by the portal and by callers of this module from before the checks had a module of their own.
from .checks import submission_errors as submission_errors
from .models import (
    ALLOWED_TRANSITIONS,
    DECIDED_STATUSES,
    Application,
    Attachment,
    AttachmentKind,
    InformationRequest,
    Status,
    StatusChange,
    UnitLine,
)
from .selectors import own_completion_time

logger = logging.getLogger(__name__)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


# Detected content type -> the file name endings such content may carry.
ALLOWED_ATTACHMENT_TYPES = {
    "application/pdf": {".pdf"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {".xlsx"},
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {".docx"},
}


def _locked(application: Application) -> Application:
    """Re-read the application under a row lock so two requests cannot both change its state."""
    return Application.objects.select_for_update().get(pk=application.pk)


def _transition(application: Application, *, to: str, actor, reason: str = "", at: datetime | None = None) -> None:
    if to not in ALLOWED_TRANSITIONS.get(application.status, set()):
        raise ValidationError(
            _("An application that is %(from)s cannot become %(to)s.")
            % {"from": application.get_status_display(), "to": Status(to).label}
        )
    at = at or timezone.now()
    StatusChange.objects.create(
        application=application, from_status=application.status, to_status=to, actor=actor, at=at, reason=reason
    )
    logger.info("application %s: %s -> %s by %s", application.public_id, application.status, to, actor)
    application.status = to


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})


# --- drafting -------------------------------------------------------------------------------------------


def create_application(
    *,
    user,
    tranche: Tranche,
    window: Window,
    project_name: str,
    location: str,
    description: str = "",
    planned_start=None,
    planned_completion=None,
) -> Application:
    enforce(permissions.can_apply(user))
    if window.tranche_id != tranche.pk:
        raise ValidationError({"window": _("This window is not part of the tranche.")})
    application = Application(
        municipality_id=user.municipality_id,
        tranche=tranche,
        window=window,
        project_name=project_name,
        location=location,
        description=description,
        planned_start=planned_start,
        planned_completion=planned_completion,
        created_by=user,
    )
    application.full_clean()
    with transaction.atomic():
        application.save()
        StatusChange.objects.create(application=application, to_status=Status.DRAFT, actor=user, at=timezone.now())
    return application


EDITABLE_FIELDS = {"window", "project_name", "location", "description", "planned_start", "planned_completion"}


@transaction.atomic
def update_application(*, application: Application, user, **changes) -> Application:
    enforce(permissions.can_edit(user, application))
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    application = _locked(application)
    enforce(permissions.can_edit(user, application))
    if "window" in changes and changes["window"].tranche_id != application.tranche_id:
        raise ValidationError({"window": _("This window is not part of the tranche.")})
    for field, value in changes.items():
        setattr(application, field, value)
    application.full_clean()
    submission.clear_ready(application)
    application.save()
    return application


@transaction.atomic
def save_unit_lines(*, application: Application, user, lines: list[UnitLineData]) -> list[UnitLine]:
    """Replace the unit lines of an editable application. An empty requested amount means the maximum."""
    enforce(permissions.can_edit(user, application))
    application = _locked(application)
    enforce(permissions.can_edit(user, application))
    tranche, window = application.tranche, application.window
    errors = {}
    for index, line in enumerate(lines):
        for field, messages in unit_line_errors(tranche=tranche, window=window, line=line).items():
            errors[f"lines-{index}-{field}"] = messages
    if errors:
        raise ValidationError(errors)
    submission.clear_ready(application)
    application.unit_lines.all().delete()
    saved = UnitLine.objects.bulk_create(
        UnitLine(
            application=application,
            target_group=line.target_group,
            housing_type=line.housing_type,
            permanence=line.permanence,
            self_contained=line.self_contained,
            common_room=line.common_room,
            construction=line.construction,
            units=line.units,
            requested_amount=(
                line.requested_amount
                if line.requested_amount is not None
                else tranche.max_per_unit(permanence=line.permanence, housing_type=line.housing_type) * line.units
            ),
            planned_monthly_rent=line.planned_monthly_rent,
        )
        for line in lines
    )
    application.save(update_fields=["updated_at"])
    return saved


@transaction.atomic
def save_draft(*, application: Application, user, lines: list[UnitLineData], **changes) -> Application:
    """Change the application's fields and replace its unit lines together: both are saved or neither."""
    application = update_application(application=application, user=user, **changes)
    save_unit_lines(application=application, user=user, lines=lines)
    return application


def _detect_content_type(uploaded_file) -> str | None:
    uploaded_file.seek(0)
    head = uploaded_file.read(8192)
    uploaded_file.seek(0)
    kind = filetype.guess(head)
    return kind.mime if kind else None


# The content types that are zip archives: checked for what they unpack to.
ARCHIVE_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def _refuse_viruses(uploaded_file, *, application: Application) -> None:
    try:
        virus = uploads.scan(uploaded_file)
    except uploads.ScannerUnavailable as error:
        logger.error("virus scanner unavailable for an attachment of application %s: %s", application.public_id, error)
        raise ValidationError(
            {"file": _("The file could not be checked for viruses just now. Try again later.")}
        ) from None
    if virus:
        logger.warning("attachment for application %s refused: the scanner found %s", application.public_id, virus)
        raise ValidationError(
            {"file": _("The file contains a virus (%(name)s) and has been refused.") % {"name": virus}}
        )


def add_attachment(*, application: Application, user, kind: str, uploaded_file) -> Attachment:
    """Check the file (kind, size, type by content, archive contents, viruses) and store it.

    No transaction is held during the checks: the virus scan may take seconds. The record is a single insert.
    """
    enforce(permissions.can_edit(user, application))
    if kind not in AttachmentKind.values:
        raise ValidationError({"kind": _("Choose the kind of document.")})
    if uploaded_file.size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    if uploaded_file.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationError({"file": uploads.too_large_message()})
    content_type = _detect_content_type(uploaded_file)
    name = uploaded_file.name.rsplit("/", 1)[-1]
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if content_type not in ALLOWED_ATTACHMENT_TYPES:
        raise ValidationError({"file": _("Only PDF, XLSX or DOCX documents are accepted; this file is none of them.")})
    if extension not in ALLOWED_ATTACHMENT_TYPES[content_type]:
        raise ValidationError(
            {"file": _("The file name says %(ext)s but the content is something else.") % {"ext": extension or "-"}}
        )
    if content_type in ARCHIVE_TYPES and (problem := uploads.archive_problem(uploaded_file)):
        raise ValidationError({"file": problem})
    _refuse_viruses(uploaded_file, application=application)
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    attachment = Attachment(
        application=application,
        kind=kind,
        original_name=name[:255],
        content_type=content_type,
        size=uploaded_file.size,
        sha256=digest.hexdigest(),
        uploaded_by=user,
    )
    attachment.file.save(name, uploaded_file, save=False)
    attachment.save()
    submission.clear_ready(application)
    return attachment


@transaction.atomic
def delete_attachment(*, attachment: Attachment, user) -> None:
    enforce(permissions.can_edit(user, attachment.application))
    # The file goes for good; the audit log keeps what it was and who removed it.
    detail = f"{attachment.original_name}, {attachment.size} bytes, of application {attachment.application.public_id}"
    record_audit(action=AuditAction.DISCARD, actor=user, target=attachment, detail=detail)
    attachment.file.delete(save=False)
    attachment.delete()
    submission.clear_ready(attachment.application)


# --- submission -----------------------------------------------------------------------------------------


def submit_application(
    *, application: Application, user, now: datetime | None = None, declaration: str = ""
) -> Application:
    """Submit a draft, checking everything at `now`, its receipt instant; the portal's submission of a draft
    confirmed as ready is applications.submission.submit_ready. The portal passes the signatory's declaration."""
    return submission.submit_draft(
        application=application, user=user, arrived_at=now or timezone.now(), declaration=declaration
    )


@transaction.atomic
def ask_signatory(*, application: Application, user, now: datetime | None = None) -> bool:
    """An editor asks the municipality's signatories to submit, or send back, an application they may not send.

    False when a request is open already: asking twice notifies nobody twice. The notifications stage tells each
    signatory after the commit (signals.signatory_asked).
    """
    enforce(permissions.can_ask_signatory(user, application))
    application = _locked(application)
    enforce(permissions.can_ask_signatory(user, application))
    if application.signatory_asked:
        return False
    application.signatory_asked_at, application.signatory_asked_by = now or timezone.now(), user
    application.save(update_fields=["signatory_asked_at", "signatory_asked_by", "updated_at"])
    record_audit(action=AuditAction.CONFIRMATION, actor=user, target=application, detail="signatory asked to submit")
    transaction.on_commit(
        lambda: signals.signatory_asked.send(sender=Application, application=application), robust=True
    )
    logger.info("application %s: %s asked the signatories to submit", application.public_id, user)
    return True


@transaction.atomic
def resubmit_application(
    *, application: Application, user, now: datetime | None = None, reply: str = ""
) -> Application:
    """Send back the requested information; the application is complete from this instant.

    Answers the open information request, with the municipality's `reply` kept on it, and moves the ranking instant
    by the time it was open.
    """
    enforce(permissions.can_submit(user, application))
    application = _locked(application)
    if application.status != Status.INFORMATION_REQUESTED:
        raise ValidationError(_("No information has been requested for this application."))
    problems = content_errors(application)
    if problems:
        raise ValidationError(problems)
    now = now or timezone.now()
    application.information_requests.filter(answered_at__isnull=True).update(
        answered_at=now, answered_by=user, reply=reply.strip()
    )
    application.signatory_asked_at = application.signatory_asked_by = None
    application.completed_at = now
    application.ranks_at = application.received_at + own_completion_time(application.information_requests.all())
    _transition(application, to=Status.RESUBMITTED, actor=user, at=now)
    application.save()
    return application


@transaction.atomic
def withdraw_application(*, application: Application, user, reason: str) -> Application:
    enforce(permissions.can_withdraw(user, application))
    _require_reason(reason)
    application = _locked(application)
    _transition(application, to=Status.WITHDRAWN, actor=user, reason=reason)
    application.save()
    return application


# --- agency handling ------------------------------------------------------------------------------------


@transaction.atomic
def start_review(*, application: Application, user) -> Application:
    enforce(permissions.can_handle(user, application))
    application = _locked(application)
    _transition(application, to=Status.IN_REVIEW, actor=user)
    application.save()
    return application


def information_deadline(*, requested_at: datetime, tranche: Tranche) -> date:
    """The last day of the hersteltermijn: the tranche's term in calendar days after the request's day.

    Days in Europe/Amsterdam, answered in time until the end of that day: a DST change within the term makes
    it an hour longer or shorter, never a day.
    """
    return timezone.localdate(requested_at, AMSTERDAM) + timedelta(days=tranche.information_term_days)


@transaction.atomic
def request_information(*, application: Application, user, reason: str, now: datetime | None = None) -> Application:
    """Ask the municipality to complete the application within the tranche's term; its own time starts now."""
    enforce(permissions.can_handle(user, application))
    _require_reason(reason)
    application = _locked(application)
    now = now or timezone.now()
    _transition(application, to=Status.INFORMATION_REQUESTED, actor=user, reason=reason, at=now)
    # A request to the signatory made for the draft was answered by its submission.
    application.signatory_asked_at = application.signatory_asked_by = None
    InformationRequest.objects.create(
        application=application,
        requested_at=now,
        requested_by=user,
        reason=reason,
        deadline=information_deadline(requested_at=now, tranche=application.tranche),
    )
    application.save()
    return application


@transaction.atomic
def mark_eligible(*, application: Application, user, reason: str = "") -> Application:
    enforce(permissions.can_handle(user, application))
    application = _locked(application)
    _transition(application, to=Status.ELIGIBLE, actor=user, reason=reason)
    application.save()
    return application


@transaction.atomic
def mark_ineligible(*, application: Application, user, reason: str) -> Application:
    enforce(permissions.can_handle(user, application))
    _require_reason(reason)
    application = _locked(application)
    _transition(application, to=Status.INELIGIBLE, actor=user, reason=reason)
    application.save()
    return application


def record_decision(*, application: Application, user, status: str, reason: str = "") -> Application:
    """Move an application to the status of a decision issued on it; called by the deciding service inside its
    transaction. A later decision that keeps the status (a partial grant lowered again) changes nothing here."""
    if status not in DECIDED_STATUSES:
        raise ValueError(status)
    application = _locked(application)
    if application.status == status:
        return application
    _transition(application, to=status, actor=user, reason=reason)
    application.save()
    return application


# --- after the grant ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitLineChange:
    """One unit line before and after a change of its units after the grant."""

    unit_line: UnitLine
    units_before: int
    units_after: int
    requested_before: Decimal
    requested_after: Decimal


def requested_for_units(line: UnitLine, units: int) -> Decimal:
    """The line's request for `units` at its own request per unit, rounded down to the cent."""
    return Decimal(int(line.requested_amount * 100) * units // line.units).scaleb(-2)


@transaction.atomic
def change_units_after_grant(
    *, application: Application, user, units: dict[int, int], reason: str
) -> list[UnitLineChange]:
    """Give a granted application's unit lines the units an approved change has them, and return what changed.

    Called by the deciding service inside its transaction, which checks who may decide. Each line keeps its
    request per unit, so its requested amount follows its units and its share of the grant with it. The lines'
    history (HistoricalRecords) keeps the old and new values with the user and the reason. `units` maps every
    unit line of the application to its new number of units, at least 1.
    """
    application = _locked(application)
    if application.status not in (Status.GRANTED, Status.PARTIALLY_GRANTED):
        raise ValidationError(_("Only the unit lines of a granted application can be changed after the grant."))
    lines = list(application.unit_lines.select_for_update().order_by("pk"))
    if set(units) != {line.pk for line in lines}:
        raise ValueError(f"not the unit lines of application {application.pk}: {sorted(units)}")
    if any(count < 1 for count in units.values()):
        raise ValidationError(_("Each unit line keeps at least one unit."))
    changes = []
    for line in lines:
        if units[line.pk] == line.units:
            continue
        change = UnitLineChange(
            unit_line=line,
            units_before=line.units,
            units_after=units[line.pk],
            requested_before=line.requested_amount,
            requested_after=requested_for_units(line, units[line.pk]),
        )
        line.units, line.requested_amount = change.units_after, change.requested_after
        line._history_user = user
        # The history keeps a short reason; the full one is in the decision.
        line._change_reason = reason[:100]
        line.save(update_fields=["units", "requested_amount"])
        changes.append(change)
        logger.info(
            "unit line %s of %s: %s -> %s units by %s",
            line.pk,
            application.public_id,
            change.units_before,
            change.units_after,
            user,
        )
    return changes
