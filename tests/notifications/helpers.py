"""Helpers for the reminder tests: instants on the clock of Amsterdam, sweeps, and the e-mails they sent."""

from __future__ import annotations

from datetime import datetime

from django.core import mail

from notifications import services
from notifications.deadlines import AMSTERDAM
from notifications.models import Reminder


def amsterdam(text: str) -> datetime:
    """An instant on the clock of Amsterdam, e.g. amsterdam("2026-04-27 09:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=AMSTERDAM)


def sweep(now: datetime) -> list[str]:
    """Run the command's sweep at `now`; the outcome of each e-mail it tried."""
    return [outcome.status for _, outcome in services.sweep(now=now, inline=True)]


def subjects() -> list[str]:
    return sorted(message.subject for message in mail.outbox)


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def kinds() -> list[str]:
    return sorted(Reminder.objects.values_list("kind", flat=True))
