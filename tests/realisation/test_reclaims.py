"""Reclaims (terugvordering): the amount per unit not realised, four eyes, the decision it issues, the payment."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from accounts.models import AuditAction, AuditEntry
from allocation.models import DecisionKind, Letter, LetterKind
from allocation.selectors import current_decision
from ministry import tasks
from realisation.models import Reclaim, ReclaimGround, ReclaimStatus
from realisation.reclaims import (
    PAYMENT_TERM,
    confirm_reclaim,
    discard_reclaim,
    prepare_reclaim,
    record_reclaim_payment,
)
from realisation.services import prepare_settlement
from tests.factories import UserFactory
from tests.progress import certify_accounts, granted, submit

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def at(day: date):
    return time_machine.travel(datetime.combine(day, time(12), tzinfo=AMSTERDAM), tick=False)


@pytest.fixture
def grant():
    return granted()


def after_completion_deadline(grant) -> date:
    return grant.decision.complete_by + timedelta(days=1)


def reported(grant, realised: list[int]) -> None:
    """A report before the start deadline: construction started, `realised` units, not complete."""
    with at(grant.decision.start_construction_by - timedelta(days=10)):
        submit(grant, started=timezone.localdate(), realised=realised)


def prepare(grant, *, ground=ReclaimGround.COMPLETION_MISSED, user=None, reason="Not completed in time."):
    return prepare_reclaim(application=grant, user=user or UserFactory(assessor=True), ground=ground, reason=reason)


def confirmed(grant, **prepared) -> Reclaim:
    with at(after_completion_deadline(grant)):
        return confirm_reclaim(reclaim=prepare(grant, **prepared), user=UserFactory(approver=True))


# --- the amount -----------------------------------------------------------------------------------------


def test_reclaim_amount_is_per_unit_not_realised(grant):
    reported(grant, [6])  # 6 of 10 homes at € 7.000

    with at(after_completion_deadline(grant)):
        reclaim = prepare(grant)

    assert (reclaim.units_not_realised, reclaim.amount_per_unit, reclaim.amount) == (
        4,
        Decimal("7000.00"),
        Decimal("28000.00"),
    )
    assert reclaim.status == ReclaimStatus.PREPARED


def test_the_amount_per_unit_is_rounded_down_to_the_cent():
    grant = granted(lines=(("homeless", 3, "permanent", "10000.00"),))
    reported(grant, [1])

    with at(after_completion_deadline(grant)):
        reclaim = prepare(grant)

    assert (reclaim.amount_per_unit, reclaim.amount) == (Decimal("3333.33"), Decimal("6666.66"))


def test_nothing_realised_reclaims_the_whole_grant_and_withdraws_it():
    grant = granted(lines=(("homeless", 3, "permanent", "10000.00"),))

    reclaim = confirmed(grant, ground=ReclaimGround.START_MISSED)

    assert reclaim.amount == Decimal("10000.00")
    decision = current_decision(application=grant)
    assert (decision.outcome, decision.amount, decision.complete_by) == ("withdrawn", Decimal("0.00"), None)
    grant.refresh_from_db()
    assert grant.status == "grant_withdrawn"


def test_units_reclaimed_before_are_not_reclaimed_again(grant):
    reported(grant, [6])
    confirmed(grant)

    with (
        at(after_completion_deadline(grant) + timedelta(days=1)),
        translation.override("en"),
        pytest.raises(ValidationError) as refused,
    ):
        prepare(grant)

    assert "nothing to reclaim" in " ".join(refused.value.messages)


# --- four eyes and the decision -------------------------------------------------------------------------


def test_reclaim_needs_a_second_person(grant):
    approver = UserFactory(approver=True)
    with at(after_completion_deadline(grant)):
        reclaim = prepare(grant, user=approver)

        with pytest.raises(PermissionDenied):
            confirm_reclaim(reclaim=reclaim, user=approver)
        with pytest.raises(PermissionDenied):
            confirm_reclaim(reclaim=reclaim, user=UserFactory(assessor=True))

    reclaim.refresh_from_db()
    assert reclaim.status == ReclaimStatus.PREPARED
    assert current_decision(application=grant).pk == grant.decision.pk


def test_the_database_refuses_a_reclaim_confirmed_by_its_preparer(grant):
    reclaim = confirmed(grant)
    reclaim.approved_by = reclaim.prepared_by

    with pytest.raises(IntegrityError, match="reclaim_four_eyes"), transaction.atomic():
        reclaim.save(update_fields=["approved_by"])


def test_confirming_lowers_the_grant_by_a_reclaim_decision_with_a_payment_term(grant):
    reported(grant, [6])

    reclaim = confirmed(grant)

    decision = current_decision(application=grant)
    assert (decision.kind, decision.replaces_id, reclaim.decision_id) == (
        DecisionKind.RECLAIM,
        grant.decision.pk,
        decision.pk,
    )
    assert (decision.outcome, decision.amount) == ("partially_granted", Decimal("42000.00"))
    assert decision.complete_by == grant.decision.complete_by
    assert reclaim.due_on == after_completion_deadline(grant) + PAYMENT_TERM
    letter = Letter.objects.get(application=grant)
    assert letter.kind == LetterKind.RECLAIM
    html = letter.html.open("rb").read().decode("utf-8")
    assert "€ 28.000,00" in html
    assert AuditEntry.objects.filter(action=AuditAction.CONFIRMATION, object_id=str(reclaim.pk)).exists()


def test_a_new_progress_report_after_preparing_stops_the_confirmation(grant):
    reported(grant, [6])
    with at(after_completion_deadline(grant)):
        reclaim = prepare(grant)
        submit(grant, started=grant.decision.start_construction_by, realised=[8])

        with pytest.raises(ValidationError):
            confirm_reclaim(reclaim=reclaim, user=UserFactory(approver=True))


def test_a_prepared_reclaim_can_be_discarded_and_prepared_again(grant):
    with at(after_completion_deadline(grant)):
        reclaim = prepare(grant)
        discard_reclaim(reclaim=reclaim, user=UserFactory(assessor=True))
        prepare(grant)

    assert Reclaim.objects.count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.DISCARD, object_id=str(reclaim.pk)).exists()


def test_a_confirmed_reclaim_cannot_be_discarded(grant):
    reclaim = confirmed(grant)

    with pytest.raises(ValidationError):
        discard_reclaim(reclaim=reclaim, user=UserFactory(assessor=True))


# --- grounds and bad input ------------------------------------------------------------------------------


def test_the_ground_must_have_happened(grant):
    with at(grant.decision.start_construction_by), pytest.raises(ValidationError) as refused:
        prepare(grant, ground=ReclaimGround.START_MISSED)

    assert list(refused.value.message_dict) == ["ground"]
    assert not Reclaim.objects.exists()


def test_a_reason_and_a_known_ground_are_required(grant):
    with at(after_completion_deadline(grant)), pytest.raises(ValidationError) as refused:
        prepare(grant, ground="felt_like_it", reason=" ")

    assert set(refused.value.message_dict) == {"ground", "reason"}


def test_municipal_users_cannot_prepare_a_reclaim(grant):
    with at(after_completion_deadline(grant)), pytest.raises(PermissionDenied):
        prepare(grant, user=UserFactory(signatory=True, municipality=grant.municipality))


def test_only_one_reclaim_awaits_confirmation(grant):
    with at(after_completion_deadline(grant)):
        prepare(grant)
        with pytest.raises(ValidationError):
            prepare(grant)


# --- the payment ----------------------------------------------------------------------------------------


def pay(reclaim, *, paid_on=None, amount=None, user=None):
    return record_reclaim_payment(
        reclaim=reclaim,
        user=user or UserFactory(assessor=True),
        paid_on=paid_on or reclaim.due_on,
        amount_paid=reclaim.amount if amount is None else amount,
    )


def test_reclaim_payment_is_recorded(grant, django_capture_on_commit_callbacks):
    reported(grant, [6])
    reclaim = confirmed(grant)

    with (
        at(reclaim.due_on),
        mock.patch.object(tasks.refresh_totals, "delay") as refresh,
        django_capture_on_commit_callbacks(execute=True),
    ):
        reclaim = pay(reclaim, paid_on=reclaim.due_on - timedelta(days=3))

    reclaim.refresh_from_db()
    assert (reclaim.status, reclaim.paid_on, reclaim.amount_paid) == (
        ReclaimStatus.PAID,
        reclaim.due_on - timedelta(days=3),
        Decimal("28000.00"),
    )
    refresh.assert_called_once_with()
    assert AuditEntry.objects.filter(action=AuditAction.MONEY_CHANGE, object_id=str(reclaim.pk)).exists()


@pytest.mark.parametrize("amount", ["27999.99", "28000.01"])
def test_only_the_full_amount_is_recorded_as_paid(grant, amount):
    reported(grant, [6])
    reclaim = confirmed(grant)

    with at(reclaim.due_on), pytest.raises(ValidationError) as refused:
        pay(reclaim, amount=Decimal(amount))

    assert list(refused.value.message_dict) == ["amount_paid"]
    reclaim.refresh_from_db()
    assert reclaim.status == ReclaimStatus.CONFIRMED


def test_a_payment_cannot_be_in_the_future_or_before_the_confirmation(grant):
    reclaim = confirmed(grant)

    with at(reclaim.due_on):
        for day in (reclaim.due_on + timedelta(days=1), after_completion_deadline(grant) - timedelta(days=1)):
            with pytest.raises(ValidationError) as refused:
                pay(reclaim, paid_on=day)
            assert list(refused.value.message_dict) == ["paid_on"]


def test_a_prepared_reclaim_cannot_be_paid_and_a_paid_one_not_twice(grant):
    with at(after_completion_deadline(grant)):
        prepared = prepare(grant)
        with pytest.raises(ValidationError):
            pay(prepared, paid_on=timezone.localdate(), amount=prepared.amount)
    discard_reclaim(reclaim=prepared, user=UserFactory(assessor=True))
    reclaim = confirmed(grant)
    with at(reclaim.due_on):
        pay(reclaim)
        with pytest.raises(ValidationError):
            pay(reclaim)


def test_settlement_after_a_reclaim_does_not_take_back_the_same_units_twice(grant):
    reported(grant, [6])  # 6 of 10 homes at € 7.000; 4 are reclaimed: € 28.000
    confirmed(grant)

    with at(after_completion_deadline(grant) + timedelta(days=1)):
        certify_accounts(grant, spent="42000.00", cumulative="42000.00")
        settlement = prepare_settlement(decision=current_decision(application=grant), user=UserFactory(assessor=True))

    assert (settlement.amount_paid, settlement.amount_settled, settlement.amount_reclaimed) == (
        Decimal("42000.00"),
        Decimal("42000.00"),
        Decimal("0.00"),
    )
