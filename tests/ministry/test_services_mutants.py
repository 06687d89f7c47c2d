"""What ministry.services computes, to the cent and the unit, checked by hand on small cases (docs/testing.md,
"Mutation testing")."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from allocation.models import Decision
from grants.models import AmendmentKind, TrancheAmendment
from ministry.models import TotalsRow, TotalsScope
from ministry.services import APPLICATION_GRAIN, _grain, compute_totals, store_totals
from tests.factories import ApplicationFactory, TrancheFactory
from tests.figures import allocate, application

pytestmark = pytest.mark.django_db


def test_each_refresh_stores_the_next_generation_and_removes_the_one_before():
    TrancheFactory()

    assert store_totals() == 1
    assert set(TotalsRow.objects.values_list("generation", flat=True)) == {1}
    assert store_totals() == 2
    assert set(TotalsRow.objects.values_list("generation", flat=True)) == {2}


def test_a_breakdown_is_rolled_up_from_the_application_grain_or_one_with_tranche_and_municipality():
    assert _grain(APPLICATION_GRAIN) == APPLICATION_GRAIN
    assert _grain(("scheme", "tranche", "window")) == APPLICATION_GRAIN
    assert _grain(("scheme", "tranche", "target_group")) == ("scheme", "tranche", "municipality", "target_group")


def _target_group_rows(tranche):
    return {
        row.target_group.code: (row.applications_submitted, row.applications_granted, row.units_granted)
        for row in compute_totals()
        if row.scope == TotalsScope.TARGET_GROUP and row.tranche_id == tranche.pk
    }


def test_applications_are_counted_once_per_target_group_they_ask_homes_for():
    tranche = TrancheFactory(budget_ceiling=Decimal("10000000.00"))
    application(
        tranche,
        "GM0344",
        [
            ("homeless", 10, "permanent", "regular"),
            ("homeless", 2, "flexible", "regular"),
            ("status_holders", 5, "permanent", "regular"),
        ],
        minutes=1,
    )
    application(tranche, "GM0363", [("homeless", 4, "permanent", "regular")], minutes=2)
    allocate(tranche)
    assert _target_group_rows(tranche) == {"homeless": (2, 2, 16), "status_holders": (1, 1, 5)}


def test_only_the_decision_in_force_counts_for_an_application_decided_again():
    tranche = TrancheFactory(budget_ceiling=Decimal("10000000.00"))
    granted = application(tranche, "GM0344", [("homeless", 10, "permanent", "regular")], minutes=1)
    allocate(tranche)
    decision = Decision.objects.get(application=granted)
    # An earlier decision of the same application, since replaced.
    Decision.objects.filter(pk=decision.pk).update(is_current=False)
    decision.pk, decision.public_id = None, uuid.uuid4()
    decision.save()
    assert Decision.objects.filter(application=granted).count() == 2
    assert _target_group_rows(tranche) == {"homeless": (1, 1, 10)}


def _ceiling(tranche, *, effective_at, new_ceiling, kind=AmendmentKind.CEILING):
    return TrancheAmendment.objects.create(
        tranche=tranche,
        kind=kind,
        publication_reference=f"Stcrt. {effective_at:%Y-%m-%d} {new_ceiling}",
        effective_at=effective_at,
        old_ceiling=tranche.budget_ceiling if kind == AmendmentKind.CEILING else None,
        new_ceiling=new_ceiling if kind == AmendmentKind.CEILING else None,
        old_closes_at=tranche.closes_at if kind == AmendmentKind.CLOSING else None,
        new_closes_at=tranche.closes_at + timedelta(days=7) if kind == AmendmentKind.CLOSING else None,
    )


def _budget(tranche, now):
    return next(
        row.budget
        for row in compute_totals(now=now)
        if row.scope == TotalsScope.TRANCHE and row.tranche_id == tranche.pk
    )


def test_the_budget_is_the_ceiling_in_force_at_the_moment_of_the_totals():
    tranche = TrancheFactory(budget_ceiling=Decimal("1000000.00"))
    start = tranche.opens_at
    # Recorded first, in force later.
    _ceiling(tranche, effective_at=start + timedelta(days=20), new_ceiling=Decimal("3000000.00"))
    _ceiling(tranche, effective_at=start + timedelta(days=10), new_ceiling=Decimal("2000000.00"))
    # The same moment twice: the one recorded last counts.
    _ceiling(tranche, effective_at=start + timedelta(days=30), new_ceiling=Decimal("4000000.00"))
    _ceiling(tranche, effective_at=start + timedelta(days=30), new_ceiling=Decimal("4500000.00"))
    # Another kind of amendment, later, leaves the ceiling alone.
    _ceiling(tranche, effective_at=start + timedelta(days=40), new_ceiling=None, kind=AmendmentKind.CLOSING)

    assert _budget(tranche, start + timedelta(days=5)) == Decimal("1000000.00")
    assert _budget(tranche, start + timedelta(days=15)) == Decimal("2000000.00")
    assert _budget(tranche, start + timedelta(days=25)) == Decimal("3000000.00")
    assert _budget(tranche, start + timedelta(days=45)) == Decimal("4500000.00")


def test_only_schemes_tranches_and_windows_have_a_budget():
    tranche = TrancheFactory(budget_ceiling=Decimal("10000000.00"))
    application(tranche, "GM0344", [("homeless", 10, "permanent", "regular")], minutes=1)
    allocate(tranche)
    budgets = {row.scope: row.budget for row in compute_totals() if row.tranche_id in (tranche.pk, None)}
    assert budgets[TotalsScope.TRANCHE] == budgets[TotalsScope.WINDOW] == Decimal("10000000.00")
    assert {scope for scope, budget in budgets.items() if budget is None} == {
        TotalsScope.PROVINCE,
        TotalsScope.MUNICIPALITY,
        TotalsScope.TARGET_GROUP,
        TotalsScope.TRANCHE_TARGET_GROUP,
        TotalsScope.HOUSING_TYPE,
        TotalsScope.PERMANENCE,
    }


def test_a_schemes_oversubscription_is_the_sum_of_its_tranches():
    first = TrancheFactory(budget_ceiling=Decimal("50000.00"))
    second = TrancheFactory(scheme=first.scheme, budget_ceiling=Decimal("60000.00"))
    TrancheFactory(scheme=first.scheme, budget_ceiling=Decimal("1000000.00"))
    for tranche in (first, second):
        ApplicationFactory(submitted=True, tranche=tranche)  # ten homes of € 7,000: € 70,000
    rows = compute_totals()
    oversubscription = {
        (row.scope, row.tranche_id): row.oversubscription
        for row in rows
        if row.scope in (TotalsScope.SCHEME, TotalsScope.TRANCHE) and row.scheme_id == first.scheme_id
    }
    assert oversubscription[(TotalsScope.TRANCHE, first.pk)] == Decimal("20000.00")
    assert oversubscription[(TotalsScope.TRANCHE, second.pk)] == Decimal("10000.00")
    assert oversubscription[(TotalsScope.SCHEME, None)] == Decimal("30000.00")
