"""Deadline arithmetic on the clock of Amsterdam: daylight saving never moves a reminder by an hour, and business
days skip weekends and Dutch public holidays."""

from datetime import UTC, date, datetime, timedelta

import pytest

from notifications.deadlines import at_local, business_days_before, days_before, end_of_day, is_business_day
from tests.notifications.helpers import amsterdam


def test_fourteen_days_before_a_summer_closing_is_the_same_clock_time_in_winter():
    # 7 April 2026 17:00 is summer time (UTC+2); 24 March 17:00 is winter time (UTC+1).
    closing = amsterdam("2026-04-07 17:00")
    reminder = days_before(closing, 14)
    assert reminder == amsterdam("2026-03-24 17:00")
    assert reminder.astimezone(UTC) == datetime(2026, 3, 24, 16, 0, tzinfo=UTC)
    # Fourteen days on the calendar, one hour short of fourteen times 24 hours.
    assert closing.astimezone(UTC) - reminder.astimezone(UTC) == timedelta(days=14, hours=-1)


def test_three_days_before_a_winter_closing_across_the_autumn_change_keeps_the_clock_time():
    # Summer time ends on 25 October 2026.
    closing = amsterdam("2026-10-27 12:00")
    assert days_before(closing, 3) == amsterdam("2026-10-24 12:00")
    assert days_before(closing, 3).astimezone(UTC).hour == 10
    assert closing.astimezone(UTC).hour == 11


def test_the_morning_of_the_day_the_clocks_go_forward_is_nine_oclock_local():
    assert at_local(date(2026, 3, 29)).astimezone(UTC) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert at_local(date(2026, 3, 28)).astimezone(UTC) == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)


def test_a_day_that_loses_an_hour_ends_at_local_midnight():
    assert end_of_day(date(2026, 3, 29)) == amsterdam("2026-03-30 00:00")
    length = end_of_day(date(2026, 3, 29)).astimezone(UTC) - amsterdam("2026-03-29 00:00").astimezone(UTC)
    assert length == timedelta(hours=23)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 4, 27), False),  # King's Day, a Monday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 12, 25), False),  # Christmas
        (date(2026, 5, 14), False),  # Ascension Day
        (date(2026, 5, 2), False),  # a Saturday
        (date(2026, 4, 28), True),
    ],
)
def test_weekends_and_dutch_public_holidays_are_not_business_days(day, expected):
    assert is_business_day(day) is expected


def test_five_business_days_before_the_day_after_kings_day_skip_the_weekend_and_the_holiday():
    # Tuesday 28 April 2026: Monday 27 is King's Day, 25-26 the weekend.
    assert business_days_before(date(2026, 4, 28), 5) == date(2026, 4, 20)


def test_business_days_before_christmas_and_new_year():
    # Monday 4 January 2027: 1 January is a holiday, 2-3 the weekend, 25-26 December Christmas (Fri/Sat).
    assert business_days_before(date(2027, 1, 4), 5) == date(2026, 12, 24)


def test_business_days_before_a_deadline_on_a_sunday_count_from_the_friday():
    assert business_days_before(date(2026, 6, 14), 1) == date(2026, 6, 12)
