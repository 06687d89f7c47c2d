"""Overdue detection around the decision's deadlines, on both sides: the municipality's pages and the back office."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.services import sync_agency_group
from applications.models import Application
from realisation.selectors import grants_with_progress
from realisation.services import confirm_settlement, prepare_settlement
from tests.factories import UserFactory
from tests.portal import client_for
from tests.progress import granted, submit

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def at(day: date, hour: int = 12, minute: int = 0):
    """Travel to a clock time in Amsterdam on `day`."""
    return time_machine.travel(datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM), tick=False)


def status(application: Application) -> Application:
    """The application as the municipality's own lists see it today."""
    user = UserFactory(municipality=application.municipality)
    return grants_with_progress(user=user, today=timezone.localdate()).get(pk=application.pk)


@pytest.fixture
def grant():
    return granted()


@pytest.mark.parametrize(("days_after_deadline", "missed"), [(-1, False), (0, False), (1, True)])
def test_start_without_a_report_is_missed_from_the_day_after_the_deadline(grant, days_after_deadline, missed):
    deadline = grant.decision.start_construction_by

    with at(deadline + timedelta(days=days_after_deadline)):
        seen = status(grant)

    assert seen.next_report_due == deadline
    assert (seen.start_missed, seen.report_overdue) == (missed, missed)
    assert not seen.completion_missed


def test_the_deadline_runs_to_midnight_in_amsterdam_not_in_utc(grant):
    deadline = grant.decision.start_construction_by

    with at(deadline, 23, 59):
        assert not status(grant).report_overdue
    # 00:01 in Amsterdam is still the deadline day in UTC.
    with at(deadline + timedelta(days=1), 0, 1):
        assert status(grant).report_overdue


def test_start_reported_in_time_moves_the_next_report_to_the_completion_deadline(grant):
    deadline = grant.decision.start_construction_by
    with at(deadline - timedelta(days=10)):
        submit(grant, started=deadline - timedelta(days=20))

    with at(deadline + timedelta(days=1)):
        seen = status(grant)

    assert seen.next_report_due == grant.decision.complete_by
    assert not (seen.start_missed or seen.report_overdue)


def test_a_late_start_is_a_missed_start_but_no_overdue_report(grant):
    deadline = grant.decision.start_construction_by
    with at(deadline + timedelta(days=10)):
        submit(grant, started=deadline + timedelta(days=5))
        seen = status(grant)

    assert seen.start_missed
    assert not seen.report_overdue
    assert seen.started_on == deadline + timedelta(days=5)


@pytest.mark.parametrize(("days_after_deadline", "missed"), [(-1, False), (0, False), (1, True)])
def test_completion_without_a_report_is_missed_from_the_day_after_the_deadline(grant, days_after_deadline, missed):
    start_by, complete_by = grant.decision.start_construction_by, grant.decision.complete_by
    with at(start_by):
        submit(grant, started=start_by)

    with at(complete_by + timedelta(days=days_after_deadline)):
        seen = status(grant)

    assert seen.next_report_due == complete_by
    assert (seen.completion_missed, seen.report_overdue) == (missed, missed)
    assert not seen.start_missed


def test_completion_reported_in_time_leaves_nothing_due(grant):
    start_by, complete_by = grant.decision.start_construction_by, grant.decision.complete_by
    with at(complete_by):
        submit(grant, started=start_by, completed=complete_by, realised=[10])

    with at(complete_by + timedelta(days=400)):
        seen = status(grant)

    assert seen.next_report_due is None
    assert not (seen.start_missed or seen.completion_missed or seen.report_overdue)


def test_a_settled_grant_has_no_report_due_even_when_nothing_was_reported(grant):
    complete_by = grant.decision.complete_by
    with at(complete_by + timedelta(days=1)):
        settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))
        confirm_settlement(settlement=settlement, user=UserFactory(approver=True))
        seen = status(grant)

    assert seen.next_report_due is None
    assert not seen.report_overdue
    assert seen.start_missed and seen.completion_missed


# --- where it shows -------------------------------------------------------------------------------------


# Clients log in after travelling: a session from two years earlier would have expired.


def test_the_municipality_sees_an_overdue_report_on_its_home_page_only_after_the_deadline(grant):
    user = UserFactory(municipality=grant.municipality)
    deadline = grant.decision.start_construction_by

    with at(deadline):
        before = client_for(user).get("/")
    with at(deadline + timedelta(days=1)):
        after = client_for(user).get("/")

    assert list(before.context["grants"]) == []
    assert [item.pk for item in after.context["grants"]] == [grant.pk]
    assert "Grants that need attention" in after.content.decode()


def test_the_application_page_shows_the_overdue_report(grant):
    user = UserFactory(municipality=grant.municipality)

    with at(grant.decision.start_construction_by + timedelta(days=1)):
        response = client_for(user).get(reverse("portal:application_detail", args=[grant.public_id]))

    assert "A progress report was due on" in response.content.decode()


def test_the_agency_filters_the_overdue_grants_in_the_back_office():
    late, on_time = granted(), granted(municipality="GM0363")
    deadline = late.decision.start_construction_by
    with at(deadline - timedelta(days=1)):
        submit(on_time, started=deadline - timedelta(days=1))
    assessor = UserFactory(assessor=True)
    assessor.groups.add(sync_agency_group())
    changelist = reverse("admin:realisation_grantfollowup_changelist")

    with at(deadline + timedelta(days=1)):
        client = client_for(assessor)
        overdue = client.get(changelist, {"overdue": "report"})
        everything = client.get(changelist)

    assert [grant.pk for grant in overdue.context["cl"].result_list] == [late.pk]
    assert {grant.pk for grant in everything.context["cl"].result_list} == {late.pk, on_time.pk}
