"""Home, list and layout: what is shown, how money and time read, and what the pages cost in queries."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from grants.models import TrancheAmendment
from grants.templatetags.instants import describe_time_left, format_instant
from grants.templatetags.money import format_euro
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.portal import client_for, url

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("1234567"), "€\u00a01.234.567,00"),
        (Decimal("7000.5"), "€\u00a07.000,50"),
        (Decimal("0.005"), "€\u00a00,01"),
        (Decimal("999.994"), "€\u00a0999,99"),
        (0, "€\u00a00,00"),
        (Decimal("-1500.25"), "€\u00a0-1.500,25"),
    ],
)
def test_money_reads_the_dutch_way(amount, expected):
    assert format_euro(amount) == expected


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (timedelta(days=3, hours=4, minutes=59), "3 days and 4 hours left"),
        (timedelta(days=1), "1 day left"),
        (timedelta(days=2, minutes=30), "2 days left"),
        (timedelta(hours=5, minutes=1), "5 hours and 1 minute left"),
        (timedelta(minutes=7, seconds=30), "7 minutes left"),
        (timedelta(seconds=59), "less than a minute left"),
        (timedelta(0), "closed"),
        (timedelta(seconds=-1), "closed"),
    ],
)
def test_time_left_in_words(left, expected):
    now = datetime(2026, 3, 1, 12, 0, tzinfo=AMSTERDAM)
    with translation.override("en"):
        assert describe_time_left(now + left, now) == expected


def test_time_left_counts_elapsed_hours_across_the_end_of_summer_time():
    day_before = datetime(2026, 10, 24, 17, 0, tzinfo=AMSTERDAM)
    closing = datetime(2026, 10, 25, 17, 0, tzinfo=AMSTERDAM)
    with translation.override("en"):
        assert describe_time_left(closing, day_before) == "1 day and 1 hour left"


def test_time_left_in_dutch():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=AMSTERDAM)
    with translation.override("nl"):
        assert describe_time_left(now + timedelta(days=3, hours=4), now) == "nog 3 dagen en 4 uur"


def test_instants_are_shown_in_amsterdam_time_with_the_offset_of_their_day():
    with translation.override("nl"):
        assert format_instant(datetime(2026, 7, 1, 7, 0, tzinfo=ZoneInfo("UTC"))) == "1 juli 2026 09:00"
        assert format_instant(datetime(2026, 12, 1, 7, 0, tzinfo=ZoneInfo("UTC"))) == "1 december 2026 08:00"


@pytest.mark.django_db
def test_home_lists_open_tranches_with_deadline_in_force_and_apply_link():
    tranche = TrancheFactory(title="Vijfde tranche")
    TrancheFactory(title="Gesloten tranche", opens_at=tranche.opens_at - timedelta(days=90), closes_at=tranche.opens_at)
    extended = tranche.closes_at + timedelta(days=14)
    TrancheAmendment.objects.create(
        tranche=tranche,
        kind="closing",
        publication_reference="Stcrt. 2026, 1",
        effective_at=tranche.opens_at,
        old_closes_at=tranche.closes_at,
        new_closes_at=extended,
    )
    response = client_for(UserFactory()).get("/")
    html = response.content.decode()
    assert [item["tranche"] for item in response.context["tranches"]] == [tranche]
    assert response.context["tranches"][0]["closes_at"] == extended
    assert format_instant(extended) in html
    assert reverse("portal:application_create", args=[tranche.slug]) in html
    assert "Gesloten tranche" not in html


@pytest.mark.django_db
def test_home_shows_own_applications_with_receipt_units_and_total_in_dutch_money():
    editor = UserFactory()
    application = ApplicationFactory(
        municipality=editor.municipality,
        submitted=True,
        lines=[("homeless", 100, "permanent"), ("students", 76, "flexible")],
    )
    html = client_for(editor).get("/").content.decode()
    assert application.reference in html
    assert "submitted" in html
    assert ">176<" in html
    assert "€\u00a01.232.000,00" in html


@pytest.mark.django_db
@pytest.mark.parametrize(("trait", "lands_on"), [("assessor", "admin:index"), ("analyst", "ministry:dashboard")])
def test_agency_and_ministry_land_on_their_own_pages_instead_of_the_portal_home(trait, lands_on):
    response = client_for(UserFactory(**{trait: True})).get("/")
    assert response.status_code == 302 and response["Location"] == reverse(lands_on)


@pytest.mark.django_db
def test_layout_has_skip_link_user_municipality_logout_and_language_switch():
    editor = UserFactory(first_name="Fatima", last_name="Yilmaz")
    html = client_for(editor).get("/").content.decode()
    assert '<a class="nl-skip-link nl-skip-link--visible-on-focus" href="#main">' in html
    assert '<main id="main"' in html
    assert "Fatima Yilmaz" in html
    assert editor.municipality.name in html
    assert f'action="{reverse("logout")}"' in html
    assert f'action="{reverse("set_language")}"' in html


@pytest.mark.django_db
def test_language_switch_changes_the_interface_language():
    client = Client()
    client.force_login(UserFactory())
    dutch = client.get("/").content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = client.get("/").content.decode()
    assert '<html lang="nl"' in dutch
    assert "Open tranches" in english
    assert '<html lang="en"' in english
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


@pytest.mark.django_db
def test_login_page_renders_labelled_fields():
    html = Client().get(reverse("login")).content.decode()
    assert '<label class="utrecht-form-label" for="id_username">' in html
    assert '<label class="utrecht-form-label" for="id_password">' in html


@pytest.mark.django_db
def test_login_with_wrong_password_says_so_and_logout_ends_the_session():
    user = UserFactory(username="wethouder")
    client = Client()
    failed = client.post(reverse("login"), {"username": "wethouder", "password": "wrong"})
    assert failed.status_code == 200
    assert failed.context["form"].non_field_errors()
    assert (
        client.post(reverse("login"), {"username": "wethouder", "password": "correct-horse-battery"}).status_code == 302
    )
    client.post(reverse("logout"))
    assert client.get("/").status_code == 302
    assert user.is_active


@pytest.mark.django_db
def test_detail_shows_amounts_in_dutch_money():
    editor = UserFactory()
    application = ApplicationFactory(municipality=editor.municipality, lines=[("homeless", 3, "permanent")])
    html = client_for(editor).get(url("application_detail", application)).content.decode()
    assert "€\u00a021.000,00" in html


def _municipal_applications(editor, count):
    tranche = TrancheFactory()
    for index in range(count):
        ApplicationFactory(
            municipality=editor.municipality,
            tranche=tranche,
            submitted=index % 2 == 0,
            lines=[("homeless", 5, "permanent"), ("students", 3, "flexible")],
        )


# Session, user, the user's municipality for the header, open tranches with their amendments and windows, the
# tranches opening soon, the grants that need attention, the applications with their totals in one query, the
# tasks (and their open information requests, when there are tasks), and the unread notifications for the header.
HOME_QUERIES = 11
# Session, user, municipality, the page's count, the page's applications with totals, unread notifications.
LIST_QUERIES = 6


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 8])
def test_home_costs_a_fixed_number_of_queries(django_assert_num_queries, count):
    editor = UserFactory()
    _municipal_applications(editor, count)
    client = client_for(editor)
    with django_assert_num_queries(HOME_QUERIES):
        response = client.get("/")
    assert len(response.context["applications"]) == count


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 30])
def test_application_list_costs_a_fixed_number_of_queries(django_assert_num_queries, count):
    editor = UserFactory()
    _municipal_applications(editor, count)
    client = client_for(editor)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(reverse("portal:application_list"))
    assert response.context["page"].paginator.count == count
