"""Deadline arithmetic in Europe/Amsterdam: wall-clock days, business days and the morning a reminder goes out.

Days are counted on the calendar of Amsterdam, never as multiples of 24 hours, so that a daylight-saving change
between a reminder and its deadline moves neither by an hour. Business days skip Saturdays, Sundays and the Dutch
public holidays as the `holidays` library keeps them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# Reminders of a deadline that is a day go out on their day at this hour.
MORNING = time(9, 0)


def at_local(day: date, clock: time = MORNING) -> datetime:
    """The instant of a wall-clock time on a day in Amsterdam."""
    return datetime.combine(day, clock, tzinfo=AMSTERDAM)


def start_of_day(day: date) -> datetime:
    return at_local(day, time(0, 0))


def end_of_day(day: date) -> datetime:
    """The instant a day is over: a deadline that is a day runs until then."""
    return start_of_day(day + timedelta(days=1))


def local_date(instant: datetime) -> date:
    return instant.astimezone(AMSTERDAM).date()


def days_before(instant: datetime, days: int) -> datetime:
    """The same wall-clock time `days` calendar days earlier: 14 days before 17:00 is 17:00, also across DST."""
    local = instant.astimezone(AMSTERDAM)
    return datetime.combine(local.date() - timedelta(days=days), local.time(), tzinfo=AMSTERDAM)


@lru_cache(maxsize=64)
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("NL", years=year)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def business_days_before(day: date, count: int) -> date:
    """The business day `count` business days before `day`, which itself need not be one."""
    while count > 0:
        day -= timedelta(days=1)
        if is_business_day(day):
            count -= 1
    return day


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())
