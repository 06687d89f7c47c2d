"""The back office: preparing and confirming settlements through admin actions, and what it costs to list them."""

from decimal import Decimal

import pytest
from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts.services import sync_agency_group
from realisation.models import Settlement, SettlementStatus
from tests.factories import UserFactory
from tests.portal import client_for
from tests.progress import completed, granted, submit

pytestmark = pytest.mark.django_db

FOLLOW_UP = reverse("admin:realisation_grantfollowup_changelist")
SETTLEMENTS = reverse("admin:realisation_settlement_changelist")


def agency(**role):
    user = UserFactory(**role)
    user.groups.add(sync_agency_group())
    return user


def act(client, changelist: str, action: str, objects):
    return client.post(changelist, {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects]}, follow=True)


def levels(response) -> list[int]:
    return [message.level for message in response.context["messages"]]


def test_an_assessor_prepares_the_settlement_from_the_follow_up_list():
    grant = granted()
    completed(grant, [7])

    response = act(client_for(agency(assessor=True)), FOLLOW_UP, "prepare_settlement", [grant])

    assert levels(response) == [messages.SUCCESS]
    settlement = Settlement.objects.get()
    assert (settlement.status, settlement.amount_settled) == (SettlementStatus.PREPARED, Decimal("49000.00"))


def test_a_grant_not_yet_complete_is_refused_with_a_message():
    grant = granted()
    submit(grant, started=grant.decision.decision_date)

    response = act(client_for(agency(assessor=True)), FOLLOW_UP, "prepare_settlement", [grant])

    assert levels(response) == [messages.ERROR]
    assert not Settlement.objects.exists()


def test_the_approver_who_prepared_cannot_confirm_in_the_back_office():
    grant = granted()
    completed(grant, [10])
    approver = agency(approver=True)
    client = client_for(approver)
    act(client, FOLLOW_UP, "prepare_settlement", [grant])

    response = act(client, SETTLEMENTS, "confirm", Settlement.objects.all())

    assert levels(response) == [messages.ERROR]
    assert Settlement.objects.get().status == SettlementStatus.PREPARED


def test_a_second_approver_confirms_in_the_back_office():
    grant = granted()
    completed(grant, [10])
    act(client_for(agency(assessor=True)), FOLLOW_UP, "prepare_settlement", [grant])
    approver = agency(approver=True)

    response = act(client_for(approver), SETTLEMENTS, "confirm", Settlement.objects.all())

    assert levels(response) == [messages.SUCCESS]
    settlement = Settlement.objects.get()
    assert (settlement.status, settlement.approved_by) == (SettlementStatus.CONFIRMED, approver)


def test_a_settlement_cannot_be_changed_or_deleted_in_the_back_office():
    grant = granted()
    completed(grant, [10])
    act(client_for(agency(assessor=True)), FOLLOW_UP, "prepare_settlement", [grant])
    client = client_for(agency(approver=True))
    settlement = Settlement.objects.get()

    change = client.post(reverse("admin:realisation_settlement_change", args=[settlement.pk]), {"status": "confirmed"})
    delete = client.post(reverse("admin:realisation_settlement_delete", args=[settlement.pk]), {"post": "yes"})

    assert delete.status_code == 403
    assert change.status_code == 403
    settlement.refresh_from_db()
    assert settlement.status == SettlementStatus.PREPARED


# Session, user, the user's and the group's permissions, the tranches for the filter, the count and the filtered
# count, and the page of grants with their municipality, decision, settlement and latest report in one query.
FOLLOW_UP_QUERIES = 8


@pytest.mark.parametrize("count", [1, 4])
def test_follow_up_list_costs_a_fixed_number_of_queries(django_assert_num_queries, count):
    for _ in range(count):
        completed(granted(), [10])
    client = client_for(agency(assessor=True))

    with django_assert_num_queries(FOLLOW_UP_QUERIES):
        response = client.get(FOLLOW_UP)

    assert len(response.context["cl"].result_list) == count


def test_the_agency_reads_reports_and_settlements_with_their_lines():
    grant = granted(lines=(("homeless", 10, "permanent", None), ("students", 4, "flexible", None)))
    report = completed(grant, [6, 4])
    act(client_for(agency(assessor=True)), FOLLOW_UP, "prepare_settlement", [grant])
    client = client_for(agency(assessor=True))

    pages = [
        reverse("admin:realisation_progressreport_changelist"),
        reverse("admin:realisation_progressreport_change", args=[report.pk]),
        SETTLEMENTS,
        reverse("admin:realisation_settlement_change", args=[Settlement.objects.get().pk]),
        reverse("admin:realisation_grantfollowup_change", args=[grant.pk]),
    ]

    assert [client.get(page).status_code for page in pages] == [200] * len(pages)
    settlement_page = client.get(pages[3]).content.decode()
    assert "42.000,00" in settlement_page and "28.000,00" in settlement_page
