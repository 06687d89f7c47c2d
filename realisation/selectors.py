"""Reads of what follows a grant: obligations and progress, and what a grant settles at."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.db.models import (
    BooleanField,
    Case,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)

from accounts.models import Role
from allocation.models import GRANTED_OUTCOMES, Decision
from allocation.selectors import with_current_decision
from applications.models import Application, Status, UnitLine
from applications.selectors import applications_visible_to

from .accountability import latest_certified_report
from .models import (
    AccountabilityReport,
    AccountabilityStatus,
    ProgressReport,
    ProgressStatus,
    RealisedUnits,
    Reclaim,
    ReclaimStatus,
    SettlementStatus,
)


def _cents_down(amount: Fraction) -> Decimal:
    return Decimal(math.floor(amount * 100)).scaleb(-2)


@dataclass(frozen=True)
class ComputedSettlementLine:
    unit_line: UnitLine
    units_granted: int
    units_realised: int
    amount_granted: Decimal
    amount_settled: Decimal


@dataclass(frozen=True)
class ComputedSettlement:
    report: ProgressReport | None
    amount_paid: Decimal
    lines: list[ComputedSettlementLine]
    # The certified accountability report (SiSa) of the latest year, if any.
    accountability: AccountabilityReport | None = None

    @property
    def amount_spent(self) -> Decimal:
        """Spent of the grant to date by the latest certified accountability report; nothing without one."""
        return self.accountability.amount_spent_cumulative if self.accountability else Decimal("0")

    @property
    def amount_settled(self) -> Decimal:
        """The lines' amounts for the units realised, but no more than the municipality certified it spent, nor
        than the grant still paid after reclaims."""
        return min(sum((line.amount_settled for line in self.lines), Decimal("0")), self.amount_spent, self.amount_paid)

    @property
    def amount_reclaimed(self) -> Decimal:
        return self.amount_paid - self.amount_settled

    @property
    def units_granted(self) -> int:
        return sum(line.units_granted for line in self.lines)

    @property
    def units_realised(self) -> int:
        return sum(line.units_realised for line in self.lines)


def compute_settlement(*, decision: Decision) -> ComputedSettlement:
    """The settlement of a grant from its latest progress report and its latest certified accountability report.

    Nothing is realised without a progress report, and nothing counts as spent without a certified accountability
    report.

    A unit line's share of the grant is its requested amount × amount granted / amount requested (its whole
    request for a full grant). A unit not realised is not funded: the line gets its share × realised / granted
    units. Each line is rounded down to the cent, computed exactly, so the settled total never exceeds the
    grant. The settled total is at most the amount spent to date that the municipality's financial officer
    certified. The grant is taken to have been paid in full as an advance: the reclaim is the grant less the
    settled total.

    A reclaim confirmed before the settlement has already taken back units not realised and lowered the grant: the
    shares are those of the grant before the reclaims, so those units are not taken back twice, and what was paid
    is the grant after them.
    """
    application = decision.application
    report = application.progress_reports.filter(is_latest=True).first()
    realised = dict(report.realised_units.values_list("unit_line_id", "units")) if report else {}
    reclaimed = application.reclaims.filter(status__in=[ReclaimStatus.CONFIRMED, ReclaimStatus.PAID]).aggregate(
        total=Sum("amount", default=Decimal("0"))
    )["total"]
    granted_share = min(Fraction(1), Fraction(decision.amount + reclaimed) / Fraction(decision.requested))
    lines = []
    for line in application.unit_lines.select_related("target_group", "housing_type").order_by("pk"):
        share = Fraction(line.requested_amount) * granted_share
        units_realised = realised.get(line.pk, 0)
        lines.append(
            ComputedSettlementLine(
                unit_line=line,
                units_granted=line.units,
                units_realised=units_realised,
                amount_granted=_cents_down(share),
                amount_settled=_cents_down(share * units_realised / line.units),
            )
        )
    return ComputedSettlement(
        report=report,
        amount_paid=decision.amount,
        lines=lines,
        accountability=latest_certified_report(application=application),
    )


# --- obligations and progress reports -------------------------------------------------------------------

GRANTED_STATUSES = (Status.GRANTED, Status.PARTIALLY_GRANTED)
# Filters on with_progress() annotations: what the municipality and the agency are warned about.
START_MISSED = Q(start_missed=True)
COMPLETION_MISSED = Q(completion_missed=True)
REPORT_OVERDUE = Q(report_overdue=True)
NEEDS_ATTENTION = START_MISSED | COMPLETION_MISSED | REPORT_OVERDUE


def with_progress(queryset: QuerySet[Application], *, today: date) -> QuerySet[Application]:
    """The granted applications of `queryset` with their obligations, latest report and what is overdue on `today`.

    The obligation dates of the decision are the last days allowed, so a deadline is missed from the day
    after it. A report is due by each of them: the start by start_construction_by, the completion by
    complete_by (no yearly interval besides). A deadline is missed when its date has passed and the latest
    report does not show the step taken on or before it; a report is overdue when the due date of the first
    step not yet reported has passed. Once the grant is settled, no report is due any more.
    """
    start_by, complete_by = F("decision__start_construction_by"), F("decision__complete_by")
    return (
        with_current_decision(queryset)
        .filter(status__in=GRANTED_STATUSES, decision__amount__gt=0)
        .annotate(
            latest_report=FilteredRelation("progress_reports", condition=Q(progress_reports__is_latest=True)),
            start_construction_by=start_by,
            complete_by=complete_by,
            amount_granted=F("decision__amount"),
            settlement_status=F("decision__settlement__status"),
            started_on=F("latest_report__construction_started_on"),
            completed_on=F("latest_report__completed_on"),
            last_reported_at=F("latest_report__submitted_at"),
        )
        .annotate(
            next_report_due=Case(
                When(settlement_status=SettlementStatus.CONFIRMED, then=Value(None)),
                When(started_on__isnull=True, then=start_by),
                When(completed_on__isnull=True, then=complete_by),
                default=Value(None),
                output_field=DateField(),
            ),
            start_missed=ExpressionWrapper(
                Q(start_construction_by__lt=today) & (Q(started_on__isnull=True) | Q(started_on__gt=start_by)),
                output_field=BooleanField(),
            ),
            completion_missed=ExpressionWrapper(
                Q(complete_by__lt=today) & (Q(completed_on__isnull=True) | Q(completed_on__gt=complete_by)),
                output_field=BooleanField(),
            ),
        )
        .annotate(
            report_overdue=ExpressionWrapper(
                Q(next_report_due__isnull=False, next_report_due__lt=today), output_field=BooleanField()
            )
        )
    )


def grants_with_progress(*, user, today: date) -> QuerySet[Application]:
    """The granted applications the user may see, with with_progress() annotations, oldest decision first."""
    return with_progress(applications_visible_to(user=user), today=today).order_by(
        "decision__decision_date", "reference"
    )


def grants_needing_attention(*, user, today: date) -> QuerySet[Application]:
    """The granted applications with a missed deadline or an overdue report."""
    return grants_with_progress(user=user, today=today).filter(NEEDS_ATTENTION)


def grant_with_progress(*, user, public_id, today: date) -> Application:
    """One granted application with its unit lines; Application.DoesNotExist when not visible or not granted."""
    return (
        grants_with_progress(user=user, today=today)
        .prefetch_related(
            Prefetch("unit_lines", queryset=UnitLine.objects.select_related("target_group", "housing_type"))
        )
        .get(public_id=public_id)
    )


def progress_reports_of(*, application: Application) -> QuerySet[ProgressReport]:
    """The application's submitted reports in the order they came in, then its draft, with their realised units."""
    return (
        application.progress_reports.select_related("prepared_by", "submitted_by")
        .prefetch_related(Prefetch("realised_units", queryset=RealisedUnits.objects.order_by("unit_line_id")))
        .order_by(F("submitted_at").asc(nulls_last=True), "pk")
    )


def draft_progress_report(*, application: Application) -> ProgressReport | None:
    return application.progress_reports.filter(status=ProgressStatus.DRAFT).first()


def progress_report_to_continue(*, application: Application) -> ProgressReport | None:
    """Where a new report starts from: the draft if there is one, else the latest submitted report."""
    reports = application.progress_reports.filter(Q(status=ProgressStatus.DRAFT) | Q(is_latest=True))
    return min(
        reports.prefetch_related("realised_units"),
        key=lambda report: report.status != ProgressStatus.DRAFT,
        default=None,
    )


# --- the agency's work ----------------------------------------------------------------------------------

# The regulation gives the yearly accountability report no due date; the service takes 1 March of the next year.
ACCOUNTABILITY_DUE = (3, 1)


def accountability_due_on(year: int) -> date:
    return date(year + 1, *ACCOUNTABILITY_DUE)


def accountability_overdue(*, today: date) -> QuerySet[Application]:
    """Current, unsettled grants without a certified accountability report on last year once it is past due.

    Annotated with `accountability_year` and `accountability_due_on`. A grant owes a report on each year from the
    year of its first grant decision; none is overdue until the day after the due date.
    """
    year = today.year - 1
    due_on = accountability_due_on(year)
    if today <= due_on:
        return Application.objects.none()
    first_grant = (
        Decision.objects.filter(application=OuterRef("pk"), outcome__in=GRANTED_OUTCOMES)
        .order_by("decision_date")
        .values("decision_date")[:1]
    )
    certified = AccountabilityReport.objects.filter(
        application=OuterRef("pk"), year=year, status=AccountabilityStatus.CERTIFIED
    )
    return (
        with_progress(Application.objects.select_related("municipality", "tranche"), today=today)
        .filter(Q(settlement_status__isnull=True) | ~Q(settlement_status=SettlementStatus.CONFIRMED))
        .annotate(
            first_granted_on=Subquery(first_grant, output_field=DateField()),
            accountability_year=Value(year),
            accountability_due_on=Value(due_on, output_field=DateField()),
        )
        .filter(first_granted_on__year__lte=year)
        .exclude(Exists(certified))
        .order_by("first_granted_on", "reference")
    )


def reclaims_awaiting_confirmation(*, user) -> QuerySet[Reclaim]:
    """The prepared reclaims this user may confirm: an approver's, not the ones they prepared (four eyes)."""
    if user.role != Role.AGENCY_APPROVER:
        return Reclaim.objects.none()
    return (
        Reclaim.objects.filter(status=ReclaimStatus.PREPARED)
        .exclude(prepared_by=user)
        .select_related("application__municipality", "application__tranche", "prepared_by")
        .order_by("prepared_at", "pk")
    )


def reclaims_awaiting_payment() -> QuerySet[Reclaim]:
    """Confirmed reclaims not yet paid back, the earliest due date first."""
    return (
        Reclaim.objects.filter(status=ReclaimStatus.CONFIRMED)
        .select_related("application__municipality", "application__tranche")
        .order_by("due_on", "pk")
    )
