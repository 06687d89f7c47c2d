from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from accounts.api import api_urls
from grants.models import AmendmentKind, TrancheAmendment
from ministry import api as ministry_api
from ministry.services import store_totals
from tests.factories import TrancheFactory
from tests.figures import client_for, more_data, user, varied_data

pytestmark = pytest.mark.django_db

TRANCHES = reverse("api:tranche-list")
TOTALS = reverse("api:totals-list")
# Session, user, page count, tranches with their scheme, amendments, windows.
TRANCHE_LIST_QUERIES = 6
# Session, user, page count, totals rows, one per kind of dimension on the page (at most seven).
TOTALS_LIST_QUERIES = 11


@pytest.fixture
def data():
    varied_data_set = varied_data()
    store_totals()
    return varied_data_set


@pytest.fixture
def analyst():
    return client_for(user(analyst=True))


def test_tranches_list_the_ceiling_in_force_and_its_history(analyst, data):
    response = analyst.get(TRANCHES, {"year": "2023"})

    assert response.status_code == 200
    [tranche] = response.json()["results"]
    assert tranche["slug"] == data.older.slug
    assert (tranche["budget_ceiling"], tranche["ceiling_in_force"]) == ("100000.00", "120000.00")
    assert [(a["kind"], a["old_ceiling"], a["new_ceiling"]) for a in tranche["amendments"]] == [
        ("ceiling", "100000.00", "120000.00")
    ]
    assert [window["code"] for window in tranche["windows"]] == ["all"]


def test_tranche_list_reads_a_fixed_number_of_queries(analyst, django_assert_num_queries):
    TrancheFactory()
    with django_assert_num_queries(TRANCHE_LIST_QUERIES):
        analyst.get(TRANCHES)

    for _ in range(3):
        tranche = TrancheFactory()
        TrancheAmendment.objects.create(
            tranche=tranche,
            kind=AmendmentKind.CLOSING,
            publication_reference=f"Stcrt. {tranche.pk}",
            effective_at=timezone.now() - timedelta(hours=1),
            old_closes_at=tranche.closes_at,
            new_closes_at=tranche.closes_at + timedelta(days=7),
        )

    with django_assert_num_queries(TRANCHE_LIST_QUERIES):
        response = analyst.get(TRANCHES)
    assert response.json()["count"] == 4


def test_closing_in_force_follows_an_extension(analyst):
    tranche = TrancheFactory()
    TrancheAmendment.objects.create(
        tranche=tranche,
        kind=AmendmentKind.CLOSING,
        publication_reference="Stcrt. 2022, 25169",
        effective_at=timezone.now() - timedelta(hours=1),
        old_closes_at=tranche.closes_at,
        new_closes_at=tranche.closes_at + timedelta(days=35),
    )

    [result] = analyst.get(TRANCHES).json()["results"]

    assert result["closes_at_in_force"] > result["closes_at"]


def test_totals_filter_by_scope_and_tranche(analyst, data):
    response = analyst.get(TOTALS, {"scope": "tranche", "tranche": data.older.slug})

    [row] = response.json()["results"]
    assert row["tranche"] == data.older.slug
    assert (row["budget"], row["requested"], row["oversubscription"]) == ("120000.00", "140000.00", "20000.00")
    assert (row["applications_granted"], row["municipalities_granted"], row["amount_granted"]) == (2, 2, "100000.00")
    assert (row["units_granted"], row["units_permanent"], row["units_flexible"]) == (18, 5, 13)


def test_totals_filter_by_province_and_cumulative(analyst, data):
    response = analyst.get(TOTALS, {"scope": "province", "province": "Noord-Holland", "cumulative": "true"})

    [row] = response.json()["results"]
    assert (row["tranche"], row["units_granted"], row["amount_granted"]) == (None, 14, "72000.00")


def test_totals_by_target_group_name_the_national_group(analyst, data):
    response = analyst.get(TOTALS, {"scope": "tranche_target_group", "tranche": data.older.slug})

    rows = response.json()["results"]
    assert {row["tranche_target_group"]: row["target_group"] for row in rows} == {
        "homeless": "homeless",
        "students": "students",
        "social_urgency": "urgency",
        "medical_urgency": "urgency",
    }


def test_totals_with_an_unknown_scope_is_a_bad_request(analyst, data):
    assert analyst.get(TOTALS, {"scope": "galaxy"}).status_code == 400


@pytest.mark.parametrize("params", [{}, {"scope": "municipality"}, {"scope": "tranche_target_group"}])
def test_totals_list_reads_a_fixed_number_of_queries(analyst, data, django_assert_num_queries, params):
    with CaptureQueriesContext(connection) as before:
        analyst.get(TOTALS, params)

    more_data()
    store_totals()

    with django_assert_num_queries(len(before)):
        analyst.get(TOTALS, params)
    assert len(before) <= TOTALS_LIST_QUERIES


def test_letter_endpoint_gives_the_paragraph(analyst, data):
    response = analyst.get(reverse("api:tranche-letter", args=[data.older.slug]))

    assert response.status_code == 200
    body = response.json()
    assert body["language"] == "nl"
    assert body["text"].startswith("In de vierde tranche (2023) was een budget beschikbaar van € 120.000.")


def test_letter_endpoint_before_totals_are_computed_is_not_found(analyst):
    tranche = TrancheFactory()

    assert analyst.get(reverse("api:tranche-letter", args=[tranche.slug])).status_code == 404


def test_agency_staff_may_read_the_api(data, analyst):
    response = client_for(user(assessor=True)).get(TOTALS)

    assert response.status_code == 200
    assert response.json() == analyst.get(TOTALS).json()


@pytest.mark.parametrize("url", [TRANCHES, TOTALS])
def test_municipal_user_is_forbidden(data, url):
    response = client_for(user(signatory=True)).get(url)

    assert response.status_code == 403


def test_municipal_user_cannot_read_a_letter(data):
    response = client_for(user(signatory=True)).get(reverse("api:tranche-letter", args=[data.older.slug]))

    assert response.status_code == 403


@pytest.mark.parametrize("url", [TRANCHES, TOTALS])
def test_anonymous_visitor_is_refused(client, url):
    assert client.get(url).status_code == 403


def test_api_is_read_only(analyst, data):
    assert analyst.post(TOTALS, {}).status_code == 405
    assert analyst.delete(reverse("api:tranche-detail", args=[data.older.slug])).status_code == 405


def test_schema_of_these_endpoints_generates_without_warnings():
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/", include((api_urls(ministry_api), "api")))])

    schema = generator.get_schema(request=None, public=True)

    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache
    assert set(schema["paths"]) == {
        "/api/v1/totals/",
        "/api/v1/tranches/",
        "/api/v1/tranches/{slug}/",
        "/api/v1/tranches/{slug}/letter/",
    }
    totals_parameters = {parameter["name"] for parameter in schema["paths"]["/api/v1/totals/"]["get"]["parameters"]}
    assert {"scope", "scheme", "tranche", "year", "province", "cumulative"} <= totals_parameters


def test_project_schema_includes_the_ministry_endpoints(analyst):
    response = analyst.get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 200
    assert "/api/v1/tranches/{slug}/letter/" in response.json()["paths"]


def test_amounts_are_strings_with_cents_never_floats(analyst, data):
    [row] = analyst.get(TOTALS, {"scope": "scheme"}).json()["results"]

    assert isinstance(row["amount_granted"], str)
    assert Decimal(row["amount_granted"]) == Decimal("142000.00")
