"""Submission: the ready state, and the submission itself (docs/portal.md, "Submission"; docs/rules.md, "The
receipt instant").

Before the opening the signatory confirms the content as ready (confirm_ready): every check is done then, and the
content and the tranche's rules are frozen by their hash. At the opening, submit_ready reads the application once,
sees that the hash still holds and that the moment is right, and has applications.receipts issue the receipt: on
PostgreSQL one statement, which checks again what it relies on. A draft that was never confirmed is checked in full
as it is submitted (submit_draft).

The receipt instant is the moment the request arrived (applications.middleware), taken before it waited for a
worker.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import AuditAction
from accounts.permissions import enforce
from accounts.services import record_audit
from grants.models import AmendmentKind, AmendmentStatus, Tranche, TrancheAmendment
from grants.templatetags.instants import format_instant

from . import permissions, receipts
from .checks import content_errors, submission_errors
from .models import Application, Status

logger = logging.getLogger(__name__)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class RefusalReason(StrEnum):
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    ALREADY_SUBMITTED = "already_submitted"
    CHANGED = "changed"
    INCOMPLETE = "incomplete"

    @property
    def http_status(self) -> int:
        """What the portal and the API answer (docs/portal.md, "Status codes")."""
        return HTTP_STATUS[self]


HTTP_STATUS = {
    RefusalReason.NOT_OPEN: 403,
    RefusalReason.CLOSED: 403,
    RefusalReason.ALREADY_SUBMITTED: 409,
    RefusalReason.CHANGED: 409,
    RefusalReason.INCOMPLETE: 422,
}


class Refusal(ValidationError):
    """A submission or ready confirmation that was refused: the messages, and the reason the status follows."""

    def __init__(self, reason: RefusalReason, messages: list[str]):
        super().__init__(messages)
        self.reason = reason

    @property
    def http_status(self) -> int:
        return self.reason.http_status


@dataclass(frozen=True)
class Receipt:
    """A received application; `repeated` when this was a repeated request that found it received already."""

    application: Application
    repeated: bool = False


def format_receipt_instant(instant: datetime) -> str:
    """To the millisecond, in Europe/Amsterdam: "1 oktober 2026 09:00:00,042"."""
    local = timezone.localtime(instant, AMSTERDAM)
    separator = formats.get_format("DECIMAL_SEPARATOR")
    return f"{formats.date_format(local, 'j F Y H:i:s')}{separator}{local.microsecond // 1000:03d}"


def receipt_message(application: Application) -> str:
    return _("Your application has been received: receipt number %(reference)s, received at %(at)s.") % {
        "reference": application.reference,
        "at": format_receipt_instant(application.received_at),
    }


def already_submitted(application: Application) -> Refusal:
    messages = [_("This application has already been submitted (%(ref)s).") % {"ref": application.reference}]
    if application.received_at is not None:
        messages.append(
            _("It was received at %(at)s with receipt number %(reference)s.")
            % {"at": format_receipt_instant(application.received_at), "reference": application.reference}
        )
    return Refusal(RefusalReason.ALREADY_SUBMITTED, messages)


# --- the hash of the ready state ------------------------------------------------------------------------


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def rules_hash(tranche: Tranche) -> str:
    """The tranche's rules that a content check depends on and that can still change before or after the opening.

    A window's target groups and the year's rent limits are checked at the confirmation and not again.
    """
    return _digest(
        [
            _money(tranche.max_per_permanent_unit),
            _money(tranche.max_per_flexible_unit),
            _money(tranche.max_per_short_stay_unit),
            _money(tranche.max_per_municipality),
            tranche.min_units_per_application,
            sorted(tranche.required_attachments),
        ]
    )


def content_hash(application: Application, *, rules: str) -> str:
    """SHA-256 of everything the application says, its attachments' digests and the rules it was checked under."""
    lines = application.unit_lines.values_list(
        "target_group_id",
        "housing_type_id",
        "permanence",
        "self_contained",
        "common_room",
        "construction",
        "units",
        "requested_amount",
        "planned_monthly_rent",
    )
    return _digest(
        {
            "application": str(application.public_id),
            "tranche": application.tranche_id,
            "window": application.window_id,
            "project_name": application.project_name,
            "location": application.location,
            "description": application.description,
            "planned_start": application.planned_start.isoformat() if application.planned_start else None,
            "planned_completion": (
                application.planned_completion.isoformat() if application.planned_completion else None
            ),
            "lines": sorted(
                json.dumps([*line[:7], _money(line[7]), _money(line[8])], separators=(",", ":")) for line in lines
            ),
            "attachments": sorted(
                f"{kind}:{digest}" for kind, digest in application.attachments.values_list("kind", "sha256")
            ),
            "rules": rules,
        }
    )


# --- the ready state ------------------------------------------------------------------------------------


def closing_errors(tranche: Tranche, *, now: datetime) -> list[str]:
    closes_at = tranche.closes_at_in_force(now)
    if now < closes_at:
        return []
    return [
        _("The deadline of this tranche was %(at)s; applications can no longer be submitted.")
        % {"at": format_instant(closes_at)}
    ]


def readiness_errors(application: Application, *, now: datetime) -> list[str]:
    """What stands in the way of confirming the content as ready at `now`: everything but the opening."""
    return closing_errors(application.tranche, now=now) + content_errors(application)


def confirm_ready(*, application: Application, user, now: datetime | None = None, declaration: str = "") -> Application:
    """The signatory confirms the content as ready to submit: everything is checked now, and frozen by its hash.

    `declaration` is the text the signatory declared on the portal's check-your-answers page; it is kept with the
    ready state and in the audit log.
    """
    enforce(permissions.can_submit(user, application))
    now = now or timezone.now()
    with transaction.atomic():
        application = (
            Application.objects.select_related("tranche").select_for_update(of=("self",)).get(pk=application.pk)
        )
        if application.status != Status.DRAFT:
            raise already_submitted(application)
        if problems := closing_errors(application.tranche, now=now):
            raise Refusal(RefusalReason.CLOSED, problems)
        if problems := content_errors(application):
            raise Refusal(RefusalReason.INCOMPLETE, problems)
        rules = rules_hash(application.tranche)
        application.ready_hash = content_hash(application, rules=rules)
        application.ready_rules, application.ready_at, application.ready_by = rules, now, user
        application.declaration, application.declared_at = declaration, now if declaration else None
        fields = ["ready_hash", "ready_rules", "ready_at", "ready_by", "declaration", "declared_at", "updated_at"]
        application.save(update_fields=fields)
        record_audit(
            action=AuditAction.CONFIRMATION,
            actor=user,
            target=application,
            detail=_declared(f"ready to submit: {application.ready_hash}", declaration),
        )
    logger.info("application %s confirmed as ready by %s: %s", application.public_id, user, application.ready_hash)
    return application


def _declared(detail: str, declaration: str) -> str:
    return f"{detail}; declaration accepted: {declaration}" if declaration else detail


def clear_ready(application: Application) -> None:
    """An edit of a draft ends its ready state, so that the signatory confirms the new content."""
    cleared = (
        Application.objects.filter(pk=application.pk, status=Status.DRAFT)
        .exclude(ready_hash="")
        .update(ready_hash="", ready_rules="", ready_at=None, ready_by=None, declaration="", declared_at=None)
    )
    if application.status == Status.DRAFT:
        application.ready_hash, application.ready_rules, application.ready_at, application.ready_by = "", "", None, None
        application.declaration, application.declared_at = "", None
    if cleared:
        logger.info("application %s: ready state cleared by an edit", application.public_id)


# --- submitting -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SubmissionRead:
    """The one read of submit_ready, written out once per process: building it with the ORM on every request cost
    more CPU than the rest of the submission together (docs/benchmarks.md, "Opening day")."""

    sql: str
    application_fields: list
    tranche_fields: list
    converters: list  # per column, the backend's and the field's converters, as the ORM applies them
    public_id: object  # the fields whose parameters the read takes, to prepare them as the ORM does
    effective_at: object


@functools.cache
def _submission_read() -> _SubmissionRead:
    quote = connection.ops.quote_name

    def column(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    application_fields = list(Application._meta.concrete_fields)
    tranche_fields = list(Tranche._meta.concrete_fields)
    closing = TrancheAmendment._meta.get_field("new_closes_at")
    columns = [f"a.{quote(field.column)}" for field in application_fields]
    columns += [f"t.{quote(field.column)}" for field in tranche_fields]
    # Tranche.closes_at_in_force: the latest confirmed closing amendment in effect at the arrival.
    in_force = (
        f"SELECT m.{quote(closing.column)} FROM {quote(TrancheAmendment._meta.db_table)} m "
        f"WHERE m.{column(TrancheAmendment, 'tranche')} = a.{column(Application, 'tranche')} "
        f"AND m.{column(TrancheAmendment, 'kind')} = %s AND m.{column(TrancheAmendment, 'status')} = %s "
        f"AND m.{column(TrancheAmendment, 'effective_at')} <= %s "
        f"ORDER BY m.{column(TrancheAmendment, 'effective_at')} DESC LIMIT 1"
    )
    sql = (
        f"SELECT {', '.join(columns)}, ({in_force}) "
        f"FROM {quote(Application._meta.db_table)} a JOIN {quote(Tranche._meta.db_table)} t "
        f"ON t.{column(Tranche, 'id')} = a.{column(Application, 'tranche')} "
        f"WHERE a.{column(Application, 'public_id')} = %s AND a.{column(Application, 'municipality')} = %s"
    )
    converters = []
    for field in [*application_fields, *tranche_fields, closing]:
        expression = field.get_col(field.model._meta.db_table)
        converters.append(
            (expression, [*connection.ops.get_db_converters(expression), *field.get_db_converters(connection)])
        )
    return _SubmissionRead(
        sql=sql,
        application_fields=application_fields,
        tranche_fields=tranche_fields,
        converters=converters,
        public_id=Application._meta.get_field("public_id"),
        effective_at=TrancheAmendment._meta.get_field("effective_at"),
    )


def _moment_refusal(tranche: Tranche, *, closes_at: datetime, arrived_at: datetime) -> Refusal | None:
    arrived = _("Your submission arrived at %(at)s.") % {"at": format_receipt_instant(arrived_at)}
    if arrived_at < tranche.opens_at:
        opens = _("This tranche opens at %(at)s; you cannot submit before then.") % {
            "at": format_instant(tranche.opens_at)
        }
        return Refusal(RefusalReason.NOT_OPEN, [opens, arrived])
    if arrived_at >= closes_at:
        closed = _("The deadline of this tranche was %(at)s; applications can no longer be submitted.") % {
            "at": format_instant(closes_at)
        }
        return Refusal(RefusalReason.CLOSED, [closed, arrived])
    return None


CHANGED_MESSAGE = gettext_noop(
    "The application or the tranche's rules changed after the content was confirmed. Check it and confirm it again."
)


def _for_submission(user, public_id, arrived_at: datetime) -> Application:
    """The application as selectors.applications_visible_to shows it to `user`, with its tranche and the closing
    in force at `arrived_at` (closing_in_force, None without an extension), in one query."""
    if not user.is_municipal:
        raise Application.DoesNotExist
    read = _submission_read()
    parameters = [
        AmendmentKind.CLOSING.value,
        AmendmentStatus.CONFIRMED.value,
        read.effective_at.get_db_prep_value(arrived_at, connection),
        read.public_id.get_db_prep_value(public_id, connection),
        user.municipality_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(read.sql, parameters)
        row = cursor.fetchone()
    if row is None:
        raise Application.DoesNotExist
    values = []
    for value, (expression, converters) in zip(row, read.converters, strict=True):
        for converter in converters:
            value = converter(value, expression, connection)
        values.append(value)
    split = len(read.application_fields)
    application = Application.from_db(
        connection.alias, [field.attname for field in read.application_fields], values[:split]
    )
    application.tranche = Tranche.from_db(
        connection.alias, [field.attname for field in read.tranche_fields], values[split:-1]
    )
    application.closing_in_force = values[-1]
    return application


def _repeated_or_refused(application: Application, key: str) -> Receipt:
    if key and key == application.ready_hash:
        return Receipt(application, repeated=True)
    raise already_submitted(application)


def submit_ready(*, user, public_id, key: str, arrived_at: datetime) -> Receipt:
    """Submit a draft confirmed as ready, at the instant its request arrived.

    `key` is the ready hash the signatory's page showed: the idempotency key. A repeated request with it, after the
    first was received, returns the first receipt and changes nothing. Application.DoesNotExist when the user may
    not see the application. No transaction of its own: the checks read without locking, and the receipt is one
    statement that checks again what it relies on (applications.receipts).
    """
    try:
        return _submit_ready(user=user, public_id=public_id, key=key, arrived_at=arrived_at)
    except OperationalError:
        if connection.in_atomic_block:
            raise
        # The database connection was lost on the way, before or after the commit. The key makes the submission
        # safe to repeat: on a new connection it is received now, at the same arrival, or found received.
        logger.warning("application %s: database connection lost during submission, submitting again", public_id)
        connection.close()
        return _submit_ready(user=user, public_id=public_id, key=key, arrived_at=arrived_at)


def _submit_ready(*, user, public_id, key: str, arrived_at: datetime) -> Receipt:
    application = _for_submission(user, public_id, arrived_at)
    enforce(permissions.can_submit(user, application))
    if application.status != Status.DRAFT:
        return _repeated_or_refused(application, key)
    tranche = application.tranche
    if not key or key != application.ready_hash or application.ready_rules != rules_hash(tranche):
        raise Refusal(RefusalReason.CHANGED, [_(CHANGED_MESSAGE)])
    closes_at = application.closing_in_force or tranche.closes_at
    if refusal := _moment_refusal(tranche, closes_at=closes_at, arrived_at=arrived_at):
        raise refusal
    issued = receipts.issue(application, user=user, arrived_at=arrived_at)
    if issued is None:
        # Between the check and the receipt another request received it, or someone changed it.
        application = _for_submission(user, public_id, arrived_at)
        if application.status != Status.DRAFT:
            return _repeated_or_refused(application, key)
        raise Refusal(RefusalReason.CHANGED, [_(CHANGED_MESSAGE)])
    return Receipt(_received(application, issued))


def submit_draft(*, application: Application, user, arrived_at: datetime, declaration: str = "") -> Application:
    """Submit a draft, confirmed as ready or not, checking everything as it arrives; a `declaration` made with it
    is kept as the ready state's and in the audit log."""
    enforce(permissions.can_submit(user, application))
    with transaction.atomic():
        application = (
            Application.objects.select_related("tranche").select_for_update(of=("self",)).get(pk=application.pk)
        )
        if application.status != Status.DRAFT:
            raise already_submitted(application)
        tranche = application.tranche
        problems = submission_errors(application, now=arrived_at)
        if problems:
            refusal = _moment_refusal(tranche, closes_at=tranche.closes_at_in_force(arrived_at), arrived_at=arrived_at)
            raise Refusal(refusal.reason if refusal else RefusalReason.INCOMPLETE, problems)
        rules = rules_hash(tranche)
        application.ready_hash, application.ready_rules = content_hash(application, rules=rules), rules
        application.ready_at = application.ready_at or arrived_at
        application.ready_by_id = application.ready_by_id or user.pk
        if declaration:
            application.declaration, application.declared_at = declaration, arrived_at
            record_audit(
                action=AuditAction.CONFIRMATION,
                actor=user,
                target=application,
                detail=_declared(f"submitted: {application.ready_hash}", declaration),
            )
        Application.objects.filter(pk=application.pk).update(
            ready_hash=application.ready_hash,
            ready_rules=rules,
            ready_at=application.ready_at,
            ready_by_id=application.ready_by_id,
            declaration=application.declaration,
            declared_at=application.declared_at,
        )
        # Locked above, so still the draft just confirmed: the receipt cannot miss it.
        return _received(application, receipts.issue(application, user=user, arrived_at=arrived_at))


def _received(application: Application, issued: receipts.Issued) -> Application:
    application.status, application.receipt_sequence = Status.SUBMITTED, issued.sequence
    application.reference = issued.reference
    application.received_at = application.completed_at = application.ranks_at = issued.received_at
    return application
