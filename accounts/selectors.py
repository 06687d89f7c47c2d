"""Reads of the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from .models import AuditEntry

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# The export's columns, in the language of the request (gettext_noop marks them for translation).
AUDIT_CSV_COLUMNS = (
    gettext_noop("time"),
    gettext_noop("by"),
    gettext_noop("action"),
    gettext_noop("outcome"),
    gettext_noop("object type"),
    gettext_noop("object id"),
    gettext_noop("object"),
    gettext_noop("IP address"),
    gettext_noop("detail"),
)


def audit_entries_between(*, start: date, end: date) -> QuerySet[AuditEntry]:
    """The entries of the days from `start` up to and including `end` (Europe/Amsterdam), oldest first."""
    since = timezone.make_aware(datetime.combine(start, time.min))
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    return AuditEntry.objects.filter(at__gte=since, at__lt=until).order_by("at", "pk")


def _with_offset(instant) -> str:
    local = timezone.localtime(instant, AMSTERDAM)
    offset = local.strftime("%z")
    return f"{local:%d-%m-%Y %H:%M:%S} {offset[:3]}:{offset[3:]}"


def audit_table(entries: QuerySet[AuditEntry]) -> tuple[list[str], Iterator[list]]:
    """The export's header and one row per entry: the instant in Amsterdam time with its UTC offset (so that the hour
    the clocks go back in October appears twice, told apart), action and outcome in words. accounts.spreadsheets
    writes the cells, so that usernames tried at the login, anyone's text, cannot act as a formula."""
    rows = (
        [
            _with_offset(entry.at),
            entry.actor_name,
            entry.get_action_display(),
            entry.get_outcome_display(),
            entry.object_type,
            entry.object_id,
            entry.object_repr,
            entry.ip_address or "",
            entry.detail,
        ]
        for entry in entries.iterator(chunk_size=2000)
    )
    return [gettext(column) for column in AUDIT_CSV_COLUMNS], rows
