"""Properties of the grant's life after the decision over random sequences of steps (hypothesis, on the database).

Over any sequence of waivers, withdrawals, grants on objection, ceiling raises and supplementary runs: the grants
in force never exceed the ceiling in force plus the over-commitments recorded on objection, and the reserve list
is served in rank order.
"""

from decimal import ROUND_DOWN, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocation import reserve
from allocation.budget import budget_left, reserve_lines
from allocation.models import AllocationLine, Decision, DecisionKind, LineOutcome, WithdrawalGround
from allocation.selectors import current_decision
from allocation.services import issue_decision
from allocation.waivers import waive_grant
from allocation.withdrawals import confirm_withdrawal, prepare_withdrawal
from grants.models import Tranche
from tests.allocation.reserve import apply, approver, assessor, raise_ceiling
from tests.allocation.sealing import closed_tranche
from tests.factories import UserFactory
from tests.figures import allocate

pytestmark = pytest.mark.django_db

MUNICIPALITIES = ["GM0363", "GM0344"]
APPLICATIONS = 6

steps = st.lists(
    st.one_of(
        st.tuples(st.just("waive"), st.integers(0, APPLICATIONS - 1), st.integers(0, 9)),
        st.tuples(st.just("withdraw"), st.integers(0, APPLICATIONS - 1), st.integers(0, 9)),
        st.tuples(st.just("objection"), st.integers(0, APPLICATIONS - 1), st.just(0)),
        st.tuples(st.just("raise"), st.integers(1, 4), st.just(0)),
        st.tuples(st.just("supplementary"), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=8,
)
applications = st.lists(
    st.tuples(st.sampled_from([5, 10, 15]), st.sampled_from(MUNICIPALITIES)),
    min_size=APPLICATIONS,
    max_size=APPLICATIONS,
)


def _lowered(amount: Decimal, tenths: int) -> Decimal:
    return (amount * tenths / 10).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def _try(step) -> None:
    """A step the rules refuse (nothing to lower, no budget left) changes nothing; that is tested elsewhere."""
    try:
        with transaction.atomic():
            step()
    except ValidationError:
        pass


def _waive(application, tenths: int) -> None:
    in_force = current_decision(application=application)
    user = UserFactory(password=None, signatory=True, municipality=application.municipality)
    amount = _lowered(in_force.amount, tenths)
    _try(lambda: waive_grant(application=application, user=user, amount_after=amount, reason="Afstand."))


def _withdraw(application, tenths: int) -> None:
    amount = _lowered(current_decision(application=application).amount, tenths)

    def step():
        withdrawal = prepare_withdrawal(
            application=application,
            user=assessor(),
            amount_after=amount,
            ground=WithdrawalGround.OBLIGATIONS_NOT_MET,
            reason="Niet nagekomen.",
        )
        confirm_withdrawal(withdrawal=withdrawal, user=approver())

    _try(step)


def _grant_on_objection(application) -> None:
    in_force = current_decision(application=application)
    if in_force.is_grant:
        return
    left = budget_left(tranche=application.tranche).total
    amount = in_force.requested

    def step():
        issue_decision(
            application=application,
            kind=DecisionKind.OBJECTION,
            amount=amount,
            user=approver(),
            explanation="Bezwaar gegrond.",
            over_commitment=max(Decimal(0), amount - left),
        )

    _try(step)


def _serve_reserve_list(tranche: Tranche) -> None:
    waiting = {line.application_id for line in reserve_lines(tranche=tranche)}
    try:
        with transaction.atomic():
            run = reserve.prepare_supplementary(tranche=tranche, user=assessor())
            run = reserve.confirm_supplementary(run=run, user=approver())
    except ValidationError:
        return
    lines = list(AllocationLine.objects.filter(run=run).order_by("window__code", "rank"))
    # The run covers the whole reserve list as it was.
    assert {line.application_id for line in lines} == waiting
    left_unfunded = False
    for line in lines:
        if line.proposed > 0:
            assert not left_unfunded, "funded past an earlier application left on the reserve list"
            assert current_decision(application=line.application).kind == DecisionKind.SUPPLEMENTARY
        elif line.outcome == LineOutcome.RESERVE:
            left_unfunded = True


def _check_the_ceiling(tranche: Tranche) -> None:
    tranche = Tranche.objects.prefetch_related("amendments").get(pk=tranche.pk)
    decisions = Decision.objects.filter(application__tranche=tranche)
    granted = decisions.current().aggregate(total=Sum("amount", default=Decimal(0)))["total"]
    over = decisions.aggregate(total=Sum("over_commitment", default=Decimal(0)))["total"]
    assert granted <= tranche.ceiling_at(timezone.now()) + over


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(applications, steps)
def test_grants_stay_within_the_ceiling_and_the_reserve_list_is_served_in_rank_order(specs, sequence):
    with transaction.atomic():
        tranche = closed_tranche(budget_ceiling=Decimal("140000.00"), max_per_municipality=Decimal("175000.00"))
        made = [apply(tranche, units, municipality) for units, municipality in specs]
        allocate(tranche)
        ceiling = Decimal("140000.00")
        for kind, number, amount in sequence:
            application = made[number]
            if kind == "waive":
                _waive(application, amount)
            elif kind == "withdraw":
                _withdraw(application, amount)
            elif kind == "objection":
                _grant_on_objection(application)
            elif kind == "raise":
                ceiling += Decimal(35000) * number
                raise_ceiling(tranche, str(ceiling))
            else:
                _serve_reserve_list(tranche)
            _check_the_ceiling(tranche)
        transaction.set_rollback(True)
