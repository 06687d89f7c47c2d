"""The agency's worklist after the grant, and the back-office pages that act on it: assess, prepare, confirm, pay."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib import messages
from django.urls import reverse

from allocation.models import DecisionKind
from allocation.selectors import current_decision
from realisation.changes import approve_change_request, submit_change_request
from realisation.models import ChangeKind, ChangeRequestStatus, Reclaim, ReclaimGround, ReclaimStatus
from realisation.reclaims import confirm_reclaim, deadline_worklist, missed_deadlines, prepare_reclaim
from tests.factories import UserFactory
from tests.portal import client_for
from tests.progress import completed, granted, settle, signatory_of, submit

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WORKLIST = reverse("admin:realisation_reclaim_worklist")


def at(day: date):
    return time_machine.travel(datetime.combine(day, time(12), tzinfo=AMSTERDAM), tick=False)


def on_list(day: date) -> set[int]:
    return set(missed_deadlines(today=day).values_list("pk", flat=True))


@pytest.fixture
def grant():
    return granted()


def extend_start(grant, to: date):
    change = submit_change_request(
        application=grant,
        user=signatory_of(grant),
        kind=ChangeKind.START_EXTENSION,
        motivation="The permit came late.",
        proposed_start_by=to,
    )
    return approve_change_request(change_request=change, user=UserFactory(assessor=True), assessment="Granted.")


# --- what is on the list --------------------------------------------------------------------------------


def test_missed_start_deadline_puts_the_case_on_the_worklist(grant):
    deadline = grant.decision.start_construction_by

    assert on_list(deadline) == set()
    assert on_list(deadline + timedelta(days=1)) == {grant.pk}
    case = missed_deadlines(today=deadline + timedelta(days=1)).get()
    assert (case.start_missed, case.report_overdue, case.completion_missed) == (True, True, False)


def test_a_start_reported_in_time_keeps_the_case_off_the_worklist(grant):
    deadline = grant.decision.start_construction_by
    with at(deadline):
        submit(grant, started=deadline)

    assert on_list(deadline + timedelta(days=1)) == set()


def test_approved_extension_takes_the_case_off_the_worklist_until_the_new_deadline(grant):
    deadline = grant.decision.start_construction_by
    extend_start(grant, deadline + timedelta(days=60))

    assert on_list(deadline + timedelta(days=1)) == set()
    assert on_list(deadline + timedelta(days=61)) == {grant.pk}


def test_a_reclaim_prepared_after_the_deadline_takes_the_case_off_the_deadline_list(grant):
    day = grant.decision.start_construction_by + timedelta(days=1)
    with at(day):
        reclaim = prepare_reclaim(
            application=grant, user=UserFactory(assessor=True), ground=ReclaimGround.START_MISSED, reason="No start."
        )
        worklist = deadline_worklist(today=day)

    assert list(worklist.deadlines) == []
    assert list(worklist.reclaims_to_confirm) == [reclaim]


def test_a_missed_completion_after_a_reclaim_for_the_start_comes_back_on_the_list(grant):
    decision = grant.decision
    late_start = decision.start_construction_by + timedelta(days=1)
    with at(late_start):
        submit(grant, started=late_start, realised=[5])
        reclaim = prepare_reclaim(
            application=grant, user=UserFactory(assessor=True), ground=ReclaimGround.START_MISSED, reason="Late."
        )
        confirm_reclaim(reclaim=reclaim, user=UserFactory(approver=True))

    assert on_list(late_start) == set()
    assert on_list(decision.complete_by + timedelta(days=1)) == {grant.pk}


def test_a_settled_grant_is_not_on_the_worklist(grant):
    completed(grant, [4])
    settle(grant)

    assert on_list(grant.decision.complete_by + timedelta(days=1)) == set()


def test_open_change_requests_and_unpaid_reclaims_are_on_the_worklist(grant):
    change = submit_change_request(
        application=grant, user=signatory_of(grant), kind=ChangeKind.PLANNING, motivation="Phased delivery."
    )
    day = grant.decision.complete_by + timedelta(days=1)
    with at(day):
        reclaim = prepare_reclaim(
            application=grant, user=UserFactory(assessor=True), ground=ReclaimGround.START_MISSED, reason="No start."
        )
        confirm_reclaim(reclaim=reclaim, user=UserFactory(approver=True))

    worklist = deadline_worklist(today=day)

    assert list(worklist.change_requests) == [change]
    assert [reclaim.pk for reclaim in worklist.reclaims_unpaid] == [reclaim.pk]
    assert list(worklist.reclaims_to_confirm) == []


# --- the back office ------------------------------------------------------------------------------------


def staff(**role):
    return UserFactory(**role)


def levels(response) -> list[int]:
    return [message.level for message in response.context["messages"]]


def overdue_cases(count: int) -> date:
    """`count` grants whose start deadline passed, each with an open change request; returns a day after."""
    grants = [granted(municipality=code) for code in ["GM0344", "GM0363", "GM0599", "GM0518"][:count]]
    for grant in grants:
        submit_change_request(
            application=grant, user=signatory_of(grant), kind=ChangeKind.PLANNING, motivation="Phased delivery."
        )
    return max(grant.decision.start_construction_by for grant in grants) + timedelta(days=1)


# Session, user, the user's and the groups' permissions, the four parts of the worklist.
WORKLIST_QUERIES = 8


@pytest.mark.parametrize("count", [1, 4])
def test_the_worklist_costs_a_fixed_number_of_queries(django_assert_num_queries, count):
    day = overdue_cases(count)
    with at(day):
        client = client_for(staff(assessor=True))
        client.get(WORKLIST)

        with django_assert_num_queries(WORKLIST_QUERIES):
            response = client.get(WORKLIST)

    assert len(response.context["deadlines"]) == count
    assert len(response.context["change_requests"]) == count


def test_municipal_users_do_not_reach_the_worklist(grant):
    response = client_for(signatory_of(grant)).get(WORKLIST)

    assert response.status_code == 302
    assert "login" in response.url


def test_an_assessor_approves_a_change_request_in_the_back_office(grant):
    later = grant.decision.complete_by + timedelta(days=90)
    change = submit_change_request(
        application=grant,
        user=signatory_of(grant),
        kind=ChangeKind.COMPLETION_EXTENSION,
        motivation="Nitrogen permit.",
        proposed_complete_by=later,
    )
    url = reverse("admin:realisation_changerequest_assess", args=[change.pk])
    client = client_for(staff(assessor=True))

    page = client.get(url)
    response = client.post(url, {"assessment": "Beyond their control.", "outcome": "approve"}, follow=True)

    assert page.status_code == 200
    assert levels(response) == [messages.SUCCESS]
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.APPROVED
    assert current_decision(application=grant).complete_by == later


def test_an_assessment_left_empty_is_shown_on_the_form(grant):
    change = submit_change_request(
        application=grant, user=signatory_of(grant), kind=ChangeKind.PLANNING, motivation="Phased delivery."
    )
    url = reverse("admin:realisation_changerequest_assess", args=[change.pk])

    response = client_for(staff(assessor=True)).post(url, {"assessment": "", "outcome": "reject"})

    assert response.status_code == 200
    assert response.context["form"].errors["assessment"]
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.SUBMITTED


def test_prepare_confirm_and_pay_a_reclaim_in_the_back_office(grant):
    day = grant.decision.complete_by + timedelta(days=1)
    with at(day):
        assessor, approver = client_for(staff(assessor=True)), client_for(staff(approver=True))
        prepare = reverse("admin:realisation_reclaim_prepare", args=[grant.public_id])

        page = assessor.get(prepare)
        prepared = assessor.post(prepare, {"ground": "completion_missed", "reason": "Nothing built."}, follow=True)
        reclaim = Reclaim.objects.get()
        refused = assessor.post(reverse("admin:realisation_reclaim_confirm", args=[reclaim.pk]), follow=True)
        confirmed = approver.post(reverse("admin:realisation_reclaim_confirm", args=[reclaim.pk]), follow=True)
        payment = {"paid_on": day.isoformat(), "amount_paid": "70.000,00"}
        paid = assessor.post(reverse("admin:realisation_reclaim_payment", args=[reclaim.pk]), payment, follow=True)

    assert ("amount to reclaim", "€\u00a070.000,00") in page.context["details"]
    assert levels(prepared) == [messages.SUCCESS]
    assert refused.context["form"].non_field_errors()
    assert levels(confirmed) == [messages.SUCCESS]
    assert levels(paid) == [messages.SUCCESS]
    reclaim.refresh_from_db()
    assert (reclaim.status, reclaim.amount_paid) == (ReclaimStatus.PAID, Decimal("70000.00"))
    assert current_decision(application=grant).kind == DecisionKind.RECLAIM


def test_the_back_office_pages_offer_the_steps_the_state_allows(grant):
    change = submit_change_request(
        application=grant, user=signatory_of(grant), kind=ChangeKind.PLANNING, motivation="Phased delivery."
    )
    day = grant.decision.complete_by + timedelta(days=1)
    with at(day):
        reclaim = prepare_reclaim(
            application=grant, user=UserFactory(assessor=True), ground=ReclaimGround.START_MISSED, reason="No start."
        )
        client = client_for(staff(assessor=True))
        pages = [
            client.get(reverse("admin:realisation_changerequest_changelist")),
            client.get(reverse("admin:realisation_changerequest_change", args=[change.pk])),
            client.get(reverse("admin:realisation_reclaim_changelist")),
            client.get(reverse("admin:realisation_reclaim_change", args=[reclaim.pk])),
        ]

    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    assert reverse("admin:realisation_changerequest_assess", args=[change.pk]) in pages[1].content.decode()
    assert WORKLIST in pages[2].content.decode()
    reclaim_page = pages[3].content.decode()
    assert reverse("admin:realisation_reclaim_confirm", args=[reclaim.pk]) in reclaim_page
    assert reverse("admin:realisation_reclaim_payment", args=[reclaim.pk]) not in reclaim_page
