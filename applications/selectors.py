"""Reads of applications. Every view and endpoint starts here, so isolation lives in one place."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from grants.models import SettlementStatus

from .models import Application, Attachment, ProgressReport, ProgressStatus, RealisedUnits, Status, UnitLine


def applications_visible_to(*, user) -> QuerySet[Application]:
    qs = Application.objects.select_related("municipality", "tranche", "window")
    if user.is_agency or user.is_ministry:
        return qs
    if user.is_municipal:
        return qs.filter(municipality_id=user.municipality_id)
    return qs.none()


def applications_with_totals(*, user) -> QuerySet[Application]:
    """The applications the user may see with units_total and amount_requested, newest first."""
    # Grouped queries ignore Meta.ordering, so the order is given again.
    return applications_visible_to(user=user).with_totals().order_by("-created_at", "-pk")


def _line_total(field: str, output_field):
    lines = UnitLine.objects.filter(application=OuterRef("pk")).order_by().values("application")
    return Subquery(lines.annotate(total=Sum(field)).values("total"), output_field=output_field)


def applications_for_back_office(*, user) -> QuerySet[Application]:
    """Received applications with units_total and amount_requested, for the agency's lists.

    Drafts are the municipality's own and stay out. The totals are subqueries, not joins, so that filtering
    on unit lines (e.g. by target group) cannot multiply them.
    """
    return (
        applications_visible_to(user=user)
        .submitted()
        .annotate(
            units_total=Coalesce(_line_total("units", IntegerField()), Value(0)),
            amount_requested=Coalesce(
                _line_total("requested_amount", DecimalField(max_digits=14, decimal_places=2)),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
        )
    )


def application_for_detail(*, user, public_id) -> Application:
    """The application with its lines and attachments; Application.DoesNotExist when not visible."""
    return (
        applications_visible_to(user=user)
        .prefetch_related(
            Prefetch(
                "unit_lines",
                queryset=UnitLine.objects.select_related("target_group", "housing_type"),
            ),
            "attachments",
            "status_changes__actor",
        )
        .get(public_id=public_id)
    )


def attachment_visible_to(*, user, public_id, attachment_id: int) -> Attachment:
    """One attachment of an application the user may see; Attachment.DoesNotExist otherwise."""
    return Attachment.objects.select_related("application").get(
        pk=attachment_id,
        application__public_id=public_id,
        application__in=applications_visible_to(user=user),
    )


# --- progress reports -----------------------------------------------------------------------------------

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
        queryset.filter(status__in=GRANTED_STATUSES, decision__amount__gt=0)
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
    return (
        with_progress(applications_visible_to(user=user), today=today)
        .select_related("decision__settlement")
        .order_by("decision__decision_date", "reference")
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
