"""What the ministry's dashboard shows: its tables, read from stored totals only.

Every table is defined once, as columns over rows, and serves the page, the CSV and the XLSX export alike.
Reading the dashboard costs a fixed number of queries, however many tranches and rows there are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.http import QueryDict
from django.utils import formats
from django.utils.functional import Promise, cached_property
from django.utils.translation import gettext_lazy as _

from grants.models import Tranche, TrancheAmendment
from grants.templatetags.instants import format_instant
from grants.templatetags.money import format_euro

from .filters import DashboardFilter
from .models import PublishedFigure, TotalsRow, TotalsScope

TEXT = "text"
MONEY = "money"
COUNT = "count"
YEAR = "year"
INSTANT = "instant"
DATE = "date"


@dataclass(frozen=True)
class Column:
    label: str | Promise
    value: Callable[[Any], Any]
    kind: str = TEXT


NUMERIC = (MONEY, COUNT, YEAR)


def display(value: Any, kind: str) -> str:
    """A cell's value as the page shows it, in the active language; "–" when there is none."""
    if value is None:
        return "–"
    if kind == MONEY:
        return format_euro(value)
    if kind == COUNT:
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    if kind == INSTANT:
        return format_instant(value)
    if kind == DATE:
        return formats.date_format(value, "F Y")
    return str(value)


@dataclass(frozen=True)
class Cell:
    value: Any
    kind: str

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC

    @property
    def text(self) -> str:
        return display(self.value, self.kind)


@dataclass
class Table:
    code: str
    title: str | Promise
    columns: tuple[Column, ...]
    rows: list = field(default_factory=list)
    empty_text: str | Promise = _("No figures for this selection.")

    @property
    def headers(self) -> list[str]:
        return [str(column.label) for column in self.columns]

    @property
    def header_cells(self) -> list[Cell]:
        return [Cell(column.label, column.kind) for column in self.columns]

    @cached_property
    def records(self) -> list[list[Cell]]:
        return [[Cell(column.value(row), column.kind) for column in self.columns] for row in self.rows]


def _tranche(row: TotalsRow) -> str:
    return row.tranche.title if row.tranche_id else str(_("All tranches"))


def _measure(name: str, label: str | Promise, kind: str) -> Column:
    return Column(label, lambda row: getattr(row, name), kind)


TRANCHE = Column(_("Tranche"), _tranche)
REQUESTED = _measure("requested", _("Requested"), MONEY)
OVERSUBSCRIPTION = _measure("oversubscription", _("Oversubscription"), MONEY)
BUDGET = _measure("budget", _("Budget (ceiling in force)"), MONEY)
APPLICATIONS_SUBMITTED = _measure("applications_submitted", _("Applications submitted"), COUNT)
MUNICIPALITIES_SUBMITTED = _measure("municipalities_submitted", _("Municipalities that applied"), COUNT)
APPLICATIONS_GRANTED = _measure("applications_granted", _("Applications granted"), COUNT)
MUNICIPALITIES_GRANTED = _measure("municipalities_granted", _("Municipalities granted"), COUNT)
AMOUNT_GRANTED = _measure("amount_granted", _("Amount granted"), MONEY)
UNITS_GRANTED = _measure("units_granted", _("Units granted"), COUNT)
UNITS_PERMANENT = _measure("units_permanent", _("Permanent"), COUNT)
UNITS_FLEXIBLE = _measure("units_flexible", _("Flexible"), COUNT)
UNITS_REALISED = _measure("units_realised", _("Units realised"), COUNT)
AMOUNT_SETTLED = _measure("amount_settled", _("Amount settled"), MONEY)
AMOUNT_RECLAIMED = _measure("amount_reclaimed", _("Amount reclaimed"), MONEY)
UNITS = (UNITS_GRANTED, UNITS_PERMANENT, UNITS_FLEXIBLE)

TABLES: dict[str, tuple[str | Promise, tuple[Column, ...]]] = {
    "schemes": (
        _("Per scheme, all tranches together"),
        (
            Column(_("Scheme"), lambda row: row.scheme.name),
            _measure("budget", _("Budget (sum of ceilings in force)"), MONEY),
            REQUESTED,
            _measure("oversubscription", _("Oversubscription (sum over tranches)"), MONEY),
            APPLICATIONS_SUBMITTED,
            APPLICATIONS_GRANTED,
            MUNICIPALITIES_GRANTED,
            AMOUNT_GRANTED,
            *UNITS,
            UNITS_REALISED,
            AMOUNT_SETTLED,
            AMOUNT_RECLAIMED,
        ),
    ),
    "tranches": (
        _("Tranches"),
        (
            TRANCHE,
            Column(_("Year"), lambda row: row.tranche.year, YEAR),
            BUDGET,
            REQUESTED,
            OVERSUBSCRIPTION,
            APPLICATIONS_SUBMITTED,
            MUNICIPALITIES_SUBMITTED,
            APPLICATIONS_GRANTED,
            MUNICIPALITIES_GRANTED,
            AMOUNT_GRANTED,
            *UNITS,
            UNITS_REALISED,
            AMOUNT_SETTLED,
            AMOUNT_RECLAIMED,
        ),
    ),
    "windows": (
        _("Windows (deelplafonds)"),
        (
            TRANCHE,
            Column(_("Window"), lambda row: row.window.name),
            _measure("budget", _("Budget"), MONEY),
            REQUESTED,
            OVERSUBSCRIPTION,
            APPLICATIONS_SUBMITTED,
            APPLICATIONS_GRANTED,
            AMOUNT_GRANTED,
            *UNITS,
        ),
    ),
    "amendments": (
        _("Changes to ceilings and closing"),
        (
            Column(_("Tranche"), lambda amendment: amendment.tranche.title),
            Column(_("Change"), lambda amendment: amendment.get_kind_display()),
            Column(_("Publication"), lambda amendment: amendment.publication_reference),
            Column(_("Takes effect at"), lambda amendment: amendment.effective_at, INSTANT),
            Column(_("Old ceiling"), lambda amendment: amendment.old_ceiling, MONEY),
            Column(_("New ceiling"), lambda amendment: amendment.new_ceiling, MONEY),
            Column(_("Old closing"), lambda amendment: amendment.old_closes_at, INSTANT),
            Column(_("New closing"), lambda amendment: amendment.new_closes_at, INSTANT),
        ),
    ),
    "provinces": (
        _("Per province"),
        (
            TRANCHE,
            Column(_("Province"), lambda row: row.province),
            REQUESTED,
            APPLICATIONS_SUBMITTED,
            APPLICATIONS_GRANTED,
            MUNICIPALITIES_GRANTED,
            AMOUNT_GRANTED,
            *UNITS,
            UNITS_REALISED,
        ),
    ),
    "municipalities": (
        _("Per municipality"),
        (
            TRANCHE,
            Column(_("Municipality"), lambda row: row.municipality.name),
            Column(_("CBS code"), lambda row: row.municipality.code),
            REQUESTED,
            APPLICATIONS_SUBMITTED,
            APPLICATIONS_GRANTED,
            AMOUNT_GRANTED,
            *UNITS,
            UNITS_REALISED,
        ),
    ),
    "target_groups": (
        _("Per national target group"),
        (
            TRANCHE,
            Column(_("Target group"), lambda row: row.target_group.name),
            REQUESTED,
            APPLICATIONS_GRANTED,
            *UNITS,
            UNITS_REALISED,
        ),
    ),
    "tranche_target_groups": (
        _("Per target group as the tranche names it"),
        (
            TRANCHE,
            Column(_("Target group of the tranche"), lambda row: row.tranche_target_group.name),
            Column(_("National target group"), lambda row: row.target_group.name),
            REQUESTED,
            APPLICATIONS_GRANTED,
            *UNITS,
        ),
    ),
    "housing_types": (
        _("Per housing type"),
        (
            TRANCHE,
            Column(_("Housing type"), lambda row: row.housing_type.name),
            REQUESTED,
            APPLICATIONS_GRANTED,
            *UNITS,
        ),
    ),
    "realisation": (
        _("Realisation by year of completion"),
        (
            Column(_("Year of completion"), lambda row: row.year, YEAR),
            TRANCHE,
            UNITS_REALISED,
        ),
    ),
    "published_figures": (
        _("Published figures (not computed here)"),
        (
            Column(_("Figure"), lambda figure: figure.label),
            Column(_("Value"), lambda figure: figure.value, COUNT),
            Column(_("Definition"), lambda figure: figure.definition),
            Column(_("Source"), lambda figure: figure.source),
            Column(_("As of"), lambda figure: figure.as_of, DATE),
        ),
    ),
}
TABLE_SCOPES = {
    "schemes": TotalsScope.SCHEME,
    "tranches": TotalsScope.TRANCHE,
    "windows": TotalsScope.WINDOW,
    "provinces": TotalsScope.PROVINCE,
    "municipalities": TotalsScope.MUNICIPALITY,
    "target_groups": TotalsScope.TARGET_GROUP,
    "tranche_target_groups": TotalsScope.TRANCHE_TARGET_GROUP,
    "housing_types": TotalsScope.HOUSING_TYPE,
    "realisation": TotalsScope.COMPLETION_YEAR,
}


def _tranche_order(row) -> tuple:
    """Newest tranche first; cumulative rows (no tranche) before all of them."""
    tranche = row.tranche
    return (0, 0, 0) if tranche is None else (1, tranche.scheme_id, -tranche.number)


SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "schemes": lambda row: row.scheme.code,
    "tranches": _tranche_order,
    "windows": lambda row: (_tranche_order(row), row.window.code),
    "provinces": lambda row: (_tranche_order(row), row.province),
    "municipalities": lambda row: (_tranche_order(row), row.municipality.name),
    "target_groups": lambda row: (_tranche_order(row), row.target_group.name),
    "tranche_target_groups": lambda row: (_tranche_order(row), row.tranche_target_group.name),
    "housing_types": lambda row: (_tranche_order(row), row.housing_type.name),
    "realisation": lambda row: (row.year, _tranche_order(row)),
}


@dataclass(frozen=True)
class Bar:
    label: str | Promise
    value: Decimal | int
    percent: float


@dataclass(frozen=True)
class TrancheChart:
    title: str
    money: list[Bar]
    units_permanent: int
    units_flexible: int
    permanent_percent: float
    flexible_percent: float


@dataclass
class Dashboard:
    filterset: DashboardFilter
    tables: dict[str, Table]
    computed_at: datetime | None
    charts: list[TrancheChart]

    @property
    def cumulative(self) -> bool:
        return not self.filterset.narrows_tranches


def _percent(value: Decimal | int, largest: Decimal | int) -> float:
    # Only the length of a bar: the figures themselves are shown as text beside it.
    return round(float(value) * 100 / float(largest), 1) if largest else 0.0


def _charts(rows: list[TotalsRow]) -> list[TrancheChart]:
    largest = max((max(row.budget, row.requested, row.amount_granted) for row in rows), default=Decimal("0"))
    charts = []
    for row in rows:
        amounts = [
            (_("Budget"), row.budget),
            (_("Requested"), row.requested),
            (_("Granted"), row.amount_granted),
        ]
        charts.append(
            TrancheChart(
                title=row.tranche.title,
                money=[Bar(label, amount, _percent(amount, largest)) for label, amount in amounts],
                units_permanent=row.units_permanent,
                units_flexible=row.units_flexible,
                permanent_percent=_percent(row.units_permanent, row.units_granted),
                flexible_percent=_percent(row.units_flexible, row.units_granted),
            )
        )
    return charts


def _amendments(tranches: list[Tranche], data: dict) -> list[TrancheAmendment]:
    chosen = [
        tranche
        for tranche in tranches
        if (not data.get("scheme") or tranche.scheme.code == data["scheme"])
        and (not data.get("tranche") or tranche.slug == data["tranche"])
        and (not data.get("year") or str(tranche.year) == data["year"])
    ]
    return [amendment for tranche in chosen for amendment in tranche.amendments.all()]


def dashboard(*, params: QueryDict) -> Dashboard:
    """The dashboard for the filters in `params` (scheme, tranche, year, province); invalid ones are ignored."""
    tranches = list(
        Tranche.objects.select_related("scheme")
        .prefetch_related(Prefetch("amendments", queryset=TrancheAmendment.objects.order_by("effective_at")))
        .order_by("scheme__code", "-number")
    )
    filterset = DashboardFilter(
        params,
        queryset=TotalsRow.objects.with_dimensions(),
        tranches=tranches,
    )
    by_scope: dict[str, list[TotalsRow]] = {}
    for row in filterset.qs:
        by_scope.setdefault(row.scope, []).append(row)

    tables = {}
    for code, (title, columns) in TABLES.items():
        tables[code] = Table(code=code, title=title, columns=columns)
        if code in TABLE_SCOPES:
            tables[code].rows = sorted(by_scope.get(TABLE_SCOPES[code], []), key=SORT_KEYS[code])
    tables["amendments"].rows = _amendments(tranches, getattr(filterset.form, "cleaned_data", {}))
    tables["amendments"].empty_text = _("No ceiling or closing has been changed.")
    tables["published_figures"].rows = list(PublishedFigure.objects.all())
    tables["realisation"].empty_text = _("No progress reports yet.")
    if not filterset.narrows_tranches:
        tables["tranche_target_groups"].empty_text = _("Choose a tranche or year to see its own target groups.")
    if not filterset.form.cleaned_data.get("province"):
        tables["municipalities"].empty_text = _("Choose a province to see its municipalities.")

    computed_at = max((row.computed_at for rows in by_scope.values() for row in rows), default=None)
    return Dashboard(
        filterset=filterset,
        tables=tables,
        computed_at=computed_at,
        charts=_charts(tables["tranches"].rows),
    )
