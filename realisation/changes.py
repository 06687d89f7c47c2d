"""Change requests (wijzigingsverzoeken) after the grant: a signatory of the municipality asks, the agency decides.

A request changes the units and their target-group mix, the location or the planning, or asks for a later start
of construction or completion. Only one request of each kind is open at a time, and none once the grant is
settled. An assessor or approver approves or rejects it with an assessment. Approving issues a decision of kind
`change` that replaces the one in force (allocation.services.issue_decision): an extension moves its deadline,
a change of units gives the unit lines their new units (applications.services.change_units_after_grant). The
amount never rises: each unit line keeps its amount per unit, so fewer units lower the grant pro rata and the
budget freed goes to the reserve list. Both outcomes are sent to the municipality in a letter.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from functools import partial

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.models import AuditAction, Role
from accounts.permissions import Verdict, enforce
from accounts.services import record_audit
from allocation.models import Decision, DecisionKind, Letter, LetterKind
from allocation.selectors import current_decision
from allocation.services import add_months, issue_decision, lock_current_decision
from allocation.tasks import generate_letter_pdf
from applications.models import Application, UnitLine
from applications.permissions import is_own
from applications.services import change_units_after_grant, requested_for_units
from applications.validators import validate_single_line_text

from .models import ChangeKind, ChangeRequest, ChangeRequestStatus, RealisedUnits, Settlement, SettlementStatus
from .selectors import GRANTED_STATUSES

logger = logging.getLogger(__name__)

# --- who may ---------------------------------------------------------------------------------------------


def can_request_change(user, application: Application) -> Verdict:
    """Ask to change a grant: a signatory of the municipality that received it, on behalf of the college."""
    if not is_own(user, application):
        return False, _("Only the municipality that received the grant can ask to change it.")
    if application.status not in GRANTED_STATUSES:
        return False, _("A change can only be asked for a granted application.")
    if user.role != Role.MUNICIPAL_SIGNATORY:
        return False, _("Only a signatory of the municipality may submit a change request.")
    return True, ""


def can_assess_change(user) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can assess a change request.")
    return True, ""


# --- what is asked ---------------------------------------------------------------------------------------


def units_field(unit_line_id: int) -> str:
    """The error key (and form field) of the proposed units of one unit line."""
    return f"units-{unit_line_id}"


@dataclass(frozen=True)
class Proposal:
    """What a change request asks, in the terms of its kind; the fields of other kinds stay empty."""

    kind: str
    units: dict[int, int] = field(default_factory=dict)
    location: str = ""
    start_by: date | None = None
    complete_by: date | None = None

    @classmethod
    def of(cls, change: ChangeRequest) -> Proposal:
        return cls(
            kind=change.kind,
            units={row["unit_line"]: row["units"] for row in change.proposed_units},
            location=change.proposed_location,
            start_by=change.proposed_start_by,
            complete_by=change.proposed_complete_by,
        )

    def only_its_kind(self) -> Proposal:
        return Proposal(
            kind=self.kind,
            units=dict(self.units) if self.kind == ChangeKind.UNITS else {},
            location=self.location.strip() if self.kind == ChangeKind.LOCATION else "",
            start_by=self.start_by if self.kind == ChangeKind.START_EXTENSION else None,
            complete_by=self.complete_by if self.kind == ChangeKind.COMPLETION_EXTENSION else None,
        )


def _day(value: date) -> str:
    return formats.date_format(value, "j F Y")


def realised_per_line(application: Application) -> dict[int, int]:
    """Units realised per unit line according to the latest submitted progress report; empty without one."""
    rows = RealisedUnits.objects.filter(report__application=application, report__is_latest=True)
    return dict(rows.values_list("unit_line_id", "units"))


def _units_errors(application: Application, units: dict[int, int | None], add) -> None:
    lines = list(application.unit_lines.order_by("pk"))
    unknown = set(units) - {line.pk for line in lines}
    if unknown:
        raise ValueError(f"not unit lines of this application: {sorted(unknown)}")
    realised = realised_per_line(application)
    for line in lines:
        count, key = units.get(line.pk), units_field(line.pk)
        if count is None:
            add(key, _("Give the number of units this line would have, also when it stays the same."))
        elif count < 1:
            add(key, _("At least 1: a unit line cannot be emptied. To give up units, waive part of the grant."))
        elif count < realised.get(line.pk, 0):
            add(key, _("At least %(units)s: the units already realised on this line.") % {"units": realised[line.pk]})
    if any(units.get(line.pk) is None for line in lines):
        return
    total, proposed = sum(line.units for line in lines), sum(units.values())
    if proposed > total:
        add(
            "proposed_units",
            _("Units can be lowered or moved between the lines, not added: at most %(units)s in total.")
            % {"units": total},
        )
    elif all(units[line.pk] == line.units for line in lines):
        add("proposed_units", _("Change the number of units of at least one line."))


def change_request_errors(
    *, application: Application, decision: Decision, motivation: str, proposal: Proposal
) -> dict[str, list[str]]:
    """What is wrong with a change request against the decision in force, by field."""
    errors: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if not motivation.strip():
        add("motivation", _("Explain why the change is needed."))
    kind = proposal.kind
    if kind not in ChangeKind.values:
        add("kind", _("Choose what you want to change."))
    elif kind == ChangeKind.UNITS:
        _units_errors(application, proposal.units, add)
    elif kind == ChangeKind.LOCATION:
        location = proposal.location.strip()
        if not location:
            add("proposed_location", _("Give the new location."))
        elif location == current_location(application):
            add("proposed_location", _("This is the location already in force."))
        else:
            try:
                validate_single_line_text(location)
            except ValidationError as error:
                errors.setdefault("proposed_location", []).extend(error.messages)
    elif kind == ChangeKind.START_EXTENSION:
        start_by = decision.start_construction_by
        if proposal.start_by is None:
            add("proposed_start_by", _("Give the date by which construction will start."))
        elif proposal.start_by <= start_by:
            add("proposed_start_by", _("Give a date after the deadline in force, %(day)s.") % {"day": _day(start_by)})
        elif proposal.start_by > decision.complete_by:
            add(
                "proposed_start_by",
                _("The start cannot be after the completion deadline, %(day)s: ask for a later completion first.")
                % {"day": _day(decision.complete_by)},
            )
    elif kind == ChangeKind.COMPLETION_EXTENSION:
        complete_by = decision.complete_by
        if proposal.complete_by is None:
            add("proposed_complete_by", _("Give the date by which the units will be completed."))
        elif proposal.complete_by <= complete_by:
            add(
                "proposed_complete_by",
                _("Give a date after the deadline in force, %(day)s.") % {"day": _day(complete_by)},
            )
    return errors


def amounts_after_units_change(
    *, decision: Decision, lines: list[UnitLine], units: dict[int, int]
) -> tuple[Decimal, Decimal]:
    """The amount requested and the amount granted once the lines have `units`, as (requested, amount).

    Each line keeps its request per unit, and the grant stays the same share of the request: fewer units lower
    it pro rata to the amount per unit of their line (rounded down to the cent). Moving units to a line with a
    higher amount per unit never raises it: the amount is at most the amount granted now.
    """
    requested = sum((requested_for_units(line, units[line.pk]) for line in lines), Decimal("0"))
    share = Fraction(decision.amount) * Fraction(requested) / Fraction(decision.requested)
    return requested, min(decision.amount, Decimal(math.floor(share * 100)).scaleb(-2))


# --- reads -----------------------------------------------------------------------------------------------


def change_requests_of(*, application: Application) -> QuerySet[ChangeRequest]:
    """The application's change requests, newest first, with who asked and who assessed them."""
    return application.change_requests.select_related("submitted_by", "assessed_by", "decision").order_by(
        "-submitted_at", "-pk"
    )


def open_change_requests() -> QuerySet[ChangeRequest]:
    """Requests awaiting assessment, oldest first, for the agency's worklist."""
    return (
        ChangeRequest.objects.filter(status=ChangeRequestStatus.SUBMITTED)
        .select_related("application__municipality", "submitted_by")
        .order_by("submitted_at", "pk")
    )


def current_location(application: Application) -> str:
    """The location in force: that of the latest approved change of location, else the application's own."""
    approved = application.change_requests.filter(kind=ChangeKind.LOCATION, status=ChangeRequestStatus.APPROVED)
    return next(iter(approved.order_by("-assessed_at").values_list("proposed_location", flat=True)), None) or (
        application.location
    )


@dataclass(frozen=True)
class UnitsRow:
    line: UnitLine
    proposed: int

    @property
    def difference(self) -> int:
        return self.proposed - self.line.units


def units_rows(change: ChangeRequest) -> list[UnitsRow]:
    """The unit lines of a change of units with the units proposed for each."""
    proposed = Proposal.of(change).units
    lines = change.application.unit_lines.select_related("target_group", "housing_type").order_by("pk")
    return [UnitsRow(line=line, proposed=proposed.get(line.pk, line.units)) for line in lines]


def describe(change: ChangeRequest) -> str:
    """What the request asks, in one line: for the letters, the case file and the back office."""
    if change.kind == ChangeKind.LOCATION:
        return _("New location: %(location)s.") % {"location": change.proposed_location}
    if change.kind == ChangeKind.START_EXTENSION:
        return _("Start of construction by %(day)s.") % {"day": _day(change.proposed_start_by)}
    if change.kind == ChangeKind.COMPLETION_EXTENSION:
        return _("Completion by %(day)s.") % {"day": _day(change.proposed_complete_by)}
    if change.kind == ChangeKind.UNITS:
        return _("Units per line: %(units)s.") % {
            "units": ", ".join(str(row["units"]) for row in sorted(change.proposed_units, key=lambda r: r["unit_line"]))
        }
    return _("A new planning, as the motivation describes it.")


# --- letters ---------------------------------------------------------------------------------------------


LETTER_FILE_NAMES = {
    LetterKind.CHANGE_REQUEST_DECISION: "besluit-wijzigingsverzoek",
    LetterKind.RECLAIM: "terugvordering",
}


def issue_letter(*, application: Application, kind: str, template: str, context: dict, user, now: datetime) -> Letter:
    """Render a letter to the municipality in Dutch and keep it as sent; its PDF is made after commit."""
    tranche = application.tranche
    with translation.override("nl"):
        html = render_to_string(
            template,
            {
                **context,
                "application": application,
                "municipality": application.municipality,
                "tranche": tranche,
                "scheme": tranche.scheme,
                "date": timezone.localdate(now),
            },
        )
    letter = Letter(application=application, kind=kind, issued_at=now, issued_by=user)
    name = f"{LETTER_FILE_NAMES[kind]}-{application.reference}.html"
    letter.html.save(name, ContentFile(html.encode("utf-8")), save=False)
    letter.save()
    transaction.on_commit(partial(generate_letter_pdf.delay, letter.pk))
    return letter


# --- writes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Obligations:
    """The deadlines a new decision takes (issue_decision's obligations_from)."""

    start_construction_by: date
    complete_by: date
    units_available_until: date

    @classmethod
    def of(cls, decision: Decision) -> Obligations:
        return cls(decision.start_construction_by, decision.complete_by, decision.units_available_until)


def lock_case(application: Application) -> tuple[Application, Decision | None]:
    """Lock the tranche, the decision in force and the application, in the order issue_decision locks them."""
    decision = lock_current_decision(application)
    return Application.objects.select_for_update().get(pk=application.pk), decision


def refuse_if_settled(application: Application, *, prepared_too: bool) -> None:
    """A settled grant changes no more; a prepared settlement would settle the decision about to be replaced."""
    settlements = Settlement.objects.filter(decision__application=application)
    if settlements.filter(status=SettlementStatus.CONFIRMED).exists():
        raise ValidationError(_("This grant has been settled; it can no longer be changed."))
    if prepared_too and settlements.exists():
        raise ValidationError(_("A settlement of this grant has been prepared: discard it first."))


@transaction.atomic
def submit_change_request(
    *,
    application: Application,
    user,
    kind: str,
    motivation: str,
    units: dict[int, int | None] | None = None,
    proposed_location: str = "",
    proposed_start_by: date | None = None,
    proposed_complete_by: date | None = None,
    now: datetime | None = None,
) -> ChangeRequest:
    """Ask the agency to change a grant; only what belongs to the kind asked is kept."""
    enforce(can_request_change(user, application))
    application = Application.objects.select_for_update().get(pk=application.pk)
    enforce(can_request_change(user, application))
    refuse_if_settled(application, prepared_too=False)
    proposal = Proposal(kind, units or {}, proposed_location, proposed_start_by, proposed_complete_by).only_its_kind()
    if application.change_requests.filter(kind=kind, status=ChangeRequestStatus.SUBMITTED).exists():
        raise ValidationError(
            {"kind": _("A request of this kind is already awaiting assessment; wait for its outcome.")}
        )
    decision = current_decision(application=application)
    errors = change_request_errors(application=application, decision=decision, motivation=motivation, proposal=proposal)
    if errors:
        raise ValidationError(errors)
    change = ChangeRequest.objects.create(
        application=application,
        kind=kind,
        motivation=motivation.strip(),
        proposed_units=[{"unit_line": pk, "units": count} for pk, count in sorted(proposal.units.items())],
        proposed_location=proposal.location,
        proposed_start_by=proposal.start_by,
        proposed_complete_by=proposal.complete_by,
        submitted_by=user,
        submitted_at=now or timezone.now(),
    )
    logger.info("change request %s (%s) on %s submitted by %s", change.public_id, kind, application.reference, user)
    return change


def _open(change_request: ChangeRequest) -> ChangeRequest:
    change = ChangeRequest.objects.select_for_update().get(pk=change_request.pk)
    if change.status != ChangeRequestStatus.SUBMITTED:
        raise ValidationError(_("This change request has already been assessed."))
    return change


def _require_assessment(assessment: str) -> str:
    if not assessment.strip():
        raise ValidationError({"assessment": _("Give the assessment: it is the reasoning the letter states.")})
    return assessment.strip()


@transaction.atomic
def approve_change_request(
    *, change_request: ChangeRequest, user, assessment: str, now: datetime | None = None
) -> ChangeRequest:
    """Grant the request: a decision of kind change replaces the one in force with the changed obligations."""
    enforce(can_assess_change(user))
    assessment = _require_assessment(assessment)
    application, decision = lock_case(change_request.application)
    change = _open(change_request)
    refuse_if_settled(application, prepared_too=True)
    if decision is None or not decision.is_grant:
        raise ValidationError(_("The application no longer holds a grant; reject the request."))
    proposal = Proposal.of(change)
    errors = change_request_errors(
        application=application, decision=decision, motivation=change.motivation, proposal=proposal
    )
    if errors:
        problems = [message for messages in errors.values() for message in messages]
        raise ValidationError([*problems, _("The request no longer fits the decision in force; reject it.")])
    now = now or timezone.now()
    obligations, requested, amount = Obligations.of(decision), decision.requested, decision.amount
    if change.kind == ChangeKind.START_EXTENSION:
        obligations = replace(obligations, start_construction_by=proposal.start_by)
    elif change.kind == ChangeKind.COMPLETION_EXTENSION:
        years = decision.application.tranche.years_for_target_groups
        obligations = replace(
            obligations,
            complete_by=proposal.complete_by,
            units_available_until=add_months(proposal.complete_by, 12 * years),
        )
    rows = units_rows(change) if change.kind == ChangeKind.UNITS else []
    if rows:
        lines = [row.line for row in rows]
        requested, amount = amounts_after_units_change(decision=decision, lines=lines, units=proposal.units)
        reason = f"change request {change.public_id}"
        change_units_after_grant(application=application, user=user, units=proposal.units, reason=reason)
    change.decision = issue_decision(
        application=application,
        kind=DecisionKind.CHANGE,
        amount=amount,
        requested=requested,
        user=user,
        explanation=assessment,
        on=timezone.localdate(now),
        obligations_from=obligations,
    )
    change.status, change.assessed_by, change.assessed_at, change.assessment = (
        ChangeRequestStatus.APPROVED,
        user,
        now,
        assessment,
    )
    change.save(update_fields=["status", "assessed_by", "assessed_at", "assessment", "decision"])
    _letter(change, previous=decision, rows=rows, user=user, now=now)
    if amount != decision.amount:
        record_audit(
            action=AuditAction.MONEY_CHANGE,
            actor=user,
            target=change,
            detail=f"grant {decision.amount} -> {amount} by change request {change.public_id}",
        )
    logger.info("change request %s approved by %s: decision %s", change.public_id, user, change.decision.public_id)
    return change


@transaction.atomic
def reject_change_request(
    *, change_request: ChangeRequest, user, assessment: str, now: datetime | None = None
) -> ChangeRequest:
    """Refuse the request: the decision in force and its obligations stay as they are."""
    enforce(can_assess_change(user))
    assessment = _require_assessment(assessment)
    Application.objects.select_for_update().get(pk=change_request.application_id)
    change = _open(change_request)
    now = now or timezone.now()
    change.status, change.assessed_by, change.assessed_at, change.assessment = (
        ChangeRequestStatus.REJECTED,
        user,
        now,
        assessment,
    )
    change.save(update_fields=["status", "assessed_by", "assessed_at", "assessment"])
    rows = units_rows(change) if change.kind == ChangeKind.UNITS else []
    _letter(change, previous=current_decision(application=change.application), rows=rows, user=user, now=now)
    logger.info("change request %s rejected by %s", change.public_id, user)
    return change


def _letter(change: ChangeRequest, *, previous: Decision | None, rows: list[UnitsRow], user, now: datetime) -> Letter:
    """The letter on the request; `rows` are the unit lines as they were before, with the units asked."""
    return issue_letter(
        application=change.application,
        kind=LetterKind.CHANGE_REQUEST_DECISION,
        template="allocation/letters/change_request_decision.html",
        context={"change": change, "previous": previous, "decision": change.decision, "rows": rows},
        user=user,
        now=now,
    )
