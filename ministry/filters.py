"""Filters on stored totals, for the ministry's dashboard and the totals API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from grants.models import Province

from .models import TotalsRow, TotalsScope

# Breakdown scopes that hold per-tranche rows and cumulative rows (empty tranche) side by side.
BREAKDOWN_SCOPES = (
    TotalsScope.PROVINCE,
    TotalsScope.MUNICIPALITY,
    TotalsScope.TARGET_GROUP,
    TotalsScope.HOUSING_TYPE,
    TotalsScope.PERMANENCE,
    TotalsScope.COMPLETION_YEAR,
)
PROVINCE_SCOPES = (TotalsScope.PROVINCE, TotalsScope.MUNICIPALITY)
# The fictitious scheme of `load_demo` (demo/loading.py, demo_tranche_data): its demo tranche is open for trying the
# portal. Its figures are counted only when asked for. The 2021-2023 tranches of the real scheme hold fictitious
# applications too, made to reproduce the published outcomes: those are the scheme's figures and always count.
DEMO_SCHEME_CODE = "demo"
INCLUDE_DEMO = "include_demo"


def includes_demo(params: QueryDict) -> bool:
    """Whether the dashboard's checkbox asks for the demonstration data; it decides the choices of the other filters."""
    return forms.CheckboxInput().value_from_datadict(params, {}, INCLUDE_DEMO)


class TotalsFilter(django_filters.FilterSet):
    """Plain filters on totals rows: each narrows every row it can apply to."""

    scope = django_filters.ChoiceFilter(choices=TotalsScope.choices)
    scheme = django_filters.CharFilter(field_name="scheme__code", label=_("scheme"))
    tranche = django_filters.CharFilter(field_name="tranche__slug", label=_("tranche"))
    year = django_filters.NumberFilter(field_name="tranche__year", label=_("year"))
    province = django_filters.ChoiceFilter(choices=Province.choices, label=_("province"))
    cumulative = django_filters.BooleanFilter(
        field_name="tranche", lookup_expr="isnull", label=_("cumulative over all tranches")
    )

    class Meta:
        model = TotalsRow
        fields = ["scope", "scheme", "tranche", "year", "province", "cumulative"]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        # As on the dashboard, the demo scheme counts only when asked for: here by naming it or one of its tranches.
        if not (self.form.cleaned_data.get("scheme") or self.form.cleaned_data.get("tranche")):
            queryset = queryset.exclude(scheme__code=DEMO_SCHEME_CODE)
        return queryset


class DashboardFilter(django_filters.FilterSet):
    """The dashboard's filters; every figure on the page follows them (ministry.dashboard says how).

    - scheme, tranche, year: the rows of the chosen scheme and tranches; without a tranche or year, the breakdowns
      are the rows cumulated over all tranches;
    - province: the rows of that province, where the stored totals have them (ministry.dashboard);
    - include_demo: the demo scheme of `load_demo`, left out unless asked for.
    """

    scheme = django_filters.ChoiceFilter(label=_("Scheme"), empty_label=_("All schemes"))
    tranche = django_filters.ChoiceFilter(label=_("Tranche"), empty_label=_("All tranches"))
    year = django_filters.ChoiceFilter(label=_("Year"), empty_label=_("All years"))
    province = django_filters.ChoiceFilter(
        choices=Province.choices, label=_("Province"), empty_label=_("All provinces")
    )
    include_demo = django_filters.BooleanFilter(
        label=_("Including demonstration data"), widget=forms.CheckboxInput, method="keep"
    )

    class Meta:
        model = TotalsRow
        fields = ["scheme", "tranche", "year", "province", "include_demo"]

    def __init__(self, *args, tranches, **kwargs):
        """`tranches`: those the choices offer, the demo scheme's already left out unless asked for."""
        super().__init__(*args, **kwargs)
        schemes = {tranche.scheme.code: tranche.scheme.name for tranche in tranches}
        self.filters["scheme"].extra["choices"] = sorted(schemes.items())
        self.filters["tranche"].extra["choices"] = [(tranche.slug, tranche.title) for tranche in tranches]
        years = sorted({tranche.year for tranche in tranches}, reverse=True)
        self.filters["year"].extra["choices"] = [(str(year), str(year)) for year in years]

    @property
    def data_in_force(self) -> dict:
        """The filters that passed validation: a field that fails is left out, the others stay."""
        self.form.is_valid()
        return {name: value for name, value in getattr(self.form, "cleaned_data", {}).items() if value}

    @property
    def narrows_tranches(self) -> bool:
        """Whether a tranche or year is chosen; without one, the breakdown tables are cumulative."""
        data = self.data_in_force
        return bool(data.get("tranche") or data.get("year"))

    def keep(self, queryset: QuerySet, name: str, value) -> QuerySet:
        # Applied with the others in filter_queryset: whether the demo counts changes the choices as well.
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        if not data.get("include_demo"):
            queryset = queryset.exclude(scheme__code=DEMO_SCHEME_CODE)
        if data.get("scheme"):
            queryset = queryset.filter(scheme__code=data["scheme"])
        per_tranche = Q()
        if data.get("tranche"):
            per_tranche &= Q(tranche__slug=data["tranche"])
        if data.get("year"):
            per_tranche &= Q(tranche__year=data["year"])
        if per_tranche:
            queryset = queryset.filter(per_tranche | Q(scope=TotalsScope.SCHEME))
        elif data.get("province"):
            # The tranche table of a province is made of its per-tranche province rows.
            queryset = queryset.exclude(
                ~Q(scope=TotalsScope.PROVINCE), scope__in=BREAKDOWN_SCOPES, tranche__isnull=False
            ).exclude(scope=TotalsScope.TRANCHE_TARGET_GROUP)
        else:
            # Cumulative breakdowns only; a tranche's own target groups make sense for a chosen tranche or year.
            queryset = queryset.exclude(scope__in=BREAKDOWN_SCOPES, tranche__isnull=False).exclude(
                scope=TotalsScope.TRANCHE_TARGET_GROUP
            )
        if data.get("province"):
            queryset = queryset.filter(Q(province=data["province"]) | ~Q(scope__in=PROVINCE_SCOPES))
        else:
            # A municipality table of the whole country is too long to read; it shows for a chosen province.
            queryset = queryset.exclude(scope=TotalsScope.MUNICIPALITY)
        return queryset
