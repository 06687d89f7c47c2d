"""The ranked list's CSV writes a name that looks like a formula as text; amounts stay numbers."""

import csv
import io
from decimal import Decimal

import pytest

from allocation import services as allocation_services
from allocation.selectors import write_ranked_list_csv
from grants.models import Municipality
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_ranked_list_quotes_a_municipality_name_that_is_a_formula():
    Municipality.objects.filter(code="GM0363").update(name='=HYPERLINK("https://example.org","Amsterdam")')
    tranche = closed_tranche(budget_ceiling=Decimal("100000.00"))
    ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0363")
    run = allocation_services.prepare_allocation(tranche=tranche, user=UserFactory(assessor=True))
    stream = io.StringIO()

    write_ranked_list_csv(run=run, stream=stream)

    [row] = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert row["municipality"] == '\'=HYPERLINK("https://example.org","Amsterdam")'
    assert (row["rank"], row["requested"], row["proposed"]) == ("1", "70000.00", "70000.00")
