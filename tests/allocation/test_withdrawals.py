"""The agency withdraws or lowers a grant (intrekking, Awb 4:48): prepared by one, confirmed by a second person."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditAction, AuditEntry
from accounts.services import sync_agency_group
from allocation.budget import budget_left
from allocation.models import DecisionKind, DecisionOutcome, Withdrawal, WithdrawalGround
from allocation.selectors import current_decision
from allocation.waivers import waive_grant
from allocation.withdrawals import confirm_withdrawal, discard_withdrawal, prepare_withdrawal
from applications.models import Status
from tests.allocation.reserve import approver, assessor, decided, supplementary
from tests.factories import UserFactory
from tests.portal import client_for
from tests.progress import completed, settle

pytestmark = pytest.mark.django_db

GROUND = WithdrawalGround.ACTIVITIES_NOT_CARRIED_OUT


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def prepare(application, amount_after="0", *, user=None, ground=GROUND, reason="Het project gaat niet door."):
    return prepare_withdrawal(
        application=application,
        user=user or assessor(),
        amount_after=Decimal(amount_after),
        ground=ground,
        reason=reason,
    )


def test_withdrawal_needs_a_second_person():
    _, (application,) = decided("1000000.00", 10)
    preparer = approver()
    withdrawal = prepare(application, user=preparer)
    assert current_decision(application=application).kind == DecisionKind.ALLOCATION
    with pytest.raises(PermissionDenied):
        confirm_withdrawal(withdrawal=withdrawal, user=preparer)
    with pytest.raises(PermissionDenied):
        confirm_withdrawal(withdrawal=withdrawal, user=assessor())
    withdrawal.refresh_from_db()
    assert withdrawal.status == "prepared"
    confirmed = confirm_withdrawal(withdrawal=withdrawal, user=approver())
    assert confirmed.status == "confirmed" and confirmed.decision == current_decision(application=application)


def test_confirmed_withdrawal_issues_the_decision_with_its_ground_and_reason():
    _, (application,) = decided("1000000.00", 10)
    before = current_decision(application=application)
    withdrawal = confirm_withdrawal(withdrawal=prepare(application), user=approver())
    after = current_decision(application=application)
    assert (after.kind, after.outcome, after.amount, after.replaces, after.explanation) == (
        DecisionKind.WITHDRAWAL,
        DecisionOutcome.WITHDRAWN,
        Decimal("0.00"),
        before,
        "Het project gaat niet door.",
    )
    assert (withdrawal.amount_before, withdrawal.amount_after, withdrawal.withdrawn) == (
        Decimal("70000.00"),
        Decimal("0.00"),
        before,
    )
    application.refresh_from_db()
    assert application.status == Status.GRANT_WITHDRAWN


def test_a_lowering_keeps_the_grant_in_part_and_frees_the_rest_for_the_reserve_list():
    tranche, (first, second) = decided("70000.00", 10, 10)
    confirm_withdrawal(withdrawal=prepare(first, "49000.00"), user=approver())
    assert current_decision(application=first).outcome == DecisionOutcome.PARTIALLY_GRANTED
    assert budget_left(tranche=tranche).total == Decimal("21000.00")
    supplementary(tranche)
    assert current_decision(application=second).amount == Decimal("21000.00")


@pytest.mark.parametrize("amount", ["70000.00", "70000.01", "-0.01"])
def test_a_withdrawal_lowers_the_grant_and_cannot_raise_it(amount):
    _, (application,) = decided("1000000.00", 10)
    with pytest.raises(ValidationError) as refused:
        prepare(application, amount)
    assert "amount_after" in refused.value.message_dict
    assert not Withdrawal.objects.exists()


def test_a_withdrawal_needs_a_ground_and_reasons():
    _, (application,) = decided("1000000.00", 10)
    with pytest.raises(ValidationError) as refused:
        prepare(application, ground="no_reason", reason=" ")
    assert set(refused.value.message_dict) == {"ground", "reason"}


def test_a_municipal_user_cannot_prepare_a_withdrawal():
    _, (application,) = decided("1000000.00", 10)
    with pytest.raises(PermissionDenied):
        prepare(application, user=UserFactory(password=None, signatory=True, municipality=application.municipality))


def test_only_one_withdrawal_of_a_grant_waits_at_a_time():
    _, (application,) = decided("1000000.00", 10)
    prepare(application)
    with pytest.raises(ValidationError, match="already awaits confirmation"):
        prepare(application, "10000.00")


def test_a_refusal_cannot_be_withdrawn():
    _, (_, refused) = decided("70000.00", 10, 10)
    with pytest.raises(ValidationError, match="no grant in force"):
        prepare(refused)


def test_a_withdrawal_prepared_before_the_grant_changed_cannot_be_confirmed():
    _, (application,) = decided("1000000.00", 10)
    withdrawal = prepare(application, "50000.00")
    waive_grant(
        application=application,
        user=UserFactory(password=None, signatory=True, municipality=application.municipality),
        amount_after=Decimal("60000.00"),
        reason="Minder woningen.",
    )
    with pytest.raises(ValidationError, match="has changed since this withdrawal was prepared"):
        confirm_withdrawal(withdrawal=withdrawal, user=approver())
    assert current_decision(application=application).amount == Decimal("60000.00")


def test_a_settled_grant_cannot_be_withdrawn_any_more():
    _, (application,) = decided("1000000.00", 10)
    withdrawal = prepare(application)
    application.refresh_from_db()
    application.decision = current_decision(application=application)
    completed(application, [10])
    settle(application)
    with pytest.raises(ValidationError, match="settled"):
        confirm_withdrawal(withdrawal=withdrawal, user=approver())
    with pytest.raises(ValidationError, match="settled"):
        prepare(application, "1000.00")


def test_a_discarded_withdrawal_leaves_an_audit_entry_and_no_decision():
    _, (application,) = decided("1000000.00", 10)
    withdrawal = prepare(application)
    user = approver()
    discard_withdrawal(withdrawal=withdrawal, user=user)
    assert not Withdrawal.objects.exists()
    entry = AuditEntry.objects.get(action=AuditAction.DISCARD)
    assert entry.actor == user and application.reference in entry.detail
    assert current_decision(application=application).kind == DecisionKind.ALLOCATION


def test_a_confirmed_withdrawal_can_be_neither_confirmed_again_nor_discarded():
    _, (application,) = decided("1000000.00", 10)
    withdrawal = confirm_withdrawal(withdrawal=prepare(application), user=approver())
    with pytest.raises(PermissionDenied):
        confirm_withdrawal(withdrawal=withdrawal, user=approver())
    with pytest.raises(PermissionDenied):
        discard_withdrawal(withdrawal=withdrawal, user=approver())


# --- the back office ------------------------------------------------------------------------------------


def agency(**role):
    user = UserFactory(**role)
    user.groups.add(sync_agency_group())
    return user


def test_the_back_office_prepares_from_the_decision_page_and_a_second_approver_confirms_by_action():
    _, (application,) = decided("1000000.00", 10)
    decision = current_decision(application=application)
    preparer = agency(assessor=True)
    page = client_for(preparer).get(reverse("admin:allocation_decision_change", args=[decision.pk]))
    withdraw_url = reverse("admin:allocation_decision_withdraw", args=[decision.pk])
    assert withdraw_url in page.content.decode()
    response = client_for(preparer).post(
        withdraw_url, {"amount_after": "0", "ground": GROUND, "reason": "Het project gaat niet door."}
    )
    withdrawal = Withdrawal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:allocation_withdrawal_change", args=[withdrawal.pk])
    assert client_for(preparer).get(response["Location"]).status_code == 200
    listing = reverse("admin:allocation_withdrawal_changelist")
    client_for(preparer).post(listing, {"action": "confirm", "_selected_action": [withdrawal.pk]})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "prepared"
    client_for(agency(approver=True)).post(listing, {"action": "confirm", "_selected_action": [withdrawal.pk]})
    withdrawal.refresh_from_db()
    assert withdrawal.status == "confirmed"
    assert current_decision(application=application).kind == DecisionKind.WITHDRAWAL
    decision_page = client_for(preparer).get(
        reverse("admin:allocation_decision_change", args=[current_decision(application=application).pk])
    )
    assert decision_page.status_code == 200 and withdraw_url not in decision_page.content.decode()


def test_a_municipal_user_sees_neither_waivers_nor_withdrawals_in_the_back_office():
    _, (application,) = decided("1000000.00", 10)
    prepare(application)
    signatory = UserFactory(signatory=True, municipality=application.municipality, is_staff=True)
    client = client_for(signatory)
    assert client.get(reverse("admin:allocation_withdrawal_changelist")).status_code in (302, 403)
    assert client.get(reverse("admin:allocation_waiver_changelist")).status_code in (302, 403)


def test_the_back_office_says_what_is_wrong_with_a_withdrawal():
    _, (application,) = decided("1000000.00", 10)
    decision = current_decision(application=application)
    response = client_for(agency(assessor=True)).post(
        reverse("admin:allocation_decision_withdraw", args=[decision.pk]),
        {"amount_after": "80000", "ground": GROUND, "reason": "Meer."},
    )
    assert response.status_code == 200
    assert "The new amount must be below the amount granted" in response.content.decode()
    assert not Withdrawal.objects.exists()


def test_the_withdrawal_list_keeps_its_query_count(django_assert_num_queries):
    client = client_for(agency(assessor=True))
    listing = reverse("admin:allocation_withdrawal_changelist")
    _, (first,) = decided("1000000.00", 10)
    prepare(first)
    client.get(listing)
    with CaptureQueriesContext(connection) as baseline:
        client.get(listing)
    _, more = decided("1000000.00", 10, 10, 10)
    for application in more:
        prepare(application, "1000.00")
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(listing)
    assert response.status_code == 200 and more[0].reference in response.content.decode()
