"""Reads of the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from .models import AuditEntry
from .spreadsheets import safe_row

AUDIT_CSV_COLUMNS = (
    "at",
    "actor",
    "action",
    "outcome",
    "object_type",
    "object_id",
    "object",
    "ip_address",
    "detail",
)


def audit_entries_between(*, start: date, end: date) -> QuerySet[AuditEntry]:
    """The entries of the days from `start` up to and including `end` (Europe/Amsterdam), oldest first."""
    since = timezone.make_aware(datetime.combine(start, time.min))
    until = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    return AuditEntry.objects.filter(at__gte=since, at__lt=until).order_by("at", "pk")


def audit_csv_rows(entries: QuerySet[AuditEntry]) -> Iterator[list[str]]:
    """The header and one row per entry, instants in Amsterdam time with their offset; usernames tried at the login
    are anyone's text, so cells go through safe_row()."""
    yield list(AUDIT_CSV_COLUMNS)
    for entry in entries.iterator(chunk_size=2000):
        yield safe_row(
            (
                timezone.localtime(entry.at).isoformat(timespec="seconds"),
                entry.actor_name,
                entry.action,
                entry.outcome,
                entry.object_type,
                entry.object_id,
                entry.object_repr,
                entry.ip_address or "",
                entry.detail,
            )
        )
