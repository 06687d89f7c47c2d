"""Objections (bezwaar) against decisions: the terms, the hearing, the decision on objection and its letters.

The terms follow the Algemene wet bestuursrecht (Awb): six weeks to object (6:7), from the day after dispatch (6:8),
in time when received before the term has ended (6:9); the agency decides within six weeks after the term (7:10
lid 1) and may postpone that once by at most six weeks (7:10 lid 3). A statutory term that ends on a Saturday,
Sunday or public holiday runs on to the next working day (Algemene termijnenwet, art. 1 and 3).

A (partly) founded objection replaces the decision in force by a decision on objection (kind "objection")
through allocation.services.issue_decision. Money it grants above the budget left (allocation.budget) is
recorded as over-commitment on that decision, for the ministry to see. Every step is one service in one
transaction; the objection's own fields, the decision chain and the application's StatusChange are its audit
trail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache, partial

import holidays
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from accounts.permissions import enforce
from grants.models import Tranche

from . import permissions
from .budget import budget_left
from .decision_letters import letter_pdf
from .models import Decision, DecisionKind, Letter, LetterKind, Objection, ObjectionOutcome
from .selectors import current_decision
from .services import issue_decision

logger = logging.getLogger(__name__)

OBJECTION_TERM = timedelta(weeks=6)  # Awb 6:7
DECISION_TERM = timedelta(weeks=6)  # Awb 7:10 lid 1; the agency has no advisory committee (7:13), so not twelve
POSTPONEMENT = timedelta(weeks=6)  # Awb 7:10 lid 3, once

REVISING_OUTCOMES = (ObjectionOutcome.FOUNDED, ObjectionOutcome.PARTLY_FOUNDED)
# Awb 7:3: no hearing is needed for an inadmissible objection (a), nor when the objection is met in full (e).
OUTCOMES_AFTER_HEARING = (ObjectionOutcome.UNFOUNDED, ObjectionOutcome.PARTLY_FOUNDED)


# --- terms ----------------------------------------------------------------------------------------------


@cache
def atw_holidays(year: int) -> frozenset[date]:
    """The generally recognised public holidays of the Algemene termijnenwet (art. 3 lid 1) in one year.

    Taken from the holidays library, with two corrections: it counts Liberation Day (5 May) as a public holiday
    only every fifth year (and as optional in the others), whereas the Atw names 5 May every year; and it counts
    Good Friday, which the Atw does not name. King's Day is the day it is celebrated (26 April when the 27th is a
    Sunday), as in the Atw.
    """
    days = holidays.country_holidays("NL", years=year, categories=(holidays.PUBLIC, holidays.OPTIONAL), language="nl")
    days.pop_named("Goede vrijdag")
    return frozenset(days)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in atw_holidays(day.year)


def term_end(day: date) -> date:
    """Algemene termijnenwet art. 1: a term ending on a Saturday, Sunday or holiday ends on the next working day."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def objection_term_end(dispatched_on: date) -> date:
    """The last day to object: six weeks from the day after dispatch, so the weekday of the dispatch six weeks on."""
    return term_end(dispatched_on + OBJECTION_TERM)


def decision_deadline(*, term_ends_on: date, received_on: date) -> date:
    """Awb 7:10 lid 1: six weeks from the day after the objection term ended.

    For an objection received after its term the Awb says nothing; the six weeks then run from the day after
    receipt, so that the agency has them at all.
    """
    return term_end(max(term_ends_on, received_on) + DECISION_TERM)


def latest_postponement(decide_by: date) -> date:
    """Awb 7:10 lid 3: at most six weeks after the deadline."""
    return decide_by + POSTPONEMENT


# --- selectors ------------------------------------------------------------------------------------------

OPEN = Q(outcome="")


def with_deadline(queryset: QuerySet[Objection]) -> QuerySet[Objection]:
    """Objections with `deadline_on`: the decision deadline, postponed or not."""
    return queryset.annotate(deadline_on=Coalesce("extended_to", "decide_by"))


def overdue(*, today: date) -> Q:
    """Open objections past their deadline; for querysets made by with_deadline()."""
    return OPEN & Q(deadline_on__lt=today)


def objections_visible_to(*, user) -> QuerySet[Objection]:
    """Every objection for agency staff, its own municipality's for a municipal user, none for others."""
    objections = with_deadline(
        Objection.objects.select_related("contested__application__municipality", "handler", "revised_decision")
    )
    if user.is_agency:
        return objections
    if user.is_municipal:
        return objections.filter(contested__application__municipality_id=user.municipality_id)
    return objections.none()


def letters_visible_to(*, user) -> QuerySet[Letter]:
    letters = Letter.objects.select_related("application__municipality", "objection", "issued_by")
    if user.is_agency:
        return letters
    if user.is_municipal:
        return letters.filter(application__municipality_id=user.municipality_id)
    return letters.none()


@dataclass(frozen=True)
class OverCommitment:
    tranche: str
    decisions: int
    amount: Decimal


def over_commitment_per_tranche() -> list[OverCommitment]:
    """Per tranche, the money granted on objection above its ceiling, by the decisions in force: one query."""
    rows = (
        Decision.objects.current()
        .filter(over_commitment__gt=0)
        .values("application__tranche__title", "application__tranche__year", "application__tranche__number")
        .annotate(decisions=Count("pk"), amount=Sum("over_commitment"))
        .order_by("application__tranche__year", "application__tranche__number")
    )
    return [
        OverCommitment(tranche=row["application__tranche__title"], decisions=row["decisions"], amount=row["amount"])
        for row in rows
    ]


# --- letters --------------------------------------------------------------------------------------------

LETTER_FILE_NAMES = {
    LetterKind.OBJECTION_RECEIPT: "ontvangstbevestiging-bezwaar",
    LetterKind.HEARING_INVITATION: "uitnodiging-hoorzitting",
    LetterKind.OBJECTION_DECISION: "beslissing-op-bezwaar",
    LetterKind.CHANGE_REQUEST_DECISION: "besluit-wijzigingsverzoek",
    LetterKind.RECLAIM: "terugvordering",
}


def letter_file_name(letter: Letter, extension: str) -> str:
    return f"{LETTER_FILE_NAMES.get(letter.kind, 'brief')}-{letter.application.reference}.{extension}"


def render_letter(*, objection: Objection, kind: str, on: date) -> str:
    """A letter about an objection as HTML, in Dutch whatever the interface language."""
    application = objection.contested.application
    with translation.override("nl"):
        return render_to_string(
            f"allocation/letters/{kind}.html",
            {
                "objection": objection,
                "application": application,
                "municipality": application.municipality,
                "tranche": application.tranche,
                "scheme": application.tranche.scheme,
                "contested": objection.contested,
                "revised": objection.revised_decision,
                "date": on,
            },
        )


def _issue_letter(objection: Objection, *, kind: str, user, now: datetime) -> Letter:
    """Store the letter's HTML now; its PDF follows after commit."""
    html = render_letter(objection=objection, kind=kind, on=timezone.localdate(now))
    letter = Letter(
        application=objection.contested.application, kind=kind, objection=objection, issued_at=now, issued_by=user
    )
    letter.html.save(letter_file_name(letter, "html"), ContentFile(html.encode("utf-8")), save=False)
    letter.save()
    # tasks imports this module for the task's body; imported here so the two do not import each other at load.
    from .tasks import generate_letter_pdf

    transaction.on_commit(partial(generate_letter_pdf.delay, letter.pk))
    return letter


def generate_letter_pdf(*, letter_id: int) -> bool:
    """Render a stored letter's HTML as PDF; False when it has one already."""
    with transaction.atomic():
        letter = Letter.objects.select_for_update(of=("self",)).select_related("application").get(pk=letter_id)
        if letter.pdf:
            return False
        with letter.html.open("rb") as stored:
            html = stored.read().decode("utf-8")
        letter.pdf.save(letter_file_name(letter, "pdf"), ContentFile(letter_pdf(html)), save=False)
        letter.save(update_fields=["pdf"])
    return True


# --- services -------------------------------------------------------------------------------------------


def _locked(objection: Objection) -> Objection:
    return (
        Objection.objects.select_for_update(of=("self",))
        .select_related("contested__application__municipality", "contested__application__tranche__scheme")
        .get(pk=objection.pk)
    )


def _refuse_unless_open(objection: Objection) -> None:
    if not objection.is_open:
        raise ValidationError(
            gettext("This objection has already been decided: %(outcome)s.")
            % {"outcome": objection.get_outcome_display()}
        )


def _required(text: str, field: str, message: str) -> str:
    text = text.strip()
    if not text:
        raise ValidationError({field: message})
    return text


@transaction.atomic
def record_dispatch(*, decision: Decision, user, dispatched_on: date, today: date | None = None) -> Decision:
    """Record the day a decision's letter was sent: the objection term runs from the day after (Awb 6:8)."""
    enforce(permissions.can_handle_objections(user))
    today = today or timezone.localdate()
    decision = Decision.objects.select_for_update(of=("self",)).select_related("application").get(pk=decision.pk)
    if dispatched_on < decision.decision_date:
        raise ValidationError({"dispatched_on": gettext("A decision cannot be sent before the day it was taken.")})
    if dispatched_on > today:
        raise ValidationError({"dispatched_on": gettext("Record a dispatch once the letter has been sent.")})
    if decision.dispatched_on != dispatched_on and decision.objections.exists():
        raise ValidationError(
            gettext("An objection against this decision counts its term from the dispatch date; it stays as it is.")
        )
    decision.dispatched_on = dispatched_on
    decision.save(update_fields=["dispatched_on"])
    logger.info("dispatch of decision %s recorded as %s by %s", decision.public_id, dispatched_on, user)
    return decision


@transaction.atomic
def register_objection(
    *,
    decision: Decision,
    user,
    received_on: date,
    grounds: str,
    handler=None,
    lateness_excused: bool = False,
    now: datetime | None = None,
) -> Objection:
    """Register an objection received against a decision, with its terms, and acknowledge it (Awb 6:14)."""
    enforce(permissions.can_handle_objections(user))
    now = now or timezone.now()
    decision = (
        Decision.objects.select_for_update(of=("self",))
        .select_related("application__municipality", "application__tranche__scheme", "run")
        .get(pk=decision.pk)
    )
    if handler is not None:
        enforce(permissions.can_be_objection_handler(handler, decision))
    grounds = _required(grounds, "grounds", gettext("State the grounds of the objection (Awb 6:5)."))
    if decision.kind == DecisionKind.OBJECTION:
        raise ValidationError(
            gettext("A decision on objection cannot be objected to; it is open to appeal in court (Awb 7:1).")
        )
    if decision.dispatched_on is None:
        raise ValidationError(
            gettext(
                "Record first on which day the decision on %(reference)s was sent: the objection term runs from "
                "the day after (Awb 6:8)."
            )
            % {"reference": decision.application.reference}
        )
    if received_on < decision.dispatched_on:
        raise ValidationError({"received_on": gettext("An objection cannot be received before the decision was sent.")})
    if received_on > timezone.localdate(now):
        raise ValidationError({"received_on": gettext("An objection cannot be received in the future.")})
    if decision.objections.filter(OPEN).exists():
        raise ValidationError(gettext("An objection against this decision is already being handled."))
    term_ends_on = objection_term_end(decision.dispatched_on)
    filed_in_time = received_on <= term_ends_on
    if filed_in_time and lateness_excused:
        raise ValidationError({"lateness_excused": gettext("This objection was filed in time; it needs no excuse.")})
    objection = Objection.objects.create(
        contested=decision,
        received_on=received_on,
        term_ends_on=term_ends_on,
        filed_in_time=filed_in_time,
        lateness_excused=lateness_excused,
        grounds=grounds,
        handler=handler,
        decide_by=decision_deadline(term_ends_on=term_ends_on, received_on=received_on),
        registered_by=user,
        registered_at=now,
    )
    _issue_letter(objection, kind=LetterKind.OBJECTION_RECEIPT, user=user, now=now)
    logger.info("objection %s registered against decision %s by %s", objection.public_id, decision.public_id, user)
    return objection


@transaction.atomic
def assign_handler(*, objection: Objection, user, handler) -> Objection:
    enforce(permissions.can_handle_objections(user))
    objection = _locked(objection)
    _refuse_unless_open(objection)
    enforce(permissions.can_be_objection_handler(handler, objection.contested))
    objection.handler = handler
    objection.save(update_fields=["handler"])
    return objection


@transaction.atomic
def excuse_lateness(*, objection: Objection, user) -> Objection:
    """Awb 6:11: the objector cannot reasonably be blamed for the late filing, so the objection is admissible."""
    enforce(permissions.can_handle_objections(user))
    objection = _locked(objection)
    _refuse_unless_open(objection)
    if objection.filed_in_time:
        raise ValidationError(gettext("This objection was filed in time; it needs no excuse."))
    objection.lateness_excused = True
    objection.save(update_fields=["lateness_excused"])
    logger.info("lateness of objection %s excused by %s", objection.public_id, user)
    return objection


@transaction.atomic
def extend_objection_deadline(
    *, objection: Objection, user, reason: str, until: date | None = None, today: date | None = None
) -> Objection:
    """Postpone the decision once, by at most six weeks, before the deadline has passed (Awb 7:10 lid 3)."""
    enforce(permissions.can_handle_objections(user))
    today = today or timezone.localdate()
    objection = _locked(objection)
    _refuse_unless_open(objection)
    if objection.extended_to is not None:
        raise ValidationError(
            gettext(
                "The decision has already been postponed once, to %(day)s; the Awb allows one postponement "
                "(7:10 lid 3), a further one only with the objector's consent (lid 4)."
            )
            % {"day": f"{objection.extended_to:%d-%m-%Y}"}
        )
    reason = _required(reason, "extension_reason", gettext("Say why the decision is postponed."))
    if today > objection.decide_by:
        raise ValidationError(gettext("The deadline has passed; a decision can only be postponed before it ends."))
    latest = latest_postponement(objection.decide_by)
    until = until or latest
    if not objection.decide_by < until <= latest:
        raise ValidationError(
            {
                "until": gettext("Postpone to a day after %(deadline)s and at the latest %(latest)s.")
                % {"deadline": f"{objection.decide_by:%d-%m-%Y}", "latest": f"{latest:%d-%m-%Y}"}
            }
        )
    objection.extended_to, objection.extension_reason = until, reason
    objection.save(update_fields=["extended_to", "extension_reason"])
    logger.info("decision on objection %s postponed to %s by %s", objection.public_id, until, user)
    return objection


@transaction.atomic
def schedule_hearing(*, objection: Objection, user, at: datetime, now: datetime | None = None) -> Letter:
    """Plan the hearing (Awb 7:2) and invite the objector to it; planning again sends a new invitation."""
    enforce(permissions.can_handle_objections(user))
    now = now or timezone.now()
    objection = _locked(objection)
    _refuse_unless_open(objection)
    if objection.handler_id is None:
        raise ValidationError(gettext("Assign a handler first: the handler hears the objector (Awb 7:5)."))
    if at <= now:
        raise ValidationError({"hearing_at": gettext("Plan the hearing in the future.")})
    objection.hearing_at, objection.hearing_waived = at, False
    objection.save(update_fields=["hearing_at", "hearing_waived"])
    logger.info("hearing on objection %s planned at %s by %s", objection.public_id, at.isoformat(), user)
    return _issue_letter(objection, kind=LetterKind.HEARING_INVITATION, user=user, now=now)


@transaction.atomic
def waive_hearing(*, objection: Objection, user) -> Objection:
    """Record that there is no hearing (Awb 7:3), e.g. because the objector waived being heard."""
    enforce(permissions.can_handle_objections(user))
    objection = _locked(objection)
    _refuse_unless_open(objection)
    objection.hearing_waived = True
    objection.save(update_fields=["hearing_waived"])
    logger.info("hearing on objection %s waived, recorded by %s", objection.public_id, user)
    return objection


def over_commitment(*, in_force: Decision, amount: Decimal, at: datetime) -> Decimal:
    """The part of `amount` the budget left cannot cover once it replaces the decision in force.

    The budget left (allocation.budget.budget_left: the ceilings in force less what the grants commit) counts
    the decision in force as committed, so only the raise has to fit; the over-commitment already on the decision
    in force was not covered either, so it stays uncovered unless the budget has room for it now.
    """
    application = in_force.application
    left = budget_left(tranche=application.tranche, now=at)
    room = left.total
    if not application.tranche.transfer_unused_between_windows:
        room = min(room, left.per_window.get(application.window_id, Decimal(0)))
    uncovered = amount - in_force.amount + in_force.over_commitment - room
    return min(amount, max(Decimal(0), uncovered))


def _validate_outcome(objection: Objection, *, outcome: str, amount: Decimal | None, now: datetime) -> None:
    if outcome not in ObjectionOutcome.values:
        raise ValidationError({"outcome": gettext("Choose an outcome.")})
    if (outcome in REVISING_OUTCOMES) != (amount is not None):
        raise ValidationError(
            {"amount": gettext("A (partly) founded objection sets the amount of the new decision; no other does.")}
        )
    admissible = objection.filed_in_time or objection.lateness_excused
    if outcome == ObjectionOutcome.INADMISSIBLE and admissible:
        raise ValidationError(
            {"outcome": gettext("This objection was filed in time or its lateness was excused; it is admissible.")}
        )
    if outcome not in (ObjectionOutcome.INADMISSIBLE, ObjectionOutcome.WITHDRAWN) and not admissible:
        raise ValidationError(
            {"outcome": gettext("This objection was filed late without excuse (Awb 6:11): it is inadmissible.")}
        )
    heard = objection.hearing_waived or (objection.hearing_at is not None and objection.hearing_at <= now)
    if outcome in OUTCOMES_AFTER_HEARING and not heard:
        raise ValidationError(
            {"outcome": gettext("Hear the objector first, or record that the hearing is waived (Awb 7:2, 7:3).")}
        )


@transaction.atomic
def decide_objection(
    *,
    objection: Objection,
    user,
    outcome: str,
    reason: str,
    amount: Decimal | None = None,
    now: datetime | None = None,
) -> Objection:
    """Decide on the objection; a (partly) founded one replaces the decision in force by one with `amount`.

    Money granted above the budget the tranche has left is recorded as over-commitment on the new decision.
    A withdrawn objection needs no decision and gets no letter; every other outcome is sent (Awb 7:12).
    """
    enforce(permissions.can_handle_objections(user))
    now = now or timezone.now()
    objection = _locked(objection)
    _refuse_unless_open(objection)
    reason = _required(reason, "outcome_reason", gettext("State the reasons of the decision on objection."))
    _validate_outcome(objection, outcome=outcome, amount=amount, now=now)
    application = objection.contested.application
    # The tranche row is the lock of every allocation write for it: the budget left cannot change meanwhile.
    Tranche.objects.select_for_update().filter(pk=application.tranche_id).exists()
    in_force = current_decision(application=application)
    in_force.application = application
    enforce(permissions.can_decide_objection(user, grants_money=amount is not None and amount > in_force.amount))
    if amount is not None:
        if not Decimal(0) <= amount <= in_force.requested:
            raise ValidationError(
                {
                    "amount": gettext("The amount must lie between 0 and the amount requested, € %(requested)s.")
                    % {"requested": formats.number_format(in_force.requested, 2, use_l10n=True, force_grouping=True)}
                }
            )
        objection.revised_decision = issue_decision(
            application=application,
            kind=DecisionKind.OBJECTION,
            amount=amount,
            user=user,
            explanation=reason,
            on=timezone.localdate(now),
            over_commitment=over_commitment(in_force=in_force, amount=amount, at=now),
        )
    objection.outcome, objection.outcome_reason = outcome, reason
    objection.decided_on, objection.decided_by = timezone.localdate(now), user
    objection.save(update_fields=["outcome", "outcome_reason", "decided_on", "decided_by", "revised_decision"])
    if outcome != ObjectionOutcome.WITHDRAWN:
        _issue_letter(objection, kind=LetterKind.OBJECTION_DECISION, user=user, now=now)
    logger.info("objection %s decided %s by %s", objection.public_id, outcome, user)
    return objection
