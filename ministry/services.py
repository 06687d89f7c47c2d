"""The ministry's totals: computed with SQL aggregates, stored as one generation of TotalsRow rows.

Definitions (also in docs/ministry.md, "How the totals are computed"):
- submitted: every application that was submitted and not withdrawn, whatever its assessment;
- granted: an application whose decision is granted or partially granted;
- units granted: all units of a granted or partially granted application (a partial grant funds the project,
  not a subset of its units);
- budget: the ceiling in force at the moment of computing (amendments applied), per tranche or window;
- oversubscription: requested less the budget, at least 0; for a scheme, the sum over its tranches;
- units realised: what the latest submitted progress report of each application says; by year of completion
  only those of reports with a completion date, in the year of that date;
- settled and reclaimed: the amounts of confirmed settlements.

Requests, counts, units and amounts granted come from a few GROUP BY queries over applications and unit lines
at a fine grain (per tranche, municipality and, for breakdowns by a unit line's kind, that kind); every
breakdown is added up from its grain, so a million unit lines are read five times rather than once per
breakdown. Realised units of the latest reports and, where amounts are decided per application, confirmed
settlements (amounts settled and reclaimed) are one GROUP BY per breakdown.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Count, F, FilteredRelation, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, ExtractYear
from django.utils import timezone

from allocation.models import GRANTED_OUTCOMES
from allocation.selectors import with_current_decision
from applications.models import Application, Permanence, Status, UnitLine
from grants.models import AmendmentKind, Tranche, TrancheAmendment, Window
from realisation.models import RealisedUnits, Settlement, SettlementStatus

from .models import PublishedFigure, TotalsRow, TotalsScope

DATA_DIR = Path(__file__).resolve().parent / "data"

logger = logging.getLogger(__name__)

ZERO = Decimal("0")
NOT_SUBMITTED = (Status.DRAFT, Status.WITHDRAWN)

# TotalsRow dimension -> path from a unit line. Paths through "application__" also work from a decision.
PATHS = {
    "scheme": "application__tranche__scheme",
    "tranche": "application__tranche",
    "window": "application__window",
    "province": "application__municipality__province",
    "municipality": "application__municipality",
    "target_group": "target_group__national_group",
    "tranche_target_group": "target_group",
    "housing_type": "housing_type",
    "permanence": "permanence",
}
# TotalsRow attribute of each dimension: the id column for a foreign key. The year comes from progress reports.
COLUMNS = {name: name if name in ("province", "permanence") else f"{name}_id" for name in PATHS} | {"year": "year"}
# Amounts are decided per application, so only breakdowns by an application's attributes carry them.
AMOUNT_SCOPES = (
    TotalsScope.SCHEME,
    TotalsScope.TRANCHE,
    TotalsScope.WINDOW,
    TotalsScope.PROVINCE,
    TotalsScope.MUNICIPALITY,
)
BUDGET_SCOPES = (TotalsScope.SCHEME, TotalsScope.TRANCHE, TotalsScope.WINDOW)

PER_TRANCHE = ("scheme", "tranche")
BREAKDOWNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (TotalsScope.SCHEME, ("scheme",)),
    (TotalsScope.TRANCHE, PER_TRANCHE),
    (TotalsScope.WINDOW, (*PER_TRANCHE, "window")),
    (TotalsScope.PROVINCE, (*PER_TRANCHE, "province")),
    (TotalsScope.MUNICIPALITY, (*PER_TRANCHE, "province", "municipality")),
    (TotalsScope.TARGET_GROUP, (*PER_TRANCHE, "target_group")),
    (TotalsScope.TRANCHE_TARGET_GROUP, (*PER_TRANCHE, "tranche_target_group", "target_group")),
    (TotalsScope.HOUSING_TYPE, (*PER_TRANCHE, "housing_type")),
    (TotalsScope.PERMANENCE, (*PER_TRANCHE, "permanence")),
    # Cumulative over all tranches of the scheme: the tranche stays empty.
    (TotalsScope.PROVINCE, ("scheme", "province")),
    (TotalsScope.MUNICIPALITY, ("scheme", "province", "municipality")),
    (TotalsScope.TARGET_GROUP, ("scheme", "target_group")),
    (TotalsScope.HOUSING_TYPE, ("scheme", "housing_type")),
    (TotalsScope.PERMANENCE, ("scheme", "permanence")),
)
# Realisation by year of completion, per tranche and cumulative over the scheme's tranches.
COMPLETION_BREAKDOWNS = (PER_TRANCHE, ("scheme",))
DIMENSION_PREFIX = "dim_"


def _grouped(queryset: QuerySet, dimensions: tuple[str, ...], *, via: str = "", **expressions) -> QuerySet:
    """Group by the dimensions, reached from the queryset's model through `via` (a path to a unit line or decision)."""
    # Prefixed aliases: an alias may not repeat a field name such as "permanence".
    return queryset.values(
        **{DIMENSION_PREFIX + name: F(via + PATHS[name]) for name in dimensions},
        **{DIMENSION_PREFIX + name: expression for name, expression in expressions.items()},
    )


# Application-level breakdowns are rolled up from applications per tranche, window and municipality.
APPLICATION_GRAIN = ("scheme", "tranche", "window", "province", "municipality")


def _grain(dimensions: tuple[str, ...]) -> tuple[str, ...]:
    """The dimensions a breakdown is rolled up from: its own plus tranche and municipality.

    An application belongs to one tranche and one municipality, so counts of applications at this grain add
    up exactly to the breakdown's, per tranche and over all tranches, and the municipalities can be counted
    from it. This keeps the database from counting distinct values over every unit line for every breakdown.
    """
    if set(dimensions) <= set(APPLICATION_GRAIN):
        return APPLICATION_GRAIN
    own = tuple(name for name in dimensions if name not in APPLICATION_GRAIN)
    return ("scheme", "tranche", "municipality", *own)


def _application_counts() -> QuerySet:
    """Submitted applications and the amounts granted to them, per application grain and decision outcome."""
    applications = with_current_decision(Application.objects.exclude(status__in=NOT_SUBMITTED))
    # Grouped by outcome: only the granted outcomes' amounts are added up (_add_grain_row).
    return (
        applications.values(
            **{DIMENSION_PREFIX + name: F(PATHS[name].removeprefix("application__")) for name in APPLICATION_GRAIN},
            outcome=F("decision__outcome"),
        )
        .annotate(applications=Count("pk"), amount_granted=Sum("decision__amount", default=ZERO))
        .order_by()
    )


def _line_sums(grain: tuple[str, ...]) -> QuerySet:
    """Requested amounts and units of submitted applications' unit lines, per grain and decision outcome.

    Applications are counted distinct only at a grain finer than the application, where one application can
    have several lines with the same values.
    """
    lines = UnitLine.objects.exclude(application__status__in=NOT_SUBMITTED).alias(
        application_decision=FilteredRelation(
            "application__decisions", condition=Q(application__decisions__is_current=True)
        )
    )
    counts = {} if grain == APPLICATION_GRAIN else {"applications": Count("application", distinct=True)}
    return (
        _grouped(lines, grain)
        .annotate(outcome=F("application_decision__outcome"))
        .annotate(
            # A group has at least one line, so these are never empty; the next two may be.
            requested=Sum("requested_amount"),
            # Names apart from UnitLine.units, which an annotation may not shadow.
            all_units=Sum("units"),
            permanent_units=Sum("units", filter=Q(permanence=Permanence.PERMANENT), default=0),
            flexible_units=Sum("units", filter=Q(permanence=Permanence.FLEXIBLE), default=0),
            **counts,
        )
        .order_by()
    )


@dataclass
class _Tally:
    """What a breakdown row adds up from the grain before it is written to its TotalsRow."""

    municipalities_submitted: set = field(default_factory=set)
    municipalities_granted: set = field(default_factory=set)


def _add_grain_row(target: TotalsRow, tally: _Tally, values: dict) -> None:
    granted = values["outcome"] in GRANTED_OUTCOMES
    municipality = values[DIMENSION_PREFIX + "municipality"]
    if "applications" in values:
        target.applications_submitted += values["applications"]
        tally.municipalities_submitted.add(municipality)
    if "requested" in values:
        target.requested += values["requested"]
    if not granted:
        return
    if "applications" in values:
        target.applications_granted += values["applications"]
        tally.municipalities_granted.add(municipality)
    if "amount_granted" in values:
        target.amount_granted += values["amount_granted"]
    if "all_units" in values:
        target.units_granted += values["all_units"]
        target.units_permanent += values["permanent_units"]
        target.units_flexible += values["flexible_units"]


def _units_realised(dimensions: tuple[str, ...], *, by_completion_year: bool = False) -> QuerySet:
    """Units realised on each unit line according to the latest submitted progress report of its application."""
    realised = RealisedUnits.objects.filter(report__is_latest=True)
    year = {}
    if by_completion_year:
        realised = realised.filter(report__completed_on__isnull=False)
        year = {"year": ExtractYear("report__completed_on")}
    grouped = _grouped(realised, dimensions, via="unit_line__", **year)
    return grouped.annotate(units_realised=Sum("units")).order_by()


def _amounts_settled(dimensions: tuple[str, ...]) -> QuerySet:
    settlements = Settlement.objects.filter(status=SettlementStatus.CONFIRMED)
    return (
        _grouped(settlements, dimensions, via="decision__")
        .annotate(amount_settled=Sum("amount_settled"), amount_reclaimed=Sum("amount_reclaimed"))
        .order_by()
    )


def _split(values: dict) -> tuple[dict, dict]:
    """A grouped row as (TotalsRow dimension attributes, measures)."""
    dimensions = {
        COLUMNS[name.removeprefix(DIMENSION_PREFIX)]: value
        for name, value in values.items()
        if name.startswith(DIMENSION_PREFIX)
    }
    measures = {name: value for name, value in values.items() if not name.startswith(DIMENSION_PREFIX)}
    return dimensions, measures


def _ceilings_in_force(now: datetime) -> dict[int, tuple[int, Decimal]]:
    """Tranche id -> (scheme id, ceiling in force at `now`): the latest ceiling amendment, else the original."""
    latest = TrancheAmendment.objects.filter(
        tranche=OuterRef("pk"), kind=AmendmentKind.CEILING, effective_at__lte=now
    ).order_by("-effective_at", "-pk")
    tranches = Tranche.objects.annotate(
        ceiling=Coalesce(Subquery(latest.values("new_ceiling")[:1]), F("budget_ceiling"))
    ).values_list("pk", "scheme_id", "ceiling")
    return {pk: (scheme_id, ceiling) for pk, scheme_id, ceiling in tranches}


def compute_totals(*, now: datetime | None = None) -> list[TotalsRow]:
    """Every totals row, computed from applications and decisions as they are now; unsaved, without generation."""
    now = now or timezone.now()
    rows: dict[tuple, TotalsRow] = {}

    def row(scope: str, dimensions: dict) -> TotalsRow:
        key = (scope, *(dimensions.get(column) for column in COLUMNS.values()))
        if key not in rows:
            rows[key] = TotalsRow(
                scope=scope,
                computed_at=now,
                amount_granted=ZERO if scope in AMOUNT_SCOPES else None,
                budget=ZERO if scope in BUDGET_SCOPES else None,
                **dimensions,
            )
        return rows[key]

    # Tranches, windows and schemes have a budget, so they get a row even before anyone applies.
    ceilings = _ceilings_in_force(now)
    for tranche_id, (scheme_id, ceiling) in ceilings.items():
        row(TotalsScope.TRANCHE, {"scheme_id": scheme_id, "tranche_id": tranche_id}).budget = ceiling
        row(TotalsScope.SCHEME, {"scheme_id": scheme_id}).budget += ceiling
    for window_id, tranche_id, ceiling in Window.objects.values_list("pk", "tranche_id", "budget_ceiling"):
        dimensions = {"scheme_id": ceilings[tranche_id][0], "tranche_id": tranche_id, "window_id": window_id}
        row(TotalsScope.WINDOW, dimensions).budget = ceiling

    grains = {grain: list(_line_sums(grain)) for grain in dict.fromkeys(_grain(dims) for _, dims in BREAKDOWNS)}
    grains[APPLICATION_GRAIN] += list(_application_counts())
    tallies: dict[int, _Tally] = {}
    for scope, dimensions in BREAKDOWNS:
        names = [DIMENSION_PREFIX + name for name in dimensions]
        targets: dict[tuple, tuple[TotalsRow, _Tally]] = {}
        for values in grains[_grain(dimensions)]:
            key = tuple(values[name] for name in names)
            if key not in targets:
                target = row(scope, {COLUMNS[name]: value for name, value in zip(dimensions, key, strict=True)})
                targets[key] = (target, tallies.setdefault(id(target), _Tally()))
            _add_grain_row(*targets[key], values)
        for values in _units_realised(dimensions):
            row_dimensions, measures = _split(values)
            row(scope, row_dimensions).units_realised = measures["units_realised"]
        if scope in AMOUNT_SCOPES:
            for values in _amounts_settled(dimensions):
                row_dimensions, measures = _split(values)
                target = row(scope, row_dimensions)
                target.amount_settled, target.amount_reclaimed = (
                    measures["amount_settled"],
                    measures["amount_reclaimed"],
                )
    for dimensions in COMPLETION_BREAKDOWNS:
        for values in _units_realised(dimensions, by_completion_year=True):
            row_dimensions, measures = _split(values)
            row(TotalsScope.COMPLETION_YEAR, row_dimensions).units_realised = measures["units_realised"]

    for item in rows.values():
        tally = tallies.get(id(item), _Tally())
        item.municipalities_submitted = len(tally.municipalities_submitted)
        item.municipalities_granted = len(tally.municipalities_granted)

    oversubscription_by_scheme: dict[int, Decimal] = {}
    for item in rows.values():
        if item.scope in (TotalsScope.TRANCHE, TotalsScope.WINDOW):
            item.oversubscription = max(item.requested - item.budget, ZERO)
        if item.scope == TotalsScope.TRANCHE:
            oversubscription_by_scheme[item.scheme_id] = (
                oversubscription_by_scheme.get(item.scheme_id, ZERO) + item.oversubscription
            )
    for item in rows.values():
        if item.scope == TotalsScope.SCHEME:
            # Every scheme row comes from a tranche of the scheme, so the scheme is there.
            item.oversubscription = oversubscription_by_scheme[item.scheme_id]
    return list(rows.values())


def _next_generation() -> int:
    return (TotalsRow.objects.aggregate(latest=Max("generation"))["latest"] or 0) + 1


@transaction.atomic
def store_totals(*, now: datetime | None = None) -> int:
    """Replace the stored totals by a freshly computed generation; returns its number.

    The new rows are written before the old ones are deleted, in one transaction: a reader sees either
    the previous generation or the new one, never a mix or nothing.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Compiling these few large aggregates just in time costs more than it saves (about 0.3 s each).
            cursor.execute("SET LOCAL jit = off")
    generation = _next_generation()
    rows = compute_totals(now=now)
    for item in rows:
        item.generation = generation
    TotalsRow.objects.bulk_create(rows, batch_size=1000)
    deleted, _ = TotalsRow.objects.exclude(generation=generation).delete()
    logger.info("totals generation %s stored: %s rows, %s old rows removed", generation, len(rows), deleted)
    return generation


@transaction.atomic
def load_published_figures(*, path: Path = DATA_DIR / "published_figures.json") -> int:
    """Create or update the published reference figures (shown beside computed totals) from the data file."""
    items = json.loads(path.read_text(encoding="utf-8"))
    for item in items:
        PublishedFigure.objects.update_or_create(
            code=item["code"],
            defaults={
                "label": item["label"],
                "value": item["value"],
                "definition": item["definition"],
                "source": item["source"],
                "as_of": item["as_of"],
            },
        )
    return len(items)
