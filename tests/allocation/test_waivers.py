"""A municipality waives (part of) its grant: the grant is lowered at once, and the budget goes to the reserve list."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from accounts.services import sync_agency_group
from allocation.budget import budget_left
from allocation.decision_letters import render_decision_letter
from allocation.models import DecisionKind, DecisionOutcome, Waiver
from allocation.selectors import current_decision
from allocation.waivers import waive_grant
from applications.models import Status, StatusChange
from tests.allocation.reserve import approver, decided, supplementary
from tests.factories import UserFactory
from tests.portal import client_for
from tests.progress import completed, settle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def signatory(application):
    return UserFactory(password=None, signatory=True, municipality=application.municipality)


def waive(application, amount_after, *, user=None, reason="Er worden minder woningen gebouwd."):
    return waive_grant(
        application=application,
        user=user or signatory(application),
        amount_after=Decimal(amount_after),
        reason=reason,
    )


def test_waiver_in_part_lowers_the_grant_and_records_both_amounts():
    _, (application,) = decided("1000000.00", 10)
    before = current_decision(application=application)
    waiver = waive(application, "42000.00")
    after = current_decision(application=application)
    assert (waiver.amount_before, waiver.amount_after, waiver.decision) == (
        Decimal("70000.00"),
        Decimal("42000.00"),
        after,
    )
    assert (after.kind, after.outcome, after.replaces, after.explanation) == (
        DecisionKind.WAIVER,
        DecisionOutcome.PARTIALLY_GRANTED,
        before,
        "Er worden minder woningen gebouwd.",
    )
    assert after.complete_by == before.complete_by
    application.refresh_from_db()
    assert application.status == Status.PARTIALLY_GRANTED
    assert StatusChange.objects.filter(application=application, to_status=Status.PARTIALLY_GRANTED).exists()


def test_waiver_in_full_withdraws_the_grant():
    _, (application,) = decided("1000000.00", 10)
    waive(application, "0")
    assert current_decision(application=application).outcome == DecisionOutcome.WITHDRAWN
    application.refresh_from_db()
    assert application.status == Status.GRANT_WITHDRAWN


def test_waiver_frees_budget_for_the_reserve_list():
    tranche, (first, second) = decided("70000.00", 10, 10)
    assert budget_left(tranche=tranche).total == 0
    waive(first, "28000.00")
    assert budget_left(tranche=tranche).total == Decimal("42000.00")
    supplementary(tranche)
    granted = current_decision(application=second)
    assert (granted.kind, granted.amount) == (DecisionKind.SUPPLEMENTARY, Decimal("42000.00"))
    assert budget_left(tranche=tranche).total == 0


@pytest.mark.parametrize("amount", ["70000.00", "80000.00", "-1.00", "100.001"])
def test_a_waiver_lowers_the_grant_and_cannot_raise_it_nor_be_negative(amount):
    _, (application,) = decided("1000000.00", 10)
    with pytest.raises(ValidationError) as refused:
        waive(application, amount)
    assert "amount_after" in refused.value.message_dict
    assert current_decision(application=application).kind == DecisionKind.ALLOCATION
    assert not Waiver.objects.exists()


def test_a_waiver_needs_a_reason():
    _, (application,) = decided("1000000.00", 10)
    with pytest.raises(ValidationError) as refused:
        waive(application, "0", reason="  ")
    assert "reason" in refused.value.message_dict


def test_only_a_current_grant_can_be_waived():
    _, (_, refused) = decided("70000.00", 10, 10)
    with pytest.raises(ValidationError, match="no grant in force"):
        waive(refused, "0")


def test_a_withdrawn_grant_cannot_be_waived_again():
    _, (application,) = decided("1000000.00", 10)
    waive(application, "0")
    with pytest.raises(ValidationError, match="no grant in force"):
        waive(application, "0")


@pytest.mark.parametrize(
    "who",
    [
        lambda application: UserFactory(password=None, municipality=application.municipality),
        lambda application: UserFactory(password=None, signatory=True, municipality__code="GM0344"),
        lambda application: approver(),
    ],
    ids=["editor", "signatory of another municipality", "agency approver"],
)
def test_only_the_signatory_of_the_municipality_can_waive(who):
    _, (application,) = decided("1000000.00", 10)
    with pytest.raises(PermissionDenied):
        waive(application, "0", user=who(application))
    assert current_decision(application=application).kind == DecisionKind.ALLOCATION


def test_a_settled_grant_cannot_be_waived():
    _, (application,) = decided("1000000.00", 10)
    application.refresh_from_db()
    application.decision = current_decision(application=application)
    completed(application, [10])
    settle(application)
    with pytest.raises(ValidationError, match="settled"):
        waive(application, "0")


def test_a_settlement_below_the_grant_frees_budget_for_the_reserve_list():
    tranche, (first, second) = decided("70000.00", 10, 10)
    first.refresh_from_db()
    first.decision = current_decision(application=first)
    completed(first, [6])
    settle(first)
    assert budget_left(tranche=tranche).total == Decimal("28000.00")
    supplementary(tranche)
    assert current_decision(application=second).amount == Decimal("28000.00")


# --- the portal -----------------------------------------------------------------------------------------


def test_the_signatory_waives_in_the_portal_and_returns_to_the_application():
    _, (application,) = decided("1000000.00", 10)
    client = client_for(signatory(application))
    url = reverse("decisions:waive", args=[application.public_id])
    page = client.get(url)
    assert page.status_code == 200 and "70.000,00" in page.content.decode()
    response = client.post(url, {"amount_after": "35000", "reason": "Minder woningen."}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:application_detail", args=[application.public_id])
    assert "The grant has been lowered" in response.content.decode()
    waiver = Waiver.objects.get()
    assert (waiver.amount_after, waiver.reason) == (Decimal("35000.00"), "Minder woningen.")


def test_the_portal_says_what_is_wrong_with_a_waiver_next_to_the_field():
    _, (application,) = decided("1000000.00", 10)
    client = client_for(signatory(application))
    url = reverse("decisions:waive", args=[application.public_id])
    response = client.post(url, {"amount_after": "90000", "reason": "Meer nodig."})
    assert response.status_code == 200
    assert "The new amount must be below the amount granted" in response.content.decode()
    assert not Waiver.objects.exists()


def test_the_waiver_page_is_closed_to_others():
    _, (application,) = decided("1000000.00", 10)
    url = reverse("decisions:waive", args=[application.public_id])
    other = UserFactory(password=None, signatory=True, municipality__code="GM0344")
    editor = UserFactory(password=None, municipality=application.municipality)
    assert client_for(other).get(url).status_code == 404
    assert client_for(editor).get(url).status_code == 403
    assert client_for(approver()).get(url).status_code == 404


def test_the_progress_page_links_the_signatory_to_the_waiver():
    _, (application,) = decided("1000000.00", 10)
    page = client_for(signatory(application)).get(reverse("progress:detail", args=[application.public_id]))
    assert reverse("decisions:waive", args=[application.public_id]) in page.content.decode()


def test_the_waiver_letter_quotes_the_municipality_and_states_both_amounts():
    _, (application,) = decided("1000000.00", 10)
    waiver = waive(application, "42000.00", reason="Er worden zes woningen gebouwd.")
    letter = render_decision_letter(decision=waiver.decision)
    assert "Wijziging van uw specifieke uitkering na afstand" in letter
    assert "een deel van de uitkering" in letter
    assert "Er worden zes woningen gebouwd." in letter
    assert "€ 42.000,00" in letter and "€ 70.000,00" in letter


def test_the_back_office_lists_the_waivers_with_both_amounts():
    _, (application,) = decided("1000000.00", 10)
    waive(application, "42000.00")
    staff = UserFactory(approver=True)
    staff.groups.add(sync_agency_group())
    page = client_for(staff).get(reverse("admin:allocation_waiver_changelist"))
    assert page.status_code == 200
    content = page.content.decode()
    assert application.reference in content and "42.000,00" in content and "70.000,00" in content
