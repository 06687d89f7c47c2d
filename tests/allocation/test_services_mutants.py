"""What allocation.services decides and records, to the letter: deadlines of a grant, refusals of a preview or a
confirmation, the outcome of a later decision and the records each step leaves (docs/testing.md, "Mutation
testing")."""

from datetime import date

import pytest

from allocation.services import add_months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2027, 3, 31), 1, date(2027, 4, 30)),
        (date(2027, 11, 30), 1, date(2027, 12, 30)),
        (date(2027, 12, 15), 1, date(2028, 1, 15)),
        (date(2027, 1, 1), 11, date(2027, 12, 1)),
        (date(2027, 1, 1), 12, date(2028, 1, 1)),
        (date(2026, 12, 2), 24, date(2028, 12, 2)),
        (date(2026, 12, 2), 60, date(2031, 12, 2)),
        (date(2026, 12, 31), 0, date(2026, 12, 31)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
    ],
)
def test_months_later_is_the_same_day_or_the_last_of_a_shorter_month(day, months, expected):
    assert add_months(day, months) == expected
