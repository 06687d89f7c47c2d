"""Every filter of the dashboard applies to every figure on it, the active filters are listed and removable, and the
demo scheme counts only when asked for, on the dashboard and in the totals API."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from demo.loading import demo_tranche_data
from ministry.filters import DEMO_SCHEME_CODE
from ministry.services import store_totals
from tests.factories import SchemeFactory, TrancheFactory
from tests.figures import client_for, user, varied_data

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("ministry:dashboard")


@pytest.fixture
def data():
    varied = varied_data()
    TrancheFactory(
        scheme=SchemeFactory(code=DEMO_SCHEME_CODE, name="Demoregeling (fictief)"),
        slug="rha-demo",
        title="Demotranche",
        year=2026,
        budget_ceiling=Decimal("30000000.00"),
    )
    store_totals()
    return varied


def _get(params=None):
    with override("en"):
        response = client_for(user(analyst=True)).get(DASHBOARD, params or {})
    assert response.status_code == 200
    return response


def _dashboard(params=None):
    return _get(params).context["dashboard"]


def test_without_filters_the_key_figures_add_up_all_tranches_of_the_scheme(data):
    figures = _dashboard().key_figures

    assert figures.budget == Decimal("1620000.00")  # 120.000 + 1.000.000 + 500.000; not the demo's 30 million
    assert figures.requested == Decimal("182000.00")
    assert (figures.applications_granted, figures.municipalities_granted) == (4, 3)  # Amsterdam in both tranches
    assert (figures.units_granted, figures.units_permanent, figures.units_flexible) == (24, 11, 13)


def test_tranche_filter_changes_the_key_figures_and_every_table(data):
    dashboard = _dashboard({"tranche": data.older.slug})

    figures = dashboard.key_figures
    assert (figures.budget, figures.requested, figures.oversubscription) == (
        Decimal("120000.00"),
        Decimal("140000.00"),
        Decimal("20000.00"),
    )
    assert (figures.applications_granted, figures.municipalities_granted) == (2, 2)
    assert (figures.units_permanent, figures.units_flexible) == (5, 13)
    assert [row.tranche for row in dashboard.tables["overview"].rows] == [data.older]
    assert [row.tranche for row in dashboard.tables["tranches"].rows] == [data.older]
    assert {row.tranche for row in dashboard.tables["provinces"].rows} == {data.older}
    assert [amendment.tranche for amendment in dashboard.tables["amendments"].rows] == [data.older]
    # The tables of all tranches together and the published figures say why they are empty.
    assert dashboard.tables["schemes"].rows == []
    assert dashboard.tables["published_figures"].rows == []
    with override("en"):
        assert "clear the filters" in str(dashboard.tables["published_figures"].empty_text)
    assert dashboard.chart["labels"] == [data.older.title]


def test_province_filter_changes_the_key_figures_and_the_tranche_table(data):
    dashboard = _dashboard({"province": "Utrecht"})

    figures = dashboard.key_figures
    # Utrecht's two applications in the older tranche: 5 + 3 units granted, 2 refused; € 56.000 + € 14.000 asked.
    assert figures.requested == Decimal("70000.00")
    assert (figures.units_granted, figures.units_permanent, figures.units_flexible) == (8, 5, 3)
    assert (figures.applications_granted, figures.municipalities_granted) == (1, 1)
    # Budgets are set for the whole country: a province has none, and no oversubscription.
    assert (figures.budget, figures.oversubscription) == (None, None)
    [row] = dashboard.tables["tranches"].rows
    assert (row.tranche, row.province, row.units_granted, row.budget) == (data.older, "Utrecht", 8, None)
    assert dashboard.chart["units"] == {"permanent": [5], "flexible": [3]}
    assert [row.scheme.code for row in dashboard.tables["schemes"].rows] == ["rha"]
    assert dashboard.tables["schemes"].rows[0].units_granted == 8


def test_province_filter_says_so_on_the_tables_kept_for_the_whole_country(data):
    response = _get({"province": "Utrecht", "tab": "tranches"})

    dashboard = response.context["dashboard"]
    for table in ["windows", "amendments", "target_groups", "tranche_target_groups", "housing_types", "realisation"]:
        assert dashboard.tables[table].rows == [], table
        with override("en"):
            assert "not per province" in str(dashboard.tables[table].empty_text)
    assert "not per province" in response.content.decode()


def test_year_filter_over_two_tranches_leaves_the_municipalities_out_of_the_sum(data):
    TrancheFactory(number=8, year=2024)
    store_totals()

    figures = _dashboard({"year": "2024"}).key_figures

    assert figures.municipalities_granted is None
    assert figures.units_granted == 6


def test_active_filters_are_listed_each_with_a_link_that_removes_it(data):
    response = _get({"tranche": data.older.slug, "province": "Utrecht", "tab": "uitsplitsingen"})

    active = response.context["dashboard"].active_filters
    assert [(item.label, item.value) for item in active] == [("Tranche", data.older.title), ("Province", "Utrecht")]
    assert [item.remove_query for item in active] == ["province=Utrecht", f"tranche={data.older.slug}"]
    content = response.content.decode()
    assert "Active filters" in content
    assert 'href="?province=Utrecht&amp;tab=uitsplitsingen"' in content
    assert 'href="?tab=uitsplitsingen">Clear all filters' in content


def test_without_filters_the_page_says_none_are_active(data):
    response = _get()

    assert response.context["dashboard"].active_filters == []
    assert "without the demonstration data" in response.content.decode()


def test_demo_scheme_is_left_out_by_default(data):
    dashboard = _dashboard()

    assert [row.scheme.code for row in dashboard.tables["schemes"].rows] == ["rha"]
    assert "Demotranche" not in [row.tranche.title for row in dashboard.tables["tranches"].rows]
    form = dashboard.filterset.form
    assert DEMO_SCHEME_CODE not in dict(form.fields["scheme"].choices)
    assert "rha-demo" not in dict(form.fields["tranche"].choices)


def test_demo_scheme_is_counted_when_asked_for(data):
    dashboard = _dashboard({"include_demo": "on"})

    assert [row.scheme.code for row in dashboard.tables["schemes"].rows] == [DEMO_SCHEME_CODE, "rha"]
    assert "Demotranche" in [row.tranche.title for row in dashboard.tables["tranches"].rows]
    assert dashboard.key_figures.budget == Decimal("31620000.00")
    assert [(item.label, item.value) for item in dashboard.active_filters] == [("Including demonstration data", "")]
    assert _dashboard({"include_demo": "on", "tranche": "rha-demo"}).tables["tranches"].rows[0].tranche.slug == (
        "rha-demo"
    )


def test_demo_scheme_code_is_the_one_load_demo_makes():
    scheme = demo_tranche_data(now=timezone.now(), existing=None)["scheme"]

    assert scheme["code"] == DEMO_SCHEME_CODE


def test_totals_api_leaves_the_demo_scheme_out_unless_it_is_named(data):
    analyst = client_for(user(analyst=True))
    totals = reverse("api:totals-list")

    default = analyst.get(totals, {"scope": "scheme"}).json()["results"]
    named = analyst.get(totals, {"scope": "scheme", "scheme": DEMO_SCHEME_CODE}).json()["results"]
    by_tranche = analyst.get(totals, {"scope": "tranche", "tranche": "rha-demo"}).json()["results"]

    assert [row["scheme"] for row in default] == ["rha"]
    assert [row["scheme"] for row in named] == [DEMO_SCHEME_CODE]
    assert [row["tranche"] for row in by_tranche] == ["rha-demo"]
