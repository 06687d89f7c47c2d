from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ministry.services import store_totals
from tests.factories import ApplicationFactory, SchemeFactory, TrancheFactory
from tests.figures import allocate, client_for, more_data, user, varied_data

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("ministry:dashboard")
# Session, user, tranches, their amendments, stored totals, one per kind of dimension (at most seven),
# published figures, the over-commitment after objections, unread notifications for the header.
DASHBOARD_QUERIES = 15


def _dashboard(params=None, viewer=None):
    response = client_for(viewer or user(analyst=True)).get(DASHBOARD, params or {})
    assert response.status_code == 200
    return response.context["dashboard"]


@pytest.fixture
def data():
    varied_data_set = varied_data()
    store_totals()
    return varied_data_set


def test_ministry_analyst_sees_the_totals_per_tranche(data):
    response = client_for(user(analyst=True)).get(DASHBOARD)

    assert response.status_code == 200
    rows = response.context["dashboard"].tables["tranches"].rows
    assert [row.tranche for row in rows] == [data.empty, data.newer, data.older]
    assert data.older.title in response.content.decode()


def test_agency_staff_see_the_dashboard_too(data):
    response = client_for(user(approver=True)).get(DASHBOARD)

    assert response.status_code == 200
    assert [row.tranche for row in response.context["dashboard"].tables["tranches"].rows] == [
        data.empty,
        data.newer,
        data.older,
    ]


@pytest.mark.parametrize("name", ["ministry:dashboard", "ministry:progress_letter"])
def test_municipal_user_is_forbidden(name):
    response = client_for(user(signatory=True)).get(reverse(name))

    assert response.status_code == 403


@pytest.mark.parametrize(
    "url",
    [DASHBOARD, reverse("ministry:progress_letter"), reverse("ministry:export", args=["tranches", "csv"])],
)
def test_anonymous_visitor_is_sent_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"province": "Utrecht"},
        {"tranche": "test-older"},
        {"year": "2023", "province": "Utrecht"},
        {"include_demo": "on", "tab": "tranches"},
        {"province": "Utrecht", "tab": "uitsplitsingen"},
    ],
)
def test_dashboard_reads_a_fixed_number_of_queries(django_assert_num_queries, params):
    client = client_for(user(analyst=True))
    varied_data(older_slug="test-older")
    store_totals()
    with CaptureQueriesContext(connection) as before:
        client.get(DASHBOARD, params)

    more_data()
    store_totals()

    with django_assert_num_queries(len(before)):
        client.get(DASHBOARD, params)
    assert len(before) <= DASHBOARD_QUERIES


def test_dashboard_reads_stored_totals_not_applications(data):
    client = client_for(user(analyst=True))

    with CaptureQueriesContext(connection) as queries:
        client.get(DASHBOARD, {"tranche": data.older.slug, "province": "Utrecht"})

    tables = ['"applications_application"', '"applications_unitline"', '"allocation_decision"']
    # The over-commitment after objections is the one read of the decisions in force: a few rows, one query.
    reads = [query["sql"] for query in queries if '"over_commitment"' not in query["sql"]]
    assert not [sql for sql in reads if any(table in sql for table in tables)]


def test_without_tranche_or_year_the_breakdowns_are_cumulative(data):
    dashboard = _dashboard()

    assert dashboard.cumulative
    for table in ["provinces", "target_groups", "housing_types"]:
        assert dashboard.tables[table].rows
        assert {row.tranche for row in dashboard.tables[table].rows} == {None}
    assert dashboard.tables["tranche_target_groups"].rows == []


def test_filter_by_tranche_shows_that_tranche_only(data):
    dashboard = _dashboard({"tranche": data.older.slug})

    assert not dashboard.cumulative
    assert [row.tranche for row in dashboard.tables["tranches"].rows] == [data.older]
    assert {row.tranche for row in dashboard.tables["provinces"].rows} == {data.older}
    assert {row.province: row.units_granted for row in dashboard.tables["provinces"].rows} == {
        "Utrecht": 8,
        "Noord-Holland": 10,
    }
    assert {row.tranche_target_group.code for row in dashboard.tables["tranche_target_groups"].rows} == {
        "homeless",
        "students",
        "social_urgency",
        "medical_urgency",
    }


def test_filter_by_year_shows_the_tranches_of_that_year(data):
    dashboard = _dashboard({"year": "2024"})

    assert [row.tranche for row in dashboard.tables["tranches"].rows] == [data.newer]
    assert {row.tranche for row in dashboard.tables["target_groups"].rows} == {data.newer}


def test_filter_by_province_narrows_the_province_and_municipality_tables(data):
    dashboard = _dashboard({"province": "Utrecht"})

    assert [row.province for row in dashboard.tables["provinces"].rows] == ["Utrecht"]
    municipalities = dashboard.tables["municipalities"].rows
    assert [(row.municipality.code, row.units_granted) for row in municipalities] == [("GM0344", 8)]
    # Only the older tranche had applications from Utrecht.
    assert [(row.tranche, row.units_granted) for row in dashboard.tables["tranches"].rows] == [(data.older, 8)]


def test_municipality_table_waits_for_a_province(data):
    dashboard = _dashboard()

    assert dashboard.tables["municipalities"].rows == []
    assert "province" in str(dashboard.tables["municipalities"].empty_text)


def test_filter_by_scheme_leaves_out_other_schemes(data):
    other = TrancheFactory(scheme=SchemeFactory(code="other", name="Andere regeling"))
    store_totals()

    dashboard = _dashboard({"scheme": "other"})

    assert [row.tranche for row in dashboard.tables["tranches"].rows] == [other]
    assert [row.scheme.code for row in dashboard.tables["schemes"].rows] == ["other"]


def test_filter_values_that_are_not_choices_are_reported_and_ignored(data):
    response = client_for(user(analyst=True)).get(DASHBOARD, {"tranche": "nope", "province": "Utrecht"})

    dashboard = response.context["dashboard"]
    assert "tranche" in dashboard.filterset.form.errors
    assert [row.tranche for row in dashboard.tables["tranches"].rows] == [data.older]
    assert [row.province for row in dashboard.tables["provinces"].rows] == ["Utrecht"]


def test_scheme_summary_states_the_cumulative_units_with_its_definition(data):
    response = client_for(user(analyst=True)).get(DASHBOARD)

    content = response.content.decode()
    assert "has contributed to 24 homes so far" in content
    assert "a partial grant counts all units" in content


def test_published_figures_are_shown_apart_with_their_sources(data):
    response = client_for(user(analyst=True)).get(DASHBOARD, {"tab": "gepubliceerd"})

    figures = response.context["dashboard"].tables["published_figures"].rows
    assert {figure.value for figure in figures} == {20176, 21380, 205}
    assert all(figure.source for figure in figures)
    content = response.content.decode()
    assert "20,176" in content
    # The student homes of the letter are shown as what they are: a figure of another scheme.
    assert "Woningbouwimpuls" in content


def test_amendment_history_shows_the_raised_ceiling(data):
    dashboard = _dashboard({"tranche": data.older.slug})

    [amendment] = dashboard.tables["amendments"].rows
    assert (amendment.old_ceiling, amendment.new_ceiling) == (Decimal("100000.00"), Decimal("120000.00"))
    assert dashboard.tables["tranches"].rows[0].budget == Decimal("120000.00")


def test_realisation_without_progress_reports_says_so(data):
    response = client_for(user(analyst=True)).get(DASHBOARD, {"tab": "realisatie"})

    assert response.context["dashboard"].tables["realisation"].rows == []
    assert "No progress reports yet." in response.content.decode()


def test_charts_and_key_figures_show_units_permanent_and_flexible(data):
    response = client_for(user(analyst=True)).get(DASHBOARD, {"tranche": data.older.slug})

    chart = response.context["dashboard"].chart
    assert chart["labels"] == [data.older.title]
    assert chart["units"] == {"permanent": [5], "flexible": [13]}
    assert chart["money"] == {"budget": [120000.0], "requested": [140000.0], "granted": [100000.0]}
    content = response.content.decode()
    assert "5 permanent, 13 flexible" in content
    assert 'id="dashboard-chart"' in content


def test_dashboard_before_any_refresh_says_the_totals_are_not_computed():
    TrancheFactory()

    response = client_for(user(analyst=True)).get(DASHBOARD)

    assert response.context["dashboard"].computed_at is None
    assert "have not been computed yet" in response.content.decode()


def test_dashboard_shows_new_grants_only_after_the_refresh():
    tranche = TrancheFactory()
    store_totals()
    ApplicationFactory(eligible=True, tranche=tranche, lines=[("homeless", 4, "permanent")])
    allocate(tranche)

    before = _dashboard().tables["tranches"].rows[0]
    store_totals()
    after = _dashboard().tables["tranches"].rows[0]

    assert (before.units_granted, after.units_granted) == (0, 4)


def test_dashboard_in_dutch_formats_numbers_the_dutch_way(data):
    response = client_for(user(analyst=True), language="nl").get(DASHBOARD, {"tranche": data.older.slug})

    content = response.content.decode()
    assert "Totalen van de regeling" in content
    assert "€\u00a0120.000,00" in content
    assert "5 permanent, 13 flexibel" in content
