import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import translation

from grants.models import FixedAllocation, Municipality
from grants.services import TRANCHES_DIR, import_fixed_allocation, load_tranche

pytestmark = pytest.mark.django_db

TRANCHES = TRANCHES_DIR
PUBLICATION = "Stcrt. 2020, 58877"


@pytest.fixture
def tranche():
    return load_tranche(data=json.loads((TRANCHES / "rha-2020.json").read_text(encoding="utf-8")))


def write_csv(tmp_path, text: str) -> Path:
    path = tmp_path / "annex.csv"
    path.write_text(text, encoding="utf-8")
    return path


def rows(*items):
    return [dict(zip(("municipality_code", "amount", "units"), item, strict=False)) for item in items]


def import_rows(tranche, *items):
    with translation.override("en"):
        return import_fixed_allocation(tranche=tranche, rows=rows(*items), publication_reference=PUBLICATION)


def refusal(tranche, *items) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        import_rows(tranche, *items)
    return raised.value.messages


def test_a_good_file_stores_every_row_with_its_publication(tranche):
    import_rows(tranche, ("GM0363", "1500000.00", "300"), ("GM0344", "750000", ""))
    stored = {
        a.municipality.code: (a.amount, a.units, a.publication_reference) for a in tranche.fixed_allocations.all()
    }
    assert stored == {
        "GM0363": (Decimal("1500000.00"), 300, PUBLICATION),
        "GM0344": (Decimal("750000.00"), None, PUBLICATION),
    }


def test_an_unknown_municipality_code_rejects_the_whole_file_naming_its_row(tranche):
    messages = refusal(tranche, ("GM0363", "1500000", "300"), ("GM9999", "1000", ""))
    assert messages == ["Row 3: unknown municipality code 'GM9999'"]
    assert not FixedAllocation.objects.exists()


def test_a_negative_amount_rejects_the_whole_file_naming_its_row(tranche):
    messages = refusal(tranche, ("GM0363", "-5", ""), ("GM0344", "1000", ""))
    assert len(messages) == 1 and messages[0].startswith("Row 2: the amount must be more than zero")
    assert not FixedAllocation.objects.exists()


def test_a_duplicate_municipality_rejects_the_whole_file_naming_both_rows(tranche):
    messages = refusal(tranche, ("GM0363", "1000", ""), ("GM0344", "1000", ""), ("GM0363", "2000", ""))
    assert messages == ["Row 4: GM0363 is already on row 2"]
    assert not FixedAllocation.objects.exists()


def test_every_wrong_row_is_reported_at_once(tranche):
    messages = refusal(tranche, ("GM9999", "abc", "-1"), ("GM0344", "10.001", ""))
    assert [message.split(":")[0] for message in messages] == ["Row 2", "Row 2", "Row 2", "Row 3"]


def test_amounts_above_the_ceiling_are_refused(tranche):
    assert refusal(tranche, ("GM0363", "30000000", ""), ("GM0344", "20000001", "")) == [
        "The allocations add up to € 50,000,001.00, above the ceiling of € 50,000,000.00."
    ]
    assert not FixedAllocation.objects.exists()


def test_an_empty_file_is_refused(tranche):
    assert refusal(tranche) == ["The file has no rows."]


def test_importing_again_updates_the_amounts_in_place(tranche):
    import_rows(tranche, ("GM0363", "1000", ""))
    import_rows(tranche, ("GM0363", "1200", "12"))
    allocation = FixedAllocation.objects.get(tranche=tranche)
    assert (allocation.amount, allocation.units) == (Decimal("1200"), 12)


def test_the_database_refuses_a_second_allocation_for_one_municipality(tranche):
    amsterdam = Municipality.objects.get(code="GM0363")
    FixedAllocation.objects.create(tranche=tranche, municipality=amsterdam, amount=1, publication_reference="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        FixedAllocation.objects.create(tranche=tranche, municipality=amsterdam, amount=2, publication_reference="x")


def test_the_database_refuses_an_amount_of_zero(tranche):
    with pytest.raises(IntegrityError), transaction.atomic():
        FixedAllocation.objects.create(
            tranche=tranche, municipality=Municipality.objects.get(code="GM0363"), amount=0, publication_reference="x"
        )


def test_the_command_imports_the_sample_annex(tranche):
    call_command(
        "import_fixed_allocation",
        str(TRANCHES / "rha-2020-annex-sample.csv"),
        tranche="rha-2020",
        publication=PUBLICATION,
    )
    assert tranche.fixed_allocations.count() == 5


def test_the_command_lists_the_row_errors_and_imports_nothing(tranche, tmp_path):
    path = write_csv(tmp_path, "municipality_code,amount\nGM0363,1000\nGM0363,-1\n")
    with translation.override("en"), pytest.raises(CommandError) as raised:
        call_command("import_fixed_allocation", str(path), tranche="rha-2020", publication=PUBLICATION)
    assert "Row 3: the amount must be more than zero" in str(raised.value)
    assert "Row 3: GM0363 is already on row 2" in str(raised.value)
    assert not FixedAllocation.objects.exists()


def test_the_command_refuses_a_file_without_the_amount_column(tranche, tmp_path):
    path = write_csv(tmp_path, "municipality_code,bedrag\nGM0363,1000\n")
    with pytest.raises(CommandError, match="missing column"):
        call_command("import_fixed_allocation", str(path), tranche="rha-2020", publication=PUBLICATION)


def test_the_command_refuses_an_unknown_tranche(tmp_path):
    path = write_csv(tmp_path, "municipality_code,amount\nGM0363,1000\n")
    with pytest.raises(CommandError, match="No tranche"):
        call_command("import_fixed_allocation", str(path), tranche="rha-1999", publication=PUBLICATION)
