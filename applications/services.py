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
from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from accounts.permissions import enforce
from grants.models import HousingType, RentLimit, Tranche, TrancheTargetGroup, Window

from . import permissions, uploads
from .models import (
    ALLOWED_TRANSITIONS,
    DECIDED_STATUSES,
    Application,
    Attachment,
    AttachmentKind,
    InformationRequest,
    Permanence,
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
    application.save()
    return application


@dataclass(frozen=True)
class UnitLineData:
    target_group: TrancheTargetGroup
    housing_type: HousingType
    permanence: str
    units: int
    self_contained: bool = True
    common_room: bool = False
    construction: str = "new_build"
    requested_amount: Decimal | None = None
    planned_monthly_rent: Decimal | None = None


def unit_line_errors(*, tranche: Tranche, window: Window, line: UnitLineData) -> dict[str, list[str]]:
    """What is wrong with one unit line under the tranche's rules, by field name."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if line.target_group is None:
        add("target_group", _("Choose a target group."))
    elif line.target_group.tranche_id != tranche.pk:
        add("target_group", _("This target group is not part of the tranche."))
    elif not any(group.pk == line.target_group.pk for group in window.eligible_target_groups.all()):
        add(
            "target_group",
            _("%(group)s is not eligible in %(window)s.") % {"group": line.target_group, "window": window.name},
        )
    if line.housing_type is None:
        add("housing_type", _("Choose a housing type."))
    if line.permanence not in Permanence.values:
        add("permanence", _("Choose permanent or flexible."))
    if line.units is None or line.units <= 0:
        add("units", _("The number of units must be at least 1."))
    if line.planned_monthly_rent is not None:
        # A year without rent limits in the table has nothing to check against: no rent check then.
        limit = RentLimit.objects.filter(year=tranche.year).first()
        if line.planned_monthly_rent < 0:
            add("planned_monthly_rent", _("The planned monthly rent cannot be negative."))
        elif limit is not None and line.planned_monthly_rent > limit.aftoppingsgrens:
            add(
                "planned_monthly_rent",
                _("The planned rent is above the limit of %(year)s: at most € %(limit)s a month (aftoppingsgrens).")
                % {
                    "year": tranche.year,
                    "limit": formats.number_format(limit.aftoppingsgrens, 2, use_l10n=True, force_grouping=True),
                },
            )
    if errors:
        return errors
    maximum_per_unit = tranche.max_per_unit(permanence=line.permanence, housing_type=line.housing_type)
    if maximum_per_unit is None:
        add("housing_type", _("%(type)s units are not eligible in this tranche.") % {"type": line.housing_type})
        return errors
    maximum = maximum_per_unit * line.units
    if line.requested_amount is not None:
        if line.requested_amount < 0:
            add("requested_amount", _("The requested amount cannot be negative."))
        elif line.requested_amount > maximum:
            add(
                "requested_amount",
                _("At most € %(max)s: %(units)s units × € %(per_unit)s per unit.")
                % {
                    "max": formats.number_format(maximum, 2, use_l10n=True, force_grouping=True),
                    "units": line.units,
                    "per_unit": formats.number_format(maximum_per_unit, 2, use_l10n=True, force_grouping=True),
                },
            )
    return errors


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
    return attachment


@transaction.atomic
def delete_attachment(*, attachment: Attachment, user) -> None:
    enforce(permissions.can_edit(user, attachment.application))
    attachment.file.delete(save=False)
    attachment.delete()


# --- submission -----------------------------------------------------------------------------------------


def _format_instant(instant: datetime) -> str:
    return formats.date_format(timezone.localtime(instant), "DATETIME_FORMAT")


def submission_errors(application: Application, *, now: datetime) -> list[str]:
    """Everything that stands between this application and a valid submission at `now`."""
    tranche = application.tranche
    problems = []
    if now < tranche.opens_at:
        problems.append(
            _("This tranche opens at %(at)s; you cannot submit before then.")
            % {"at": _format_instant(tranche.opens_at)}
        )
    elif now >= tranche.closes_at_in_force(now):
        problems.append(
            _("The deadline of this tranche was %(at)s; applications can no longer be submitted.")
            % {"at": _format_instant(tranche.closes_at_in_force(now))}
        )
    return problems + content_errors(application)


def content_errors(application: Application) -> list[str]:
    """What is missing or wrong in the content, whatever the moment: checked on submission and on resubmission."""
    tranche, window = application.tranche, application.window
    problems = []
    lines = list(application.unit_lines.select_related("target_group", "housing_type"))
    if not lines:
        problems.append(_("Add at least one unit line."))
    for number, line in enumerate(lines, start=1):
        data = UnitLineData(
            target_group=line.target_group,
            housing_type=line.housing_type,
            permanence=line.permanence,
            units=line.units,
            requested_amount=line.requested_amount,
            planned_monthly_rent=line.planned_monthly_rent,
        )
        for messages in unit_line_errors(tranche=tranche, window=window, line=data).values():
            problems.extend(_("Unit line %(n)s: %(m)s") % {"n": number, "m": m} for m in messages)
    units = sum(line.units for line in lines)
    if lines and units < tranche.min_units_per_application:
        problems.append(
            _("An application needs at least %(min)s units; this one has %(units)s.")
            % {"min": tranche.min_units_per_application, "units": units}
        )
    total = sum((line.requested_amount for line in lines), Decimal("0"))
    if tranche.max_per_municipality is not None and total > tranche.max_per_municipality:
        problems.append(
            _("A municipality can receive at most € %(max)s in this tranche; this application asks € %(total)s.")
            % {
                "max": formats.number_format(tranche.max_per_municipality, 2, use_l10n=True, force_grouping=True),
                "total": formats.number_format(total, 2, use_l10n=True, force_grouping=True),
            }
        )
    present = set(application.attachments.values_list("kind", flat=True))
    for kind in tranche.required_attachments:
        if kind not in present:
            problems.append(_("Attach the %(kind)s.") % {"kind": AttachmentKind(kind).label})
    return problems


def _issue_receipt_number(tranche: Tranche) -> int:
    # The UPDATE holds the tranche row lock until commit: numbers are issued one at a time, and a
    # rolled-back submission gives its number back, so the sequence has no gaps.
    Tranche.objects.filter(pk=tranche.pk).update(last_receipt_number=F("last_receipt_number") + 1)
    return Tranche.objects.values_list("last_receipt_number", flat=True).get(pk=tranche.pk)


@transaction.atomic
def submit_application(*, application: Application, user, now: datetime | None = None) -> Application:
    """Submit a draft: stamps the server's receipt instant and the next receipt number of the tranche."""
    enforce(permissions.can_submit(user, application))
    application = _locked(application)
    if application.status != Status.DRAFT:
        raise ValidationError(
            _("This application has already been submitted (%(ref)s).") % {"ref": application.reference}
        )
    sequence = _issue_receipt_number(application.tranche)
    # Stamped under the tranche row lock that issued the number, so number order is receipt-time order. A
    # refusal below rolls the number back.
    now = now or timezone.now()
    problems = submission_errors(application, now=now)
    if problems:
        raise ValidationError(problems)
    application.receipt_sequence = sequence
    application.reference = f"{application.tranche.receipt_prefix}-{sequence:04d}"
    application.received_at = now
    application.completed_at = now
    application.ranks_at = now
    _transition(application, to=Status.SUBMITTED, actor=user, at=now)
    application.save()
    return application


@transaction.atomic
def resubmit_application(*, application: Application, user, now: datetime | None = None) -> Application:
    """Send back the requested information; the application is complete from this instant.

    Answers the open information request and moves the ranking instant by the time it was open.
    """
    enforce(permissions.can_submit(user, application))
    application = _locked(application)
    if application.status != Status.INFORMATION_REQUESTED:
        raise ValidationError(_("No information has been requested for this application."))
    problems = content_errors(application)
    if problems:
        raise ValidationError(problems)
    now = now or timezone.now()
    application.information_requests.filter(answered_at__isnull=True).update(answered_at=now, answered_by=user)
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
