import csv
import json
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from demo import published as published_demo
from demo.published import TRANCHE_2021, TRANCHE_2022, TRANCHE_2023, PublishedTranche
from grants.services import DATA_DIR, TRANCHES_DIR, load_tranche

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SPECS = [TRANCHE_2021, TRANCHE_2022, TRANCHE_2023]


def _codes() -> list[str]:
    with open(DATA_DIR / "municipalities-2024.csv", encoding="utf-8") as handle:
        return [row["code"] for row in csv.DictReader(handle)]


def _rows(spec: PublishedTranche) -> list[dict[str, str]]:
    return published_demo.rows(spec, municipality_codes=_codes())


def _tranche_file(spec: PublishedTranche) -> dict:
    return json.loads((TRANCHES_DIR / f"{spec.slug}.json").read_text(encoding="utf-8"))


def _by_application(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    applications = defaultdict(list)
    for row in rows:
        applications[row["reference"]].append(row)
    return applications


def _funded(spec: PublishedTranche) -> list[dict[str, str]]:
    return [row for row in _rows(spec) if int(row["reference"][-4:]) <= spec.granted_applications]


def _units(rows, **where) -> int:
    return sum(int(row["units"]) for row in rows if all(row[key] == value for key, value in where.items()))


def _amount(rows) -> int:
    return sum(int(row["requested_amount"]) for row in rows)


def test_2021_rows_reproduce_the_published_projects_municipalities_and_units():
    rows = _rows(TRANCHE_2021)
    assert len(_by_application(rows)) == 124
    assert len({row["municipality_code"] for row in rows}) == 83
    assert _units(rows) == 8_086
    assert _units(rows, housing_type="short_stay") == 1_751
    assert _units(rows) - _units(rows, housing_type="short_stay") == 6_335


def test_2021_rows_ask_the_maximum_per_unit_and_stay_within_the_50_million_ceiling():
    rows = _rows(TRANCHE_2021)
    assert _amount(rows) == 6_335 * 5_000 + 1_751 * 2_500 == 36_052_500
    assert _amount(rows) <= 50_000_000
    assert _units(rows, permanence="permanent") + _units(rows, permanence="flexible") == 8_086


def test_2022_rows_reproduce_the_published_projects_municipalities_units_and_amount():
    rows = _rows(TRANCHE_2022)
    assert len(_by_application(rows)) == 107
    assert len({row["municipality_code"] for row in rows}) == 76
    assert _amount(rows) == 52_135_000
    assert _units(rows) == 7_725
    assert (_units(rows, permanence="permanent"), _units(rows, permanence="flexible")) == (2_959, 4_766)


def test_2022_rows_are_all_funded_applications_so_the_tranche_is_not_oversubscribed():
    assert _rows(TRANCHE_2022) == _funded(TRANCHE_2022)
    assert TRANCHE_2022.reserve is None


def test_2023_rows_reproduce_the_published_request_and_grant_totals():
    rows = _rows(TRANCHE_2023)
    funded = _funded(TRANCHE_2023)
    assert len(_by_application(rows)) == 131
    assert len({row["municipality_code"] for row in rows}) == 85
    assert _amount(rows) == 49_160_354
    assert _amount(funded) == 34_705_000
    assert len(_by_application(funded)) == 97
    assert len({row["municipality_code"] for row in funded}) == 66
    assert _units(funded) == 4_365
    assert _units(funded, permanence="permanent") == 1_432
    units_by_group = defaultdict(int)
    for row in funded:
        units_by_group[row["target_group"]] += int(row["units"])
    assert units_by_group == {
        "labour_migrants": 175,
        "homeless": 103,
        "leaving_institution_under_27": 140,
        "leaving_institution_27_plus": 118,
        "status_holders": 629,
        "students": 1_857,
        "caravan_dwellers": 166,
        "social_urgency": 671,
        "medical_urgency": 186,
        "displaced_ukraine": 320,
    }


def test_2023_ceiling_is_reached_on_a_day_before_the_first_application_that_does_not_fit():
    by_reference = {row["reference"]: row for row in _rows(TRANCHE_2023)}
    last_funded = by_reference["RHA-2023-0097"]["received_at"][:10]
    first_reserve = by_reference["RHA-2023-0098"]["received_at"][:10]
    assert last_funded < first_reserve


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_funded_rows_add_up_to_the_amount_granted_and_the_units_of_the_spec(spec):
    funded = _funded(spec)
    assert _amount(funded) == spec.granted_amount
    assert _units(funded) == spec.units
    assert _units(funded, permanence="permanent") == spec.units_permanent


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_no_line_asks_more_than_the_tranche_files_maximum_for_its_kind_of_unit(spec):
    data = _tranche_file(spec)
    for row in _rows(spec):
        if row["housing_type"] == "short_stay":
            maximum = data["max_per_short_stay_unit"]
        else:
            maximum = data[f"max_per_{row['permanence']}_unit"]
        assert maximum is not None, row
        assert Decimal(row["requested_amount"]) <= Decimal(maximum) * int(row["units"]), row


@pytest.mark.parametrize(("spec", "cap"), [(TRANCHE_2021, 1_000_000), (TRANCHE_2022, 2_000_000)], ids=["2021", "2022"])
def test_no_municipality_asks_more_than_the_tranche_files_cap(spec, cap):
    assert Decimal(_tranche_file(spec)["max_per_municipality"]) == cap
    asked = defaultdict(int)
    for row in _rows(spec):
        asked[row["municipality_code"]] += int(row["requested_amount"])
    assert max(asked.values()) <= cap


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_rows_use_the_tranche_files_window_target_groups_and_receipt_prefix(spec):
    data = _tranche_file(spec)
    (window,) = [window for window in data["windows"] if window["code"] == spec.window]
    for row in _rows(spec):
        assert row["target_group"] in window["target_groups"]
        assert row["reference"].startswith(data["receipt_prefix"] + "-")


@pytest.mark.django_db
@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_every_receipt_falls_inside_the_window_in_force_in_amsterdam_time(spec):
    tranche = load_tranche(data=_tranche_file(spec))
    for row in _rows(spec):
        received_at = datetime.fromisoformat(row["received_at"])
        assert received_at.utcoffset() == received_at.astimezone(AMSTERDAM).utcoffset(), row
        assert tranche.is_open_at(received_at), row


def test_2022_receipts_include_the_reopening_after_the_first_closing():
    first_closing = datetime(2022, 10, 24, 15, tzinfo=AMSTERDAM)
    received = [datetime.fromisoformat(row["received_at"]) for row in _rows(TRANCHE_2022)]
    assert any(instant > first_closing for instant in received)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.slug)
def test_rows_are_the_same_every_time(spec):
    assert _rows(spec) == _rows(spec)


def test_a_granted_amount_above_what_the_units_may_ask_is_refused():
    too_much = replace(TRANCHE_2022, granted_amount=7_725 * 7_000 + 1)
    with pytest.raises(ValueError, match="more than these units may ask"):
        _rows(too_much)


def test_a_spec_whose_unit_groups_do_not_make_its_number_of_projects_is_refused():
    with pytest.raises(ValueError, match="must each make 108"):
        replace(TRANCHE_2022, granted_applications=108)


def test_a_group_too_large_for_the_municipal_cap_is_refused():
    crowded = replace(
        TRANCHE_2021,
        unit_groups=(
            published_demo.UnitGroup("students", "room", 6_000, 59),
            *TRANCHE_2021.unit_groups[1:3],
            published_demo.UnitGroup("labour_migrants", "short_stay", 2_086, 37, self_contained=False),
        ),
    )
    with pytest.raises(ValueError, match="do not fit"):
        _rows(crowded)
