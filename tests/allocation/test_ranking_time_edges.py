"""The same-day lottery counts calendar days in Europe/Amsterdam: midnight, winter time and the clock changes."""

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from allocation.ranking import Candidate, local_day, rank


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def candidate(number: int, ranked_at: datetime, requested: str = "100.00") -> Candidate:
    return Candidate(
        reference=f"RHA-2026-{number:04d}",
        receipt_sequence=number,
        municipality="GM0363",
        requested=Decimal(requested),
        ranked_at=ranked_at,
        units=10,
    )


def same_day_lottery(candidates, ceiling: str):
    ranking = rank(candidates, method="first_come_same_day_lottery", seed=20260114, ceiling=Decimal(ceiling))
    return ranking.lottery_day, [(rc.candidate.reference, rc.drawn) for rc in ranking.candidates]


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        # Winter time (UTC+1): local midnight is 23:00 UTC the day before.
        ("2026-01-14 22:59:59", date(2026, 1, 14)),
        ("2026-01-14 23:00:00", date(2026, 1, 15)),
        # 29 March 2026, the last Sunday of March, has 23 hours: it ends at 22:00 UTC in summer time (UTC+2).
        ("2026-03-28 23:00:00", date(2026, 3, 29)),
        ("2026-03-29 21:59:59", date(2026, 3, 29)),
        ("2026-03-29 22:00:00", date(2026, 3, 30)),
        # 25 October 2026 has 25 hours: it starts at 22:00 UTC in summer time and ends at 23:00 UTC in winter time.
        ("2026-10-24 22:00:00", date(2026, 10, 25)),
        ("2026-10-25 22:59:59", date(2026, 10, 25)),
        ("2026-10-25 23:00:00", date(2026, 10, 26)),
    ],
)
def test_the_calendar_day_of_an_instant_is_the_day_in_amsterdam(instant, day):
    assert local_day(utc(instant)) == day


def test_a_request_at_midnight_in_winter_time_belongs_to_the_next_day_and_its_draw():
    # In UTC all three are on 14 January; in Amsterdam the second and third are received on 15 January.
    before_midnight = candidate(1, utc("2026-01-14 22:59:59"))
    at_midnight = candidate(2, utc("2026-01-14 23:00:00"))
    after_midnight = candidate(3, utc("2026-01-14 23:30:00"))

    day, order = same_day_lottery([after_midnight, at_midnight, before_midnight], ceiling="150.00")

    assert day == date(2026, 1, 15)
    assert order[0] == ("RHA-2026-0001", False)
    assert sorted(order[1:]) == [("RHA-2026-0002", True), ("RHA-2026-0003", True)]


def test_a_request_one_second_before_midnight_in_winter_time_is_drawn_on_its_own_day():
    before_midnight = candidate(1, utc("2026-01-14 22:59:59"), requested="200.00")
    same_evening = candidate(2, utc("2026-01-14 20:00:00"))
    next_day = candidate(3, utc("2026-01-14 23:00:00"))

    day, order = same_day_lottery([before_midnight, same_evening, next_day], ceiling="150.00")

    assert day == date(2026, 1, 14)
    assert sorted(order[:2]) == [("RHA-2026-0001", True), ("RHA-2026-0002", True)]
    # The next day keeps receipt order after the drawn day.
    assert order[2] == ("RHA-2026-0003", False)


def test_on_the_night_the_clocks_go_forward_the_day_ends_at_local_midnight():
    # 22:30 UTC on 29 March 2026 is 00:30 on 30 March in summer time; with winter time's offset it would
    # wrongly count as 23:30 on 29 March and join that day's draw.
    evening = candidate(1, utc("2026-03-29 19:00:00"))
    late_evening = candidate(2, utc("2026-03-29 21:59:59"))
    after_midnight = candidate(3, utc("2026-03-29 22:30:00"))

    day, order = same_day_lottery([evening, late_evening, after_midnight], ceiling="150.00")

    assert day == date(2026, 3, 29)
    assert sorted(order[:2]) == [("RHA-2026-0001", True), ("RHA-2026-0002", True)]
    assert order[2] == ("RHA-2026-0003", False)


@pytest.fixture
def process_in_utc(monkeypatch):
    """The process's own time zone set to UTC, as on a server or an auditor's machine outside Django's settings."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_day_does_not_depend_on_the_time_zone_of_the_process(process_in_utc):
    # Django sets the process's zone to Europe/Amsterdam; an auditor rerunning the ranking elsewhere may not have it.
    assert local_day(utc("2026-01-14 23:00:00")) == date(2026, 1, 15)
