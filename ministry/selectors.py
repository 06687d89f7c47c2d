"""Reads of a tranche's applied and granted totals and of the certified accountability, summed by the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from allocation.models import GRANTED_OUTCOMES, Decision
from applications.models import Application, Permanence, Status, UnitLine
from grants.models import TargetGroup, Tranche
from realisation.models import AccountabilityReport, AccountabilityStatus, AccountabilityUnits


@dataclass(frozen=True)
class TrancheTotals:
    budget: Decimal
    requested: Decimal
    oversubscription: Decimal
    applications_received: int
    municipalities_applied: int
    applications_granted: int
    municipalities_granted: int
    amount_granted: Decimal
    units_permanent: int
    units_flexible: int
    units_total: int
    units_by_target_group: dict[str, int]
    units_by_national_group: dict[str, int]


def tranche_totals(*, tranche: Tranche, at: datetime | None = None) -> TrancheTotals:
    """Applied and granted figures of a tranche, summed by the database.

    Received means submitted and not withdrawn; granted means a decision granting all or part of the request.
    Units count the whole application, also when it was only partly granted.
    """
    at = at or timezone.now()
    tranche = Tranche.objects.prefetch_related("amendments").get(pk=tranche.pk)
    budget = tranche.ceiling_at(at)
    received = Application.objects.filter(tranche=tranche).exclude(status__in=[Status.DRAFT, Status.WITHDRAWN])
    applied = received.aggregate(applications=Count("pk"), municipalities=Count("municipality", distinct=True))
    requested = UnitLine.objects.filter(application__in=received).aggregate(
        total=Sum("requested_amount", default=Decimal("0"))
    )["total"]
    grants = Decision.objects.current().filter(application__tranche=tranche, outcome__in=GRANTED_OUTCOMES)
    granted = grants.aggregate(
        applications=Count("pk"),
        municipalities=Count("application__municipality", distinct=True),
        amount=Sum("amount", default=Decimal("0")),
    )
    granted_lines = UnitLine.objects.filter(application__decisions__in=grants)
    units = granted_lines.aggregate(
        permanent=Sum("units", filter=Q(permanence=Permanence.PERMANENT), default=0),
        flexible=Sum("units", filter=Q(permanence=Permanence.FLEXIBLE), default=0),
        total=Sum("units", default=0),
    )
    by_group = granted_lines.values("target_group__code").annotate(units=Sum("units")).order_by("target_group__code")
    by_national = (
        granted_lines.values("target_group__national_group__code")
        .annotate(units=Sum("units"))
        .order_by("target_group__national_group__code")
    )
    return TrancheTotals(
        budget=budget,
        requested=requested,
        oversubscription=max(Decimal("0"), requested - budget),
        applications_received=applied["applications"],
        municipalities_applied=applied["municipalities"],
        applications_granted=granted["applications"],
        municipalities_granted=granted["municipalities"],
        amount_granted=granted["amount"],
        units_permanent=units["permanent"],
        units_flexible=units["flexible"],
        units_total=units["total"],
        units_by_target_group={row["target_group__code"]: row["units"] for row in by_group},
        units_by_national_group={row["target_group__national_group__code"]: row["units"] for row in by_national},
    )


@dataclass(frozen=True)
class ReportedYear:
    """What the municipalities certified of one tranche's grants for one year (SiSa)."""

    tranche: Tranche
    year: int
    reports_certified: int
    amount_spent: Decimal
    amount_spent_cumulative: Decimal
    obligations_not_met: int
    units_not_used: int
    units_by_group: list[tuple[TargetGroup, int]]

    @property
    def units_realised(self) -> int:
        return sum(units for _group, units in self.units_by_group)


def accountability_per_tranche_and_year() -> list[ReportedYear]:
    """The certified accountability reports summed per tranche and year, newest year first; four queries.

    Spent in the year and to date, units realised by the end of the year per national target group, and how many
    grants reported their obligations not met or their units not used for the target groups. Reports still being
    prepared or awaiting certification do not count.
    """
    certified = AccountabilityReport.objects.filter(status=AccountabilityStatus.CERTIFIED)
    rows = list(
        certified.values("application__tranche", "year")
        .annotate(
            reports=Count("pk"),
            spent=Sum("amount_spent"),
            spent_to_date=Sum("amount_spent_cumulative"),
            not_met=Count("pk", filter=Q(obligations_met=False)),
            not_used=Count("pk", filter=Q(units_used_for_target_groups=False)),
        )
        .order_by()
    )
    units: dict[tuple[int, int], dict[int, int]] = {}
    grouped_units = (
        AccountabilityUnits.objects.filter(report__status=AccountabilityStatus.CERTIFIED)
        .values("report__application__tranche", "report__year", "target_group")
        .annotate(units=Sum("units_realised"))
        .order_by()
    )
    for row in grouped_units:
        key = (row["report__application__tranche"], row["report__year"])
        units.setdefault(key, {})[row["target_group"]] = row["units"]
    tranches = Tranche.objects.in_bulk({row["application__tranche"] for row in rows})
    groups = TargetGroup.objects.in_bulk({group for by_group in units.values() for group in by_group})
    reported = [
        ReportedYear(
            tranche=tranches[row["application__tranche"]],
            year=row["year"],
            reports_certified=row["reports"],
            amount_spent=row["spent"],
            amount_spent_cumulative=row["spent_to_date"],
            obligations_not_met=row["not_met"],
            units_not_used=row["not_used"],
            units_by_group=sorted(
                (
                    (groups[group], count)
                    for group, count in units.get((row["application__tranche"], row["year"]), {}).items()
                ),
                key=lambda item: item[0].name,
            ),
        )
        for row in rows
    ]
    return sorted(reported, key=lambda item: (-item.year, item.tranche.scheme_id, -item.tranche.number))
