"""Deadlines that bite, and the reclaim (terugvordering) of the part of a grant for units not realised.

A grant obliges the municipality to start construction by `start_construction_by` and to complete by
`complete_by` of the decision in force (an approved extension moves them). A deadline missed without an
approved extension puts the case on the agency's worklist, with overdue reports, open change requests and
reclaims to confirm or awaiting payment.

From the worklist an agency user prepares a reclaim: per unit the grant still funds and that the latest progress
report does not show realised, the amount granted per unit (rounded down to the cent); everything when nothing
was realised. An approver other than the preparer confirms it: a decision of kind `reclaim` lowers the grant by
the amount, the reclaim letter goes out and the amount is due within PAYMENT_TERM. The payment is recorded once
it has been received in full.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DateField, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditAction, Role
from accounts.permissions import Verdict, enforce
from accounts.services import record_audit
from allocation.models import Decision, DecisionKind, LetterKind
from allocation.selectors import current_decision
from allocation.services import issue_decision
from applications.models import Application
from grants.templatetags.money import format_euro

from . import signals
from .changes import issue_letter, lock_case, open_change_requests, realised_per_line, refuse_if_settled
from .models import ChangeRequest, Reclaim, ReclaimGround, ReclaimStatus, SettlementStatus
from .selectors import with_progress

logger = logging.getLogger(__name__)

# Awb 4:87 lid 1: money owed to the state is paid within six weeks after the decision that sets it.
PAYMENT_TERM = timedelta(weeks=6)

# --- who may ---------------------------------------------------------------------------------------------


def can_prepare_reclaim(user) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can prepare a reclaim.")
    return True, ""


def can_confirm_reclaim(user, reclaim: Reclaim) -> Verdict:
    """Four eyes: an approver other than the one who prepared the reclaim."""
    if user.role != Role.AGENCY_APPROVER:
        return False, _("Only an agency approver can confirm a reclaim.")
    if user.pk == reclaim.prepared_by_id:
        return False, _("You prepared this reclaim; another approver must confirm it.")
    if reclaim.status != ReclaimStatus.PREPARED:
        return False, _("This reclaim has already been confirmed.")
    return True, ""


def can_record_payment(user) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can record a payment.")
    return True, ""


# --- the amount ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComputedReclaim:
    """What a reclaim would take back now.

    units_funded: the units of the unit lines less those reclaimed before, which the amount granted now pays for.
    """

    decision: Decision
    units_funded: int
    units_realised: int

    @property
    def units_not_realised(self) -> int:
        return max(self.units_funded - self.units_realised, 0)

    @property
    def amount_per_unit(self) -> Decimal:
        if self.units_funded <= 0:
            return Decimal("0.00")
        return Decimal(math.floor(Fraction(self.decision.amount) * 100 / self.units_funded)).scaleb(-2)

    @property
    def amount(self) -> Decimal:
        # Rounding each unit down would otherwise leave a few cents granted for nothing realised.
        if self.units_realised == 0:
            return self.decision.amount
        return min(self.amount_per_unit * self.units_not_realised, self.decision.amount)


def compute_reclaim(*, application: Application, decision: Decision) -> ComputedReclaim:
    """Per unit the grant still funds and the latest progress report does not show realised."""
    units = application.unit_lines.aggregate(total=Sum("units", default=0))["total"]
    reclaimed = Reclaim.objects.filter(
        application=application, status__in=[ReclaimStatus.CONFIRMED, ReclaimStatus.PAID]
    ).aggregate(total=Sum("units_not_realised", default=0))["total"]
    funded = units - reclaimed
    realised = sum(realised_per_line(application).values())
    return ComputedReclaim(decision=decision, units_funded=funded, units_realised=min(realised, funded))


def _progress(application: Application, today: date) -> Application | None:
    return with_progress(Application.objects.filter(pk=application.pk), today=today).first()


def reclaim_errors(*, application: Application, ground: str, reason: str, today: date) -> dict[str, list[str]]:
    """Why a reclaim cannot be prepared now, by field; the ground must match what the latest report shows."""
    errors: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if not reason.strip():
        add("reason", _("Give the reason: the letter states it."))
    progress = _progress(application, today)
    if progress is None:
        add("__all__", _("The application holds no grant to reclaim from."))
        return errors
    if ground not in ReclaimGround.values:
        add("ground", _("Choose the ground of the reclaim."))
    elif ground == ReclaimGround.START_MISSED and not progress.start_missed:
        add("ground", _("The start deadline has not been missed."))
    elif ground == ReclaimGround.COMPLETION_MISSED and not progress.completion_missed:
        add("ground", _("The completion deadline has not been missed."))
    elif (
        ground == ReclaimGround.UNITS_NOT_REALISED and progress.completed_on is None and not progress.completion_missed
    ):
        add("ground", _("Units count as not realised once the project is complete or its completion deadline passed."))
    return errors


def _refuse_unless_reclaimable(application: Application) -> None:
    refuse_if_settled(application, prepared_too=True)
    if application.reclaims.filter(status=ReclaimStatus.PREPARED).exists():
        raise ValidationError(_("A reclaim of this grant awaits confirmation; confirm or discard it first."))


# --- writes ----------------------------------------------------------------------------------------------


@transaction.atomic
def prepare_reclaim(
    *, application: Application, user, ground: str, reason: str, now: datetime | None = None
) -> Reclaim:
    """Compute the reclaim of a grant on a ground, for an approver other than the preparer to confirm."""
    enforce(can_prepare_reclaim(user))
    application = Application.objects.select_for_update().get(pk=application.pk)
    _refuse_unless_reclaimable(application)
    now = now or timezone.now()
    errors = reclaim_errors(application=application, ground=ground, reason=reason, today=timezone.localdate(now))
    if errors:
        raise ValidationError(errors)
    computed = compute_reclaim(application=application, decision=current_decision(application=application))
    if computed.units_not_realised == 0:
        raise ValidationError(_("Every unit the grant pays for has been realised: there is nothing to reclaim."))
    reclaim = Reclaim.objects.create(
        application=application,
        ground=ground,
        reason=reason.strip(),
        units_not_realised=computed.units_not_realised,
        amount_per_unit=computed.amount_per_unit,
        amount=computed.amount,
        prepared_by=user,
        prepared_at=now,
    )
    logger.info("reclaim %s of %s on %s prepared by %s", reclaim.public_id, reclaim.amount, application.reference, user)
    return reclaim


@transaction.atomic
def confirm_reclaim(*, reclaim: Reclaim, user, now: datetime | None = None) -> Reclaim:
    """Four eyes: lower the grant by a decision of kind reclaim, set the due date and send the letter."""
    enforce(can_confirm_reclaim(user, reclaim))
    application, decision = lock_case(reclaim.application)
    reclaim = Reclaim.objects.select_for_update().get(pk=reclaim.pk)
    enforce(can_confirm_reclaim(user, reclaim))
    refuse_if_settled(application, prepared_too=True)
    computed = compute_reclaim(application=application, decision=decision) if decision and decision.is_grant else None
    if computed is None or (computed.units_not_realised, computed.amount_per_unit, computed.amount) != (
        reclaim.units_not_realised,
        reclaim.amount_per_unit,
        reclaim.amount,
    ):
        raise ValidationError(
            _("The grant or its progress has changed since this reclaim was prepared; discard it and prepare it again.")
        )
    now = now or timezone.now()
    today = timezone.localdate(now)
    reclaim.decision = issue_decision(
        application=application,
        kind=DecisionKind.RECLAIM,
        amount=decision.amount - reclaim.amount,
        user=user,
        explanation=reclaim.reason,
        on=today,
    )
    reclaim.status, reclaim.approved_by, reclaim.confirmed_at = ReclaimStatus.CONFIRMED, user, now
    reclaim.due_on = today + PAYMENT_TERM
    reclaim.save(update_fields=["status", "approved_by", "confirmed_at", "decision", "due_on"])
    issue_letter(
        application=application,
        kind=LetterKind.RECLAIM,
        template="allocation/letters/reclaim.html",
        context={"reclaim": reclaim, "previous": decision, "decision": reclaim.decision},
        user=user,
        now=now,
    )
    record_audit(
        action=AuditAction.CONFIRMATION,
        actor=user,
        target=reclaim,
        detail=f"grant {decision.amount} -> {reclaim.decision.amount}; {reclaim.amount} due by {reclaim.due_on}",
    )
    logger.info("reclaim %s confirmed by %s, due %s", reclaim.public_id, user, reclaim.due_on)
    return reclaim


@transaction.atomic
def discard_reclaim(*, reclaim: Reclaim, user) -> None:
    """Throw a prepared reclaim away, e.g. after a new progress report; the audit log keeps that it was."""
    enforce(can_prepare_reclaim(user))
    reclaim = Reclaim.objects.select_for_update().select_related("application").get(pk=reclaim.pk)
    if reclaim.status != ReclaimStatus.PREPARED:
        raise ValidationError(_("A confirmed reclaim is a decision and can no longer be discarded."))
    record_audit(action=AuditAction.DISCARD, actor=user, target=reclaim, detail=f"prepared by {reclaim.prepared_by}")
    reclaim.delete()


@transaction.atomic
def record_reclaim_payment(
    *, reclaim: Reclaim, user, paid_on: date | None, amount_paid: Decimal | None, now: datetime | None = None
) -> Reclaim:
    """Record that the municipality paid the reclaim back in full; the totals are refreshed after commit."""
    enforce(can_record_payment(user))
    reclaim = Reclaim.objects.select_for_update().get(pk=reclaim.pk)
    if reclaim.status == ReclaimStatus.PAID:
        raise ValidationError(_("The payment of this reclaim has already been recorded."))
    if reclaim.status != ReclaimStatus.CONFIRMED:
        raise ValidationError(_("A reclaim is paid only after it has been confirmed."))
    errors: dict[str, list[str]] = {}
    today = timezone.localdate(now)
    if paid_on is None:
        errors["paid_on"] = [_("Give the day the payment was received.")]
    elif paid_on > today:
        errors["paid_on"] = [_("The payment cannot be received in the future.")]
    elif paid_on < timezone.localdate(reclaim.confirmed_at):
        errors["paid_on"] = [_("The payment cannot be received before the reclaim was confirmed.")]
    if amount_paid is None:
        errors["amount_paid"] = [_("Give the amount received.")]
    elif amount_paid != reclaim.amount:
        errors["amount_paid"] = [
            _("Record the payment once the full %(amount)s has been received, no more and no less.")
            % {"amount": format_euro(reclaim.amount)}
        ]
    if errors:
        raise ValidationError(errors)
    reclaim.status, reclaim.paid_on, reclaim.amount_paid = ReclaimStatus.PAID, paid_on, amount_paid
    reclaim.save(update_fields=["status", "paid_on", "amount_paid"])
    record_audit(
        action=AuditAction.MONEY_CHANGE,
        actor=user,
        target=reclaim,
        detail=f"{amount_paid} paid back on {paid_on}",
    )
    logger.info("reclaim %s paid on %s, recorded by %s", reclaim.public_id, paid_on, user)
    transaction.on_commit(partial(signals.reclaim_paid.send, sender=Reclaim, reclaim=reclaim))
    return reclaim


# --- the worklist ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Worklist:
    """What the agency has to act on after grants, each part in a fixed number of queries."""

    deadlines: QuerySet[Application]
    change_requests: QuerySet[ChangeRequest]
    reclaims_to_confirm: QuerySet[Reclaim]
    reclaims_unpaid: QuerySet[Reclaim]


def _not_reclaimed_since(deadline: str) -> Q:
    return Q(last_reclaim_on__isnull=True) | Q(last_reclaim_on__lte=F(deadline))


def missed_deadlines(*, today: date) -> QuerySet[Application]:
    """Grants with a missed deadline or an overdue report not yet acted on, the longest overdue first.

    Acted on: a reclaim prepared after the deadline passed, or the settlement. The deadlines are those of the
    decision in force, so an approved extension takes a case off the list until its new deadline passes.
    """
    last_reclaim = Reclaim.objects.filter(application=OuterRef("pk")).order_by("-prepared_at")
    grants = with_progress(Application.objects.select_related("municipality"), today=today).annotate(
        last_reclaim_on=Subquery(last_reclaim.values(day=TruncDate("prepared_at"))[:1], output_field=DateField())
    )
    return (
        # Unsettled grants have no settlement status, which exclude() on an annotation would leave out too.
        grants.filter(Q(settlement_status__isnull=True) | ~Q(settlement_status=SettlementStatus.CONFIRMED))
        .filter(
            (Q(start_missed=True) & _not_reclaimed_since("start_construction_by"))
            | (Q(completion_missed=True) & _not_reclaimed_since("complete_by"))
            | (Q(report_overdue=True) & _not_reclaimed_since("next_report_due"))
        )
        .order_by("start_construction_by", "reference")
    )


def deadline_worklist(*, today: date) -> Worklist:
    reclaims = Reclaim.objects.select_related("application__municipality", "prepared_by")
    return Worklist(
        deadlines=missed_deadlines(today=today),
        change_requests=open_change_requests(),
        reclaims_to_confirm=reclaims.filter(status=ReclaimStatus.PREPARED).order_by("prepared_at", "pk"),
        reclaims_unpaid=reclaims.filter(status=ReclaimStatus.CONFIRMED).order_by("due_on", "pk"),
    )


def reclaims_of(*, application: Application) -> QuerySet[Reclaim]:
    """The confirmed and paid reclaims of a grant, for the municipality: a prepared one is still the agency's."""
    return application.reclaims.exclude(status=ReclaimStatus.PREPARED).order_by("-confirmed_at", "-pk")
