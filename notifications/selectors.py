"""Reads of notifications: which reminders a user sees, which are unread, and what was e-mailed to them."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import DateTimeField, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from .models import Delivery, DeliveryStatus, NotificationPreference, Reminder

NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def reminders_for(*, user) -> QuerySet[Reminder]:
    """A municipal user sees the reminders to their municipality and those to them alone (a request to submit);
    anyone else the reminders to them.

    A reminder whose reason went before any e-mail of it was sent is left out.
    """
    if user.is_municipal:
        reminders = Reminder.objects.filter(Q(municipality_id=user.municipality_id) | Q(user_id=user.pk))
    else:
        reminders = Reminder.objects.filter(user_id=user.pk)
    return reminders.filter(obsolete_at__isnull=True)


def notification_list(*, user) -> QuerySet[Reminder]:
    """The user's reminders, newest first, each with the e-mails sent to this user (`sent_to_me`)."""
    return (
        reminders_for(user=user)
        .prefetch_related(
            Prefetch(
                "deliveries",
                queryset=Delivery.objects.filter(recipient=user, status=DeliveryStatus.SENT).order_by("sent_at"),
                to_attr="sent_to_me",
            )
        )
        .order_by("-created_at", "-pk")
    )


def unread_count(*, user) -> int:
    """The reminders decided since the user last opened their notifications, in one query."""
    seen = NotificationPreference.objects.filter(user_id=user.pk).values("last_seen_at")[:1]
    since = Coalesce(Subquery(seen), Value(NEVER), output_field=DateTimeField())
    return reminders_for(user=user).filter(created_at__gt=since).count()


def preference_of(*, user) -> NotificationPreference | None:
    return NotificationPreference.objects.filter(user_id=user.pk).first()
