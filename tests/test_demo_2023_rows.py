import csv
from collections import defaultdict

from grants import demo_2023
from grants.services import DATA_DIR


def _rows():
    with open(DATA_DIR / "municipalities-2024.csv", encoding="utf-8") as handle:
        codes = [row["code"] for row in csv.DictReader(handle)]
    return demo_2023.rows(municipality_codes=codes, window="all")


def test_rows_reproduce_the_published_2023_request_and_grant_totals():
    rows = _rows()
    applications = defaultdict(list)
    for row in rows:
        applications[row["reference"]].append(row)
    first_97 = [line for reference, lines in applications.items() if int(reference[-4:]) <= 97 for line in lines]
    assert len(applications) == 131
    assert len({row["municipality_code"] for row in rows}) == 85
    assert sum(int(row["requested_amount"]) for row in rows) == 49_160_354
    assert sum(int(row["requested_amount"]) for row in first_97) == 34_705_000
    assert len({row["municipality_code"] for row in first_97}) == 66
    assert sum(int(row["units"]) for row in first_97) == 4_365
    assert sum(int(row["units"]) for row in first_97 if row["permanence"] == "permanent") == 1_432
    units_by_group = defaultdict(int)
    for row in first_97:
        units_by_group[row["target_group"]] += int(row["units"])
    assert units_by_group == {group: units for group, (units, *_) in demo_2023.GRANTED_UNITS.items()}


def test_ceiling_is_reached_on_a_day_before_the_first_application_that_does_not_fit():
    rows = _rows()
    by_reference = {row["reference"]: row for row in rows}
    last_funded = by_reference["RHA-2023-0097"]["received_at"][:10]
    first_reserve = by_reference["RHA-2023-0098"]["received_at"][:10]
    assert last_funded < first_reserve


def test_no_line_asks_more_than_the_2023_maximum_per_unit():
    assert all(int(row["requested_amount"]) <= 8_500 * int(row["units"]) for row in _rows())


def test_rows_are_the_same_every_time():
    assert _rows() == _rows()
