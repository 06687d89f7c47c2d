"""Instants shown in Europe/Amsterdam, and the time left until a deadline in words."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

register = template.Library()

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def format_instant(value: datetime) -> str:
    """For example 25 oktober 2026 17:00, in the offset that applies on that day."""
    return formats.date_format(timezone.localtime(value, AMSTERDAM), "j F Y H:i")


def describe_time_left(deadline: datetime, now: datetime) -> str:
    """Elapsed time, not wall-clock time: across a DST change a calendar day can be 23 or 25 hours."""
    # Python subtracts two datetimes of the same zone by their wall clocks; in UTC that is elapsed time.
    seconds_left = (deadline.astimezone(UTC) - now.astimezone(UTC)).total_seconds()
    if seconds_left <= 0:
        return _("closed")
    minutes_left = int(seconds_left) // 60
    if minutes_left < 1:
        return _("less than a minute left")
    days, minutes = divmod(minutes_left, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        ngettext("%(count)d day", "%(count)d days", days) % {"count": days},
        ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours},
        ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes},
    ]
    amounts = [days, hours, minutes]
    first = next(index for index, amount in enumerate(amounts) if amount)
    shown = [part for part, amount in zip(parts[first : first + 2], amounts[first : first + 2], strict=True) if amount]
    if len(shown) == 2:
        return _("%(larger)s and %(smaller)s left") % {"larger": shown[0], "smaller": shown[1]}
    return _("%(time)s left") % {"time": shown[0]}


@register.filter
def local_instant(value: datetime | None) -> str:
    return format_instant(value) if value else ""


@register.filter
def time_left(deadline: datetime, now: datetime) -> str:
    return describe_time_left(deadline, now)
