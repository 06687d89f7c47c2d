"""load_tranche answers a bad tranche file with one line naming the field, and stores nothing of it."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from grants.models import Tranche
from grants.services import TRANCHES_DIR

pytestmark = pytest.mark.django_db


def _file(tmp_path, **changes):
    data = json.loads((TRANCHES_DIR / "rha-2023.json").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path = tmp_path / "tranche.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_tranche_number_already_used_is_refused_with_the_field_named(tmp_path):
    call_command("load_tranche", TRANCHES_DIR / "rha-2023.json")

    with pytest.raises(CommandError) as refused:
        call_command("load_tranche", _file(tmp_path, slug="rha-2023-kopie", receipt_prefix="K23"))

    assert "number: 4 is already used by tranche rha-2023" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not Tranche.objects.filter(slug="rha-2023-kopie").exists()


def test_a_receipt_prefix_already_used_is_refused_with_the_field_named(tmp_path):
    call_command("load_tranche", TRANCHES_DIR / "rha-2023.json")

    with pytest.raises(CommandError, match="receipt_prefix: .* is already used by tranche rha-2023"):
        call_command("load_tranche", _file(tmp_path, slug="rha-2023-kopie", number=40))


def test_a_missing_field_is_named(tmp_path):
    with pytest.raises(CommandError, match=r"tranche.json: closes_at: this field is missing"):
        call_command("load_tranche", _file(tmp_path, closes_at=None))

    assert not Tranche.objects.exists()


def test_a_bad_value_is_refused_with_the_field_named(tmp_path):
    with pytest.raises(CommandError, match=r"opens_at: 'morgen' is not an ISO 8601 instant"):
        call_command("load_tranche", _file(tmp_path, opens_at="morgen"))


def test_loading_the_same_file_twice_keeps_one_tranche():
    call_command("load_tranche", TRANCHES_DIR / "rha-2023.json")
    call_command("load_tranche", TRANCHES_DIR / "rha-2023.json")

    assert Tranche.objects.filter(slug="rha-2023").count() == 1
