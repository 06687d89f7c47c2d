"""Filters on stored totals, for the ministry's dashboard and the totals API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
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


class DashboardFilter(django_filters.FilterSet):
    """The dashboard's filters. Each applies to the tables it makes sense for, and leaves the others whole.

    - scheme: every table;
    - tranche and year: rows of the chosen tranches; without either, the breakdown tables show the
      cumulative rows over all tranches and the tranches' own target groups are left out; the scheme
      summary always stays;
    - province: the province and municipality tables.
    """

    scheme = django_filters.ChoiceFilter(label=_("Scheme"), empty_label=_("All schemes"))
    tranche = django_filters.ChoiceFilter(label=_("Tranche"), empty_label=_("All tranches"))
    year = django_filters.ChoiceFilter(label=_("Year"), empty_label=_("All years"))
    province = django_filters.ChoiceFilter(
        choices=Province.choices, label=_("Province"), empty_label=_("All provinces")
    )

    class Meta:
        model = TotalsRow
        fields = ["scheme", "tranche", "year", "province"]

    def __init__(self, *args, tranches, **kwargs):
        super().__init__(*args, **kwargs)
        schemes = {tranche.scheme.code: tranche.scheme.name for tranche in tranches}
        self.filters["scheme"].extra["choices"] = sorted(schemes.items())
        self.filters["tranche"].extra["choices"] = [(tranche.slug, tranche.title) for tranche in tranches]
        years = sorted({tranche.year for tranche in tranches}, reverse=True)
        self.filters["year"].extra["choices"] = [(str(year), str(year)) for year in years]

    @property
    def narrows_tranches(self) -> bool:
        """Whether a tranche or year is chosen; without one, the breakdown tables are cumulative."""
        self.form.is_valid()  # validates: fields that pass stay in cleaned_data when another one fails
        data = getattr(self.form, "cleaned_data", {})
        return bool(data.get("tranche") or data.get("year"))

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        if data.get("scheme"):
            queryset = queryset.filter(scheme__code=data["scheme"])
        per_tranche = Q()
        if data.get("tranche"):
            per_tranche &= Q(tranche__slug=data["tranche"])
        if data.get("year"):
            per_tranche &= Q(tranche__year=data["year"])
        if per_tranche:
            queryset = queryset.filter(per_tranche | Q(scope=TotalsScope.SCHEME))
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
