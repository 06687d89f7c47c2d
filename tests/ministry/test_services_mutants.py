"""What ministry.services computes, to the cent and the unit, checked by hand on small cases (docs/testing.md,
"Mutation testing")."""

import pytest

from ministry.models import TotalsRow
from ministry.services import store_totals
from tests.factories import TrancheFactory

pytestmark = pytest.mark.django_db


def test_each_refresh_stores_the_next_generation_and_removes_the_one_before():
    TrancheFactory()

    assert store_totals() == 1
    assert set(TotalsRow.objects.values_list("generation", flat=True)) == {1}
    assert store_totals() == 2
    assert set(TotalsRow.objects.values_list("generation", flat=True)) == {2}
