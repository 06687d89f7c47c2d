"""The ranked list's CSV writes a name that looks like a formula as text; amounts stay numbers (decimal comma)."""

import csv
import io
from decimal import Decimal

import pytest
from django.utils import translation

from accounts.spreadsheets import csv_bytes
from allocation import services as allocation_services
from allocation.selectors import ranked_list_table
from grants.models import Municipality
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_ranked_list_quotes_a_municipality_name_that_is_a_formula():
    Municipality.objects.filter(code="GM0363").update(name='=HYPERLINK("https://example.org","Amsterdam")')
    tranche = closed_tranche(budget_ceiling=Decimal("100000.00"))
    ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0363")
    run = allocation_services.prepare_allocation(tranche=tranche, user=UserFactory(assessor=True))

    with translation.override("en"):
        data = csv_bytes(*ranked_list_table(run=run))

    [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert row["municipality"] == '\'=HYPERLINK("https://example.org","Amsterdam")'
    assert (row["rank"], row["requested"], row["proposed"]) == ("1", "70000,00", "70000,00")
