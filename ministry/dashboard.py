"""What the ministry's dashboard shows: key figures, charts and tables, read from stored totals only.

Every table is defined once, as columns over rows, and serves the page, the CSV and the XLSX export alike. Every
filter applies to every figure: where the stored totals have no rows for a filter (budgets and windows per
province, for example), the table says so rather than showing figures the filter does not narrow.
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

from allocation.objections import OverCommitment, over_commitment_per_tranche
from grants.models import Tranche, TrancheAmendment
from grants.templatetags.instants import format_instant
from grants.templatetags.money import format_euro

from .filters import DEMO_SCHEME_CODE, INCLUDE_DEMO, DashboardFilter, includes_demo
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
    "overview": (
        _("At a glance, per tranche"),
        (
            TRANCHE,
            BUDGET,
            REQUESTED,
            OVERSUBSCRIPTION,
            APPLICATIONS_GRANTED,
            MUNICIPALITIES_GRANTED,
            UNITS_PERMANENT,
            UNITS_FLEXIBLE,
        ),
    ),
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
    "windows": lambda row: (_tranche_order(row), row.window.code),
    "provinces": lambda row: (_tranche_order(row), row.province),
    "municipalities": lambda row: (_tranche_order(row), row.municipality.name),
    "target_groups": lambda row: (_tranche_order(row), row.target_group.name),
    "tranche_target_groups": lambda row: (_tranche_order(row), row.tranche_target_group.name),
    "housing_types": lambda row: (_tranche_order(row), row.housing_type.name),
    "realisation": lambda row: (row.year, _tranche_order(row)),
}


# Tables of figures the stored totals hold for the whole country only: with a province chosen they say so.
NATIONAL_TABLES = ("windows", "amendments", "target_groups", "tranche_target_groups", "housing_types", "realisation")


@dataclass(frozen=True)
class KeyFigures:
    """The figures of the progress letter for the whole selection; None where they cannot be given for it."""

    budget: Decimal | None
    requested: Decimal
    oversubscription: Decimal | None
    applications_granted: int
    municipalities_granted: int | None
    amount_granted: Decimal | None
    units_granted: int
    units_permanent: int
    units_flexible: int


def _total(values: list) -> Any:
    return None if any(value is None for value in values) else sum(values)


def key_figures(rows: list[TotalsRow]) -> KeyFigures | None:
    """The rows added up. Municipalities are counted per row, so they are given only when there is one row: a
    municipality granted in two tranches would count twice in a sum. A province has no budget of its own."""
    if not rows:
        return None
    return KeyFigures(
        budget=_total([row.budget for row in rows]),
        requested=sum(row.requested for row in rows),
        oversubscription=_total([row.oversubscription for row in rows]),
        applications_granted=sum(row.applications_granted for row in rows),
        municipalities_granted=rows[0].municipalities_granted if len(rows) == 1 else None,
        amount_granted=_total([row.amount_granted for row in rows]),
        units_granted=sum(row.units_granted for row in rows),
        units_permanent=sum(row.units_permanent for row in rows),
        units_flexible=sum(row.units_flexible for row in rows),
    )


def _number(value: Decimal | int | None) -> float | int | None:
    return float(value) if isinstance(value, Decimal) else value


def chart_data(rows: list[TotalsRow]) -> dict:
    """What static/js/dashboard.js draws, per tranche as the overview table lists them: amounts and units."""
    return {
        "labels": [row.tranche.title for row in rows],
        "money": {
            "budget": [_number(row.budget) for row in rows],
            "requested": [_number(row.requested) for row in rows],
            "granted": [_number(row.amount_granted) for row in rows],
        },
        "units": {
            "permanent": [row.units_permanent for row in rows],
            "flexible": [row.units_flexible for row in rows],
        },
        "text": {
            "budget": str(_("Budget")),
            "requested": str(_("Requested")),
            "granted": str(_("Granted")),
            "permanent": str(_("Permanent")),
            "flexible": str(_("Flexible")),
        },
    }


@dataclass(frozen=True)
class ActiveFilter:
    label: str
    value: str
    remove_query: str


def _active_filters(filterset: DashboardFilter, params: QueryDict) -> list[ActiveFilter]:
    active = []
    for name, value in filterset.data_in_force.items():
        field = filterset.form.fields[name]
        choices = {str(key): label for key, label in getattr(field, "choices", [])}
        remaining = params.copy()
        remaining.pop(name, None)
        active.append(
            ActiveFilter(
                label=str(field.label),
                value="" if name == INCLUDE_DEMO else str(choices.get(str(value), value)),
                remove_query=remaining.urlencode(),
            )
        )
    return active


@dataclass
class Dashboard:
    filterset: DashboardFilter
    tables: dict[str, Table]
    computed_at: datetime | None
    key_figures: KeyFigures | None
    chart: dict
    over_commitment: list[OverCommitment]
    active_filters: list[ActiveFilter]

    @property
    def cumulative(self) -> bool:
        return not self.filterset.narrows_tranches

    @property
    def province(self) -> str:
        return self.filterset.data_in_force.get("province", "")


def _chosen(tranches: list[Tranche], data: dict) -> list[Tranche]:
    return [
        tranche
        for tranche in tranches
        if (not data.get("scheme") or tranche.scheme.code == data["scheme"])
        and (not data.get("tranche") or tranche.slug == data["tranche"])
        and (not data.get("year") or str(tranche.year) == data["year"])
    ]


def _with_tranche(rows: list[TotalsRow], *, per_tranche: bool) -> list[TotalsRow]:
    return [row for row in rows if bool(row.tranche_id) == per_tranche]


def dashboard(*, params: QueryDict) -> Dashboard:
    """The dashboard for the filters in `params` (scheme, tranche, year, province, include_demo); invalid ones are
    ignored. Without a province the key figures and tranche tables are the scheme and tranche rows; with one, the
    province rows of the same tranches, which have no budget: budgets are set for the whole country."""
    tranches = list(
        Tranche.objects.select_related("scheme")
        .prefetch_related(Prefetch("amendments", queryset=TrancheAmendment.objects.order_by("effective_at")))
        .order_by("scheme__code", "-number")
    )
    if not includes_demo(params):
        tranches = [tranche for tranche in tranches if tranche.scheme.code != DEMO_SCHEME_CODE]
    filterset = DashboardFilter(params, queryset=TotalsRow.objects.with_dimensions(), tranches=tranches)
    by_scope: dict[str, list[TotalsRow]] = {}
    for row in filterset.qs:
        by_scope.setdefault(row.scope, []).append(row)
    data = filterset.data_in_force
    province = data.get("province")
    narrowed = filterset.narrows_tranches

    if province:
        provinces = by_scope.get(TotalsScope.PROVINCE, [])
        scheme_rows = _with_tranche(provinces, per_tranche=False)
        tranche_rows = _with_tranche(provinces, per_tranche=True)
        by_scope[TotalsScope.PROVINCE] = tranche_rows if narrowed else scheme_rows
    else:
        scheme_rows = by_scope.get(TotalsScope.SCHEME, [])
        tranche_rows = by_scope.get(TotalsScope.TRANCHE, [])
    tranche_rows = sorted(tranche_rows, key=_tranche_order)
    scheme_rows = sorted(scheme_rows, key=lambda row: row.scheme.code)

    tables = {code: Table(code=code, title=title, columns=columns) for code, (title, columns) in TABLES.items()}
    tables["overview"].rows = tables["tranches"].rows = tranche_rows
    tables["schemes"].rows = [] if narrowed else scheme_rows
    for code, scope in TABLE_SCOPES.items():
        tables[code].rows = sorted(by_scope.get(scope, []), key=SORT_KEYS[code])
    chosen = _chosen(tranches, data)
    tables["amendments"].rows = [amendment for tranche in chosen for amendment in tranche.amendments.all()]
    tables["published_figures"].rows = list(PublishedFigure.objects.all())
    titles = {tranche.title for tranche in chosen}
    over_commitment = [row for row in over_commitment_per_tranche() if row.tranche in titles]

    tables["amendments"].empty_text = _("No ceiling or closing has been changed.")
    tables["realisation"].empty_text = _("No progress reports yet.")
    if narrowed:
        tables["schemes"].empty_text = _(
            "This table adds up all tranches: clear the tranche and year filters to see it."
        )
    else:
        tables["tranche_target_groups"].empty_text = _("Choose a tranche or year to see its own target groups.")
    if not province:
        tables["municipalities"].empty_text = _("Choose a province to see its municipalities.")
    else:
        over_commitment = []
        for code in NATIONAL_TABLES:
            tables[code].rows = []
            tables[code].empty_text = _(
                "These figures are kept for the whole country, not per province: clear the province filter to see them."
            )
    if any(data.get(name) for name in ("scheme", "tranche", "year", "province")):
        tables["published_figures"].rows = []
        tables["published_figures"].empty_text = _(
            "Published figures concern the whole scheme as they were published: clear the filters to see them."
        )

    computed_at = max((row.computed_at for rows in by_scope.values() for row in rows), default=None)
    return Dashboard(
        filterset=filterset,
        tables=tables,
        computed_at=computed_at,
        key_figures=key_figures(tranche_rows if narrowed else scheme_rows),
        chart=chart_data(tranche_rows),
        over_commitment=over_commitment,
        active_filters=_active_filters(filterset, params),
    )
