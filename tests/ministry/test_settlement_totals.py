"""The ministry's totals with progress reports and settlements: units realised, settled and reclaimed."""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from ministry.models import TotalsRow, TotalsScope
from ministry.services import compute_totals, store_totals
from realisation.services import prepare_settlement
from tests.factories import UserFactory
from tests.progress import TEN_HOMELESS, completed, granted, settle, submit

pytestmark = pytest.mark.django_db

FOUR_STUDENTS = ("students", 4, "flexible", None)


def _row(scope, **dimensions) -> TotalsRow:
    return TotalsRow.objects.get(scope=scope, **dimensions)


def test_units_realised_count_the_latest_report_of_each_grant_per_target_group():
    grant = granted(lines=(TEN_HOMELESS, FOUR_STUDENTS))
    submit(grant, started=timezone.localdate(), realised=[2, 1])
    submit(grant, started=timezone.localdate(), realised=[6, 3])
    store_totals()

    tranche = grant.tranche
    assert _row(TotalsScope.TRANCHE, tranche=tranche).units_realised == 9
    homeless = _row(TotalsScope.TRANCHE_TARGET_GROUP, tranche=tranche, tranche_target_group__code="homeless")
    students = _row(TotalsScope.TRANCHE_TARGET_GROUP, tranche=tranche, tranche_target_group__code="students")
    assert (homeless.units_realised, students.units_realised) == (6, 3)
    assert _row(TotalsScope.PERMANENCE, tranche=tranche, permanence="flexible").units_realised == 3


def test_realised_units_do_not_change_the_other_measures():
    grant = granted(lines=(TEN_HOMELESS, FOUR_STUDENTS))
    store_totals()
    before = _row(TotalsScope.TRANCHE, tranche=grant.tranche)
    submit(grant, started=timezone.localdate(), realised=[6, 3])
    submit(grant, started=timezone.localdate(), realised=[7, 3])
    store_totals()

    after = _row(TotalsScope.TRANCHE, tranche=grant.tranche)
    assert (after.requested, after.units_granted, after.applications_granted) == (
        before.requested,
        before.units_granted,
        before.applications_granted,
    )


def test_settled_and_reclaimed_come_from_confirmed_settlements_only():
    settled, prepared = granted(lines=(TEN_HOMELESS,)), granted(lines=(TEN_HOMELESS,), municipality="GM0363")
    completed(settled, [6])
    completed(prepared, [5])
    settle(settled)
    prepare_settlement(decision=prepared.decision, user=UserFactory(assessor=True))
    store_totals()

    row = _row(TotalsScope.TRANCHE, tranche=settled.tranche)
    assert (row.amount_settled, row.amount_reclaimed) == (Decimal("42000.00"), Decimal("28000.00"))
    other = _row(TotalsScope.TRANCHE, tranche=prepared.tranche)
    assert (other.amount_settled, other.amount_reclaimed) == (Decimal("0"), Decimal("0"))
    scheme = _row(TotalsScope.SCHEME, scheme=settled.tranche.scheme)
    assert (scheme.amount_settled, scheme.amount_reclaimed) == (Decimal("42000.00"), Decimal("28000.00"))


def test_realisation_by_year_of_completion_per_tranche_and_cumulative():
    early, late = granted(lines=(TEN_HOMELESS,)), granted(lines=(FOUR_STUDENTS,))
    started = timezone.localdate()
    with time_machine.travel(date(started.year + 1, 3, 1)):
        submit(early, started=started, completed=date(started.year + 1, 2, 1), realised=[10])
    with time_machine.travel(date(started.year + 2, 3, 1)):
        submit(late, started=started, completed=date(started.year + 2, 2, 1), realised=[3])
    submit(granted(lines=(TEN_HOMELESS,)), started=started, realised=[0])
    store_totals()

    rows = TotalsRow.objects.filter(scope=TotalsScope.COMPLETION_YEAR)
    assert sorted((row.tranche_id, row.year, row.units_realised) for row in rows if row.tranche_id) == sorted(
        [(early.tranche_id, started.year + 1, 10), (late.tranche_id, started.year + 2, 3)]
    )
    assert sorted((row.year, row.units_realised) for row in rows if row.tranche_id is None) == [
        (started.year + 1, 10),
        (started.year + 2, 3),
    ]


def test_stored_totals_with_reports_and_settlements_equal_a_direct_computation():
    grant = granted(lines=(TEN_HOMELESS, FOUR_STUDENTS))
    completed(grant, [8, 4])
    settle(grant)
    submit(granted(municipality="GM0363"), started=timezone.localdate() - timedelta(days=1), realised=[2])

    store_totals()

    def comparable(rows):
        measures = ("units_realised", "amount_settled", "amount_reclaimed")
        dimensions = ("scope", "tranche_id", "window_id", "municipality_id", "tranche_target_group_id", "permanence")
        return Counter(tuple(getattr(row, name) for name in (*dimensions, "year", *measures)) for row in rows)

    assert comparable(TotalsRow.objects.all()) == comparable(compute_totals())
