"""Reads of a tranche's applied and granted totals, summed by the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from allocation.models import GRANTED_OUTCOMES, Decision
from applications.models import Application, Permanence, Status, UnitLine
from grants.models import Tranche


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
