"""What `load_demo` builds, read by tests that change nothing: the demo is loaded once for all of them.

The tests that load it again, with other settings or at another time, are in test_demo.py.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.services import AGENCY_GROUP
from allocation.models import DecisionOutcome
from applications.models import Application, Status, StatusChange, UnitLine
from demo.loading import DEMO_PASSWORD, DEMO_TRANCHE_SLUG, DEMO_USERS
from grants.models import RankingMethod, Tranche
from ministry.models import PublishedFigure
from ministry.selectors import tranche_totals

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(scope="module", autouse=True)
def demo(django_db_setup, django_db_blocker):
    """The demo, loaded once in a transaction that each test's own transaction nests in; rolled back at the end.

    Loading it takes seconds (three published tranches go through the real import and allocation), and these
    tests only read it. What the load leaves to run after commit, such as the ministry's totals, runs at once.
    """
    output = StringIO()
    with django_db_blocker.unblock(), transaction.atomic():
        with override_settings(DEBUG=True), TestCase.captureOnCommitCallbacks(execute=True):
            call_command("load_demo", stdout=output)
        yield output.getvalue()
        transaction.set_rollback(True)


def test_demo_logins_work_with_their_roles_and_municipalities():
    for spec in DEMO_USERS:
        user = authenticate(username=spec.username, password=DEMO_PASSWORD)
        assert user is not None, spec.username
        assert user.role == spec.role
        assert (user.municipality.code if user.municipality else None) == spec.municipality_code
        assert user.is_staff == user.is_agency
    assert set(Group.objects.get(name=AGENCY_GROUP).user_set.values_list("username", flat=True)) == {
        "rvo-beoordelaar",
        "rvo-goedkeurder",
    }


def test_output_names_the_urls_and_every_login(demo):
    output = demo
    assert "http://127.0.0.1:8000/" in output
    assert "http://127.0.0.1:8000/admin/" in output
    assert DEMO_PASSWORD in output
    for spec in DEMO_USERS:
        assert spec.username in output


def test_demo_tranche_is_open_now_with_explicit_money_rules():
    tranche = Tranche.objects.get(slug=DEMO_TRANCHE_SLUG)
    now = timezone.now()
    assert tranche.is_open_at(now)
    assert timezone.localtime(tranche.opens_at, AMSTERDAM).time().hour == 9
    assert timezone.localtime(tranche.closes_at, AMSTERDAM).time().hour == 17
    assert tranche.closes_at - now > timedelta(weeks=5)
    assert (tranche.budget_ceiling, tranche.max_per_permanent_unit, tranche.max_per_flexible_unit) == (
        Decimal("30000000.00"),
        Decimal("8500.00"),
        Decimal("7000.00"),
    )
    window = tranche.windows.get()
    assert set(window.eligible_target_groups.all()) == set(tranche.target_groups.all())


def test_demo_applications_are_fictitious_in_several_statuses_and_audited():
    applications = Application.objects.filter(tranche__slug=DEMO_TRANCHE_SLUG)
    assert all(application.is_demo for application in applications)
    assert {a.municipality.code for a in applications} == {"GM0344", "GM0363"}
    assert set(applications.values_list("status", flat=True)) == {
        Status.DRAFT,
        Status.SUBMITTED,
        Status.INFORMATION_REQUESTED,
        Status.IN_REVIEW,
        Status.ELIGIBLE,
        Status.INELIGIBLE,
    }
    for application in applications:
        trail = list(application.status_changes.order_by("at", "id"))
        assert trail[0].to_status == Status.DRAFT
        assert trail[-1].to_status == application.status
        assert all(change.actor_id for change in trail)
        assert application.unit_lines.exists()
    reasons = StatusChange.objects.filter(to_status__in=[Status.INFORMATION_REQUESTED, Status.INELIGIBLE])
    assert all(change.reason for change in reasons)


def test_demo_assessor_sees_the_received_demo_applications_in_the_back_office(client):
    assert client.login(username="rvo-beoordelaar", password=DEMO_PASSWORD)
    tranche = Tranche.objects.get(slug=DEMO_TRANCHE_SLUG)
    response = client.get(reverse("admin:applications_application_changelist"), {"tranche__id__exact": tranche.pk})
    assert response.status_code == 200
    shown = {application.project_name for application in response.context["cl"].result_list}
    received = Application.objects.filter(tranche=tranche).exclude(status=Status.DRAFT)
    assert shown == set(received.values_list("project_name", flat=True))


def test_2023_tranche_file_is_loaded_as_published():
    tranche = Tranche.objects.get(slug="rha-2023")
    assert (tranche.number, tranche.year, tranche.receipt_prefix) == (4, 2023, "RHA-2023")
    assert tranche.opens_at == datetime(2023, 5, 30, 9, 0, tzinfo=AMSTERDAM)
    assert tranche.closes_at == datetime(2023, 7, 7, 17, 0, tzinfo=AMSTERDAM)
    assert tranche.budget_ceiling == Decimal("34705000.00")
    assert (tranche.ranking_instant, tranche.last_application_rule) == ("completion", "skip")
    assert "onbevestigd" in tranche.source
    groups = dict(tranche.target_groups.values_list("code", "national_group__code"))
    assert len(groups) == 10
    assert groups["leaving_institution_under_27"] == groups["leaving_institution_27_plus"] == "leaving_institution"
    assert groups["social_urgency"] == groups["medical_urgency"] == "urgency"
    window = tranche.windows.get()
    assert window.ranking_method == RankingMethod.FIRST_COME_SAME_DAY_LOTTERY
    assert window.eligible_target_groups.count() == 10


def test_demo_reproduces_the_published_2023_outcome_through_the_real_allocation():
    tranche = Tranche.objects.get(slug="rha-2023")
    totals = tranche_totals(tranche=tranche, at=datetime(2024, 6, 1, tzinfo=AMSTERDAM))
    assert (totals.budget, totals.requested, totals.oversubscription) == (
        Decimal("34705000.00"),
        Decimal("49160354.00"),
        Decimal("14455354.00"),
    )
    assert (totals.applications_received, totals.municipalities_applied) == (131, 85)
    assert (totals.applications_granted, totals.municipalities_granted) == (97, 66)
    assert totals.amount_granted == Decimal("34705000.00")
    assert (totals.units_total, totals.units_permanent, totals.units_flexible) == (4365, 1432, 2933)
    assert totals.units_by_target_group == {
        "labour_migrants": 175,
        "homeless": 103,
        "leaving_institution_under_27": 140,
        "leaving_institution_27_plus": 118,
        "status_holders": 629,
        "students": 1857,
        "caravan_dwellers": 166,
        "social_urgency": 671,
        "medical_urgency": 186,
        "displaced_ukraine": 320,
    }
    assert not tranche.applications.filter(is_demo=False).exists()
    run = tranche.allocation_runs.get()
    assert run.is_confirmed and run.prepared_by.username == "rvo-beoordelaar"
    assert run.approved_by.username == "rvo-goedkeurder"


def test_demo_reproduces_the_published_2021_outcome_with_every_application_funded():
    tranche = Tranche.objects.get(slug="rha-2021")
    totals = tranche_totals(tranche=tranche, at=datetime(2024, 6, 1, tzinfo=AMSTERDAM))
    assert (totals.applications_received, totals.municipalities_applied) == (124, 83)
    assert (totals.applications_granted, totals.municipalities_granted) == (124, 83)
    assert totals.units_total == 8086
    short_stay = UnitLine.objects.filter(
        application__tranche=tranche,
        application__decisions__is_current=True,
        application__decisions__outcome=DecisionOutcome.GRANTED,
        housing_type__is_short_stay=True,
    ).aggregate(units=Sum("units"))["units"]
    assert (totals.units_total - short_stay, short_stay) == (6335, 1751)
    assert totals.amount_granted == totals.requested == Decimal("36052500.00")
    assert (totals.budget, totals.oversubscription) == (Decimal("50000000.00"), Decimal("0"))
    run = tranche.allocation_runs.get()
    assert run.is_confirmed and run.prepared_by.username == "rvo-beoordelaar"
    assert run.approved_by.username == "rvo-goedkeurder"


def test_demo_reproduces_the_published_2022_outcome_at_the_raised_ceiling():
    tranche = Tranche.objects.get(slug="rha-2022")
    totals = tranche_totals(tranche=tranche, at=datetime(2024, 6, 1, tzinfo=AMSTERDAM))
    assert (totals.applications_granted, totals.municipalities_granted) == (107, 76)
    assert totals.amount_granted == totals.budget == Decimal("52135000.00")
    assert (totals.units_total, totals.units_permanent, totals.units_flexible) == (7725, 2959, 4766)
    assert (totals.applications_received, totals.oversubscription) == (107, Decimal("0"))
    run = tranche.allocation_runs.get()
    assert run.is_confirmed and run.prepared_by.username == "rvo-beoordelaar"
    assert run.approved_by.username == "rvo-goedkeurder"


def test_demo_tranches_2021_to_2023_add_up_to_rvos_328_projects_and_20176_units():
    totals = [tranche_totals(tranche=Tranche.objects.get(slug=slug)) for slug in ("rha-2021", "rha-2022", "rha-2023")]
    assert sum(item.applications_granted for item in totals) == 328
    units = sum(item.units_total for item in totals)
    assert units == 20176 == PublishedFigure.objects.get(code="rvo-units-2021-2023").value


def test_dashboard_and_letter_count_the_units_of_every_demo_tranche_after_load_demo(client):
    assert client.login(username="bzk-analist", password=DEMO_PASSWORD)
    dashboard = client.get(reverse("ministry:dashboard")).context["dashboard"]
    schemes = {row.scheme.code: row for row in dashboard.tables["schemes"].rows}
    scheme = schemes["rha"]
    # RVO's 2021-2023 count: the 2024 round has no published outcome to reproduce.
    assert (scheme.applications_granted, scheme.units_granted) == (328, 20176)
    letter = client.get(reverse("ministry:progress_letter"), {"tranche": "rha-2022"}).context["paragraph"]
    assert letter.endswith("In totaal heeft de regeling tot nu toe bijgedragen aan 20.176 woningen.")


def test_demo_tranche_is_a_scheme_of_its_own_so_it_stays_out_of_the_ministry_figures():
    demo = Tranche.objects.get(slug=DEMO_TRANCHE_SLUG)
    assert demo.scheme.code == "demo"
    assert not Tranche.objects.filter(scheme__code="rha", slug=DEMO_TRANCHE_SLUG).exists()


def test_the_2024_rha_round_shows_no_invented_outcome():
    students_2024 = Tranche.objects.get(slug="rha-2024-studenten")
    assert not students_2024.applications.exists()
    totals = tranche_totals(tranche=students_2024)
    assert (totals.applications_granted, totals.amount_granted, totals.units_total) == (0, Decimal("0"), 0)


def test_the_woningbouwimpuls_student_homes_are_a_published_figure_of_another_scheme():
    figure = PublishedFigure.objects.get(code="woningbouwimpuls-6-student-homes")
    assert figure.value == 205
    assert "Woningbouwimpuls" in figure.label and "andere regeling" in figure.label
