"""The tranche files say where each rule comes from, and which are assumed and why."""

import json

import pytest

from grants.services import TRANCHES_DIR

CALLS = sorted(path for path in TRANCHES_DIR.glob("*.json") if path.name != "rha-2020.json")


@pytest.mark.parametrize("path", CALLS, ids=lambda path: path.name)
def test_every_call_says_where_its_rule_for_the_last_application_comes_from(path):
    source = json.loads(path.read_text(encoding="utf-8"))["source"]

    assert "laatste aanvraag" in source


@pytest.mark.parametrize("path", CALLS, ids=lambda path: path.name)
def test_every_call_says_why_it_ranks_by_the_complete_application(path):
    data = json.loads(path.read_text(encoding="utf-8"))

    assert data["ranking_instant"] == "completion"
    assert "volledige ontvangst" in data["source"]


def test_the_2023_skip_rule_is_marked_as_an_assumption_with_its_reason():
    data = json.loads((TRANCHES_DIR / "rha-2023.json").read_text(encoding="utf-8"))

    assert data["last_application_rule"] == "skip"
    assumed = data["source"].split("Aangenomen, zonder bron:")[1]
    assert "overgeslagen" in assumed and "omdat" in assumed
