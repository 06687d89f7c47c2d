"""Confirmations racing from parallel database connections: one wins, sums stay within the ceilings."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum

from allocation import services as allocation_services
from allocation.models import AllocationRun, Decision, RunStatus
from grants.models import Window
from grants.services import load_reference_data
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory


@pytest.fixture
def _reference_data_restored(django_db_blocker):
    """Transactional tests end by emptying every table; put the reference data back for the tests after."""
    yield
    with django_db_blocker.unblock():
        load_reference_data()


def confirm_in_parallel(runs_and_approvers) -> list[str]:
    """Start every confirmation at the same moment, each on its own connection; returns what each got."""
    barrier = threading.Barrier(len(runs_and_approvers))
    outcomes = [""] * len(runs_and_approvers)

    def confirm(index, run, approver):
        try:
            barrier.wait()
            allocation_services.confirm_allocation(run=run, user=approver)
            outcomes[index] = "confirmed"
        except ValidationError as error:
            outcomes[index] = f"refused: {error.messages[0]}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=confirm, args=(index, run, approver))
        for index, (run, approver) in enumerate(runs_and_approvers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.postgres
def test_parallel_confirmations_of_one_window_let_exactly_one_win(
    _require_postgres, _reference_data_restored, transactional_db
):
    tranche = closed_tranche(budget_ceiling=Decimal("150000.00"))
    for _ in range(3):
        ApplicationFactory(eligible=True, tranche=tranche)
    assessor = UserFactory(assessor=True)
    runs = [allocation_services.prepare_allocation(tranche=tranche, user=assessor) for _ in range(3)]
    outcomes = confirm_in_parallel([(run, UserFactory(approver=True)) for run in runs])
    assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["confirmed", "refused", "refused"]
    assert AllocationRun.objects.filter(status=RunStatus.CONFIRMED).count() == 1
    assert Decision.objects.count() == 3
    assert Decision.objects.aggregate(total=Sum("amount"))["total"] == Decimal("150000.00")


@pytest.mark.postgres
def test_parallel_confirmations_of_several_windows_never_exceed_the_tranche_ceiling(
    _require_postgres, _reference_data_restored, transactional_db
):
    # Four windows of 80,000 in a tranche of 100,000: each preview alone fits, any two together do not.
    tranche = closed_tranche(budget_ceiling=Decimal("100000.00"))
    first = Window.objects.get(tranche=tranche)
    first.budget_ceiling = Decimal("80000.00")
    first.save()
    windows = [first]
    for code in ("b", "c", "d"):
        window = Window.objects.create(tranche=tranche, code=code, name=code, budget_ceiling=Decimal("80000.00"))
        window.eligible_target_groups.set(first.eligible_target_groups.all())
        windows.append(window)
    for window in windows:
        ApplicationFactory(eligible=True, tranche=tranche, window=window, lines=[("homeless", 11, "permanent")])
    assessor = UserFactory(assessor=True)
    runs = [allocation_services.prepare_allocation(tranche=tranche, window=w, user=assessor) for w in windows]
    assert {run.proposed_total for run in runs} == {Decimal("77000.00")}
    outcomes = confirm_in_parallel([(run, UserFactory(approver=True)) for run in runs])
    assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["confirmed", "refused", "refused", "refused"]
    assert Decision.objects.aggregate(total=Sum("amount"))["total"] == Decimal("77000.00")
