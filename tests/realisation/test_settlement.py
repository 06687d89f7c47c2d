"""Settlement (vaststelling): amounts checked by hand, four eyes, immutability and what must come first."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from allocation.selectors import current_decision
from ministry import tasks
from realisation.models import Settlement, SettlementLine, SettlementStatus
from realisation.services import confirm_settlement, discard_settlement, prepare_settlement
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.figures import allocate
from tests.progress import TEN_HOMELESS, completed, granted, settle, signatory_of, submit

pytestmark = pytest.mark.django_db

FOUR_STUDENTS = ("students", 4, "flexible", None)


def line_amounts(settlement: Settlement) -> list[tuple[Decimal, Decimal]]:
    return list(settlement.lines.order_by("unit_line_id").values_list("amount_granted", "amount_settled"))


# --- amounts --------------------------------------------------------------------------------------------


def test_full_realisation_settles_the_whole_grant():
    grant = granted(lines=(TEN_HOMELESS,))  # 10 × € 7.000
    completed(grant, [10])

    settlement = settle(grant)

    assert settlement.amount_paid == Decimal("70000.00")
    assert settlement.amount_settled == Decimal("70000.00")
    assert settlement.amount_reclaimed == Decimal("0.00")
    assert (settlement.units_granted, settlement.units_realised) == (10, 10)


def test_partial_realisation_funds_only_the_units_realised_pro_rata_per_line():
    # € 70.000 for 10 homes and € 28.000 for 4 student units: 6 homes and all student units realised.
    grant = granted(lines=(TEN_HOMELESS, FOUR_STUDENTS))
    completed(grant, [6, 4])

    settlement = settle(grant)

    assert line_amounts(settlement) == [
        (Decimal("70000.00"), Decimal("42000.00")),
        (Decimal("28000.00"), Decimal("28000.00")),
    ]
    assert settlement.amount_settled == Decimal("70000.00")
    assert settlement.amount_reclaimed == Decimal("28000.00")
    assert (settlement.units_granted, settlement.units_realised) == (14, 10)


def test_partial_grant_shares_the_amount_granted_over_the_lines_by_their_requests():
    # € 98.000 requested, a ceiling of € 49.000: half of each line's request. Shares € 35.000 and € 14.000;
    # 5 of 10 homes and 4 of 4 student units realised: € 17.500 + € 14.000.
    grant = granted(lines=(TEN_HOMELESS, FOUR_STUDENTS), ceiling="49000.00")
    assert (grant.decision.outcome, grant.decision.amount) == ("partially_granted", Decimal("49000.00"))
    completed(grant, [5, 4])

    settlement = settle(grant)

    assert line_amounts(settlement) == [
        (Decimal("35000.00"), Decimal("17500.00")),
        (Decimal("14000.00"), Decimal("14000.00")),
    ]
    assert settlement.amount_paid == Decimal("49000.00")
    assert settlement.amount_settled == Decimal("31500.00")
    assert settlement.amount_reclaimed == Decimal("17500.00")


def test_each_line_is_rounded_down_to_the_cent():
    # € 10.000 for 3 units, 1 realised: 3.333,333… → 3.333,33; € 20.000 for 3 units, 2 realised: 13.333,333… →
    # 13.333,33. Settled 16.666,66 of 30.000,00: 13.333,34 to reclaim.
    grant = granted(lines=(("homeless", 3, "permanent", "10000.00"), ("students", 3, "flexible", "20000.00")))
    completed(grant, [1, 2])

    settlement = settle(grant)

    assert [settled for _share, settled in line_amounts(settlement)] == [Decimal("3333.33"), Decimal("13333.33")]
    assert settlement.amount_settled == Decimal("16666.66")
    assert settlement.amount_reclaimed == Decimal("13333.34")


def test_rounding_down_the_shares_of_a_partial_grant_leaves_a_cent_to_reclaim_on_full_realisation():
    # Two thirds of € 10.000 and € 20.000: 6.666,666… → 6.666,66 and 13.333,333… → 13.333,33.
    lines = (("homeless", 3, "permanent", "10000.00"), ("students", 3, "flexible", "20000.00"))
    grant = granted(lines=lines, ceiling="20000.00")
    completed(grant, [3, 3])

    settlement = settle(grant)

    assert line_amounts(settlement) == [
        (Decimal("6666.66"), Decimal("6666.66")),
        (Decimal("13333.33"), Decimal("13333.33")),
    ]
    assert settlement.amount_settled == Decimal("19999.99")
    assert settlement.amount_reclaimed == Decimal("0.01")


def test_without_any_report_after_the_completion_deadline_everything_is_reclaimed():
    grant = granted(lines=(TEN_HOMELESS,))
    later = timezone.now() + timedelta(days=(grant.decision.complete_by - timezone.localdate()).days + 1)

    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True), now=later)

    assert settlement.progress_report is None
    assert (settlement.amount_settled, settlement.amount_reclaimed) == (Decimal("0.00"), Decimal("70000.00"))


def test_the_settlement_uses_the_latest_report():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [10])
    latest = completed(grant, [7])

    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    assert settlement.progress_report == latest
    assert settlement.amount_settled == Decimal("49000.00")


# --- when a grant can be settled ------------------------------------------------------------------------


def test_a_grant_is_not_settled_before_completion_or_its_deadline():
    grant = granted(lines=(TEN_HOMELESS,))
    submit(grant, started=timezone.localdate(), realised=[3])

    with pytest.raises(ValidationError):
        prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))
    assert not Settlement.objects.exists()


def test_a_grant_is_settled_once_only():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [10])
    prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    with pytest.raises(ValidationError):
        prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))
    assert Settlement.objects.count() == 1


def test_a_municipal_user_cannot_prepare_a_settlement():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [10])

    with pytest.raises(PermissionDenied):
        prepare_settlement(decision=grant.decision, user=signatory_of(grant))


def test_a_newer_report_after_preparing_stops_the_confirmation():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [8])
    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))
    completed(grant, [10])

    with pytest.raises(ValidationError):
        confirm_settlement(settlement=settlement, user=UserFactory(approver=True))
    settlement.refresh_from_db()
    assert settlement.status == SettlementStatus.PREPARED


def test_no_progress_is_reported_after_the_confirmed_settlement():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [10])
    settle(grant)

    with pytest.raises(ValidationError):
        completed(grant, [9])


# --- four eyes and immutability -------------------------------------------------------------------------


def test_the_approver_who_prepared_cannot_confirm():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [10])
    approver = UserFactory(approver=True)
    settlement = prepare_settlement(decision=grant.decision, user=approver)

    with pytest.raises(PermissionDenied):
        confirm_settlement(settlement=settlement, user=approver)
    settlement.refresh_from_db()
    assert (settlement.status, settlement.approved_by) == (SettlementStatus.PREPARED, None)


def test_an_assessor_cannot_confirm():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [10])
    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    with pytest.raises(PermissionDenied):
        confirm_settlement(settlement=settlement, user=UserFactory(assessor=True))


def test_the_database_refuses_a_settlement_confirmed_by_its_preparer():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [10])
    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(approver=True))

    with pytest.raises(IntegrityError), transaction.atomic():
        Settlement.objects.filter(pk=settlement.pk).update(
            status=SettlementStatus.CONFIRMED, approved_by=settlement.prepared_by, confirmed_at=timezone.now()
        )


def test_the_database_refuses_a_reclaim_that_does_not_add_up():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [5])
    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    with pytest.raises(IntegrityError), transaction.atomic():
        Settlement.objects.filter(pk=settlement.pk).update(amount_reclaimed=Decimal("0.00"))


def test_the_database_refuses_a_line_settled_above_its_share():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [10])
    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    with pytest.raises(IntegrityError), transaction.atomic():
        SettlementLine.objects.filter(settlement=settlement).update(amount_settled=Decimal("70000.01"))


def test_a_confirmed_settlement_can_be_neither_confirmed_again_nor_discarded():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [10])
    settlement = settle(grant)

    with pytest.raises(PermissionDenied):
        confirm_settlement(settlement=settlement, user=UserFactory(approver=True))
    with pytest.raises(PermissionDenied):
        discard_settlement(settlement=settlement, user=UserFactory(approver=True))
    assert Settlement.objects.filter(pk=settlement.pk, status=SettlementStatus.CONFIRMED).exists()


def test_a_prepared_settlement_can_be_discarded_and_prepared_again():
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [10])
    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    discard_settlement(settlement=settlement, user=UserFactory(assessor=True))
    again = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    assert Settlement.objects.get() == again


def test_confirming_refreshes_the_totals_after_commit(django_capture_on_commit_callbacks):
    grant = granted(lines=(TEN_HOMELESS,))
    completed(grant, [10])
    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    with (
        mock.patch.object(tasks.refresh_totals, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        confirm_settlement(settlement=settlement, user=UserFactory(approver=True))

    delay.assert_called_once_with()


def test_a_refused_application_cannot_be_settled():
    tranche = TrancheFactory(budget_ceiling=Decimal("70000.00"))
    _first, second = (ApplicationFactory(eligible=True, tranche=tranche) for _ in range(2))
    allocate(tranche)
    second.refresh_from_db()
    later = timezone.now() + timedelta(days=6 * 366)

    with pytest.raises(ValidationError):
        prepare_settlement(decision=current_decision(application=second), user=UserFactory(assessor=True), now=later)
    assert not Settlement.objects.exists()
