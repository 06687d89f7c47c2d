"""Deciding reminders and sending them, each at most once.

decide() writes a reminder and the pending e-mails to its recipients in one transaction; the unique constraints on
both make a second sweep, a second worker or a second beat process find them already there. deliver() claims one
pending e-mail by moving it to "sending" in a committed transaction, checks that the reminder is still due, sends
it, and only then marks it sent. A failure goes back to pending with a later attempt, and after MAX_ATTEMPTS to
failed; a crash between claim and result leaves it "sending", which is never sent again by itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import MUNICIPAL_ROLES, AuditAction, User
from accounts.permissions import enforce
from accounts.services import record_audit

from . import messages, permissions, schedule
from .models import Delivery, DeliveryAttempt, DeliveryStatus, NotificationPreference, Reminder

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the n-th failed attempt: 1, 4, 16 and 64 minutes."""
    return timedelta(minutes=4 ** (attempts - 1))


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: timedelta | None = None


SENT = Outcome("sent")
SKIPPED = Outcome("skipped")
OBSOLETE = Outcome("obsolete")
FAILED = Outcome("failed")


# --- deciding ---------------------------------------------------------------------------------------------


def recipients(*, municipality_id: int | None, user_id: int | None) -> QuerySet[User]:
    """Who gets the e-mail: the municipality's active users, or the one user, each with an address."""
    users = User.objects.filter(is_active=True).exclude(email="").order_by("pk")
    if municipality_id is not None:
        return users.filter(municipality_id=municipality_id, role__in=MUNICIPAL_ROLES)
    return users.filter(pk=user_id)


def reminder_for(due: schedule.Due) -> Reminder:
    """The reminder a due item becomes, not yet saved."""
    return Reminder(
        kind=due.kind,
        subject_type=ContentType.objects.get_for_model(due.subject),
        subject_id=due.subject.pk,
        deadline=due.deadline,
        due_at=due.due_at,
        municipality_id=due.municipality_id,
        user_id=due.user_id,
        context=due.context,
        link=due.link,
    )


def _enqueue(delivery_id: int) -> None:
    from .tasks import deliver_reminder

    deliver_reminder.delay(delivery_id)


def _enqueue_on_commit(delivery_id: int) -> None:
    """Queue the e-mail once the transaction commits (at once outside one). A broker that is down is logged and
    leaves the e-mail pending for the next sweep."""

    def enqueue() -> None:
        _enqueue(delivery_id)

    transaction.on_commit(enqueue, robust=True)


def decide(due: schedule.Due, *, now: datetime, enqueue: bool) -> Reminder | None:
    """Write a reminder with its pending e-mails; None when it was decided before, by this sweep or another.

    With `enqueue`, each e-mail is queued once the transaction commits. If the broker cannot take it then, the
    e-mail stays pending and the next sweep queues it.
    """
    with transaction.atomic():
        try:
            with transaction.atomic():
                reminder = reminder_for(due)
                reminder.save(force_insert=True)
        except IntegrityError:
            return None
        deliveries = Delivery.objects.bulk_create(
            Delivery(reminder=reminder, recipient=user, email=user.email, next_attempt_at=now)
            for user in recipients(municipality_id=due.municipality_id, user_id=due.user_id)
        )
        if enqueue:
            for delivery in deliveries:
                _enqueue_on_commit(delivery.pk)
    logger.info("reminder %s decided: %s to %s recipients", reminder.pk, reminder.kind, len(deliveries))
    return reminder


def undecided(now: datetime) -> list[schedule.Due]:
    """The reminders due at `now` that no sweep has decided yet."""
    dues = schedule.due_reminders(now)
    if not dues:
        return []
    decided = {
        schedule.reminder_key(reminder)
        for reminder in Reminder.objects.filter(
            kind__in={due.kind for due in dues}, due_at__in={due.due_at for due in dues}
        ).only("kind", "subject_type", "subject_id", "deadline", "due_at", "municipality", "user")
    }
    return [due for due in dues if due.key not in decided]


def pending(now: datetime) -> QuerySet[Delivery]:
    """E-mails waiting to be sent whose (next) attempt is due."""
    return (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .select_related("reminder", "recipient")
        .order_by("next_attempt_at", "pk")
    )


def sweep(*, now: datetime, inline: bool) -> list[tuple[Delivery, Outcome]]:
    """Decide every reminder due at `now` and send what is pending.

    `inline` sends in this process and returns each e-mail with its outcome (the send_reminders command);
    otherwise the e-mails are queued for the workers (the beat task), first those that an earlier sweep or a
    failed attempt left pending, then the new ones as their transactions commit.
    """
    if not inline:
        for delivery_id in pending(now).values_list("pk", flat=True):
            _enqueue_on_commit(delivery_id)
    for due in undecided(now):
        decide(due, now=now, enqueue=not inline)
    if not inline:
        return []
    return [(delivery, deliver(delivery_id=delivery.pk, now=now)) for delivery in pending(now)]


# --- sending ----------------------------------------------------------------------------------------------


def _withdraw(delivery: Delivery, *, now: datetime) -> None:
    """The reminder's reason has gone: this e-mail and its pending siblings do not go out, and unless one was
    sent already the reminder leaves the notification list. A sibling another worker is sending is left alone."""
    reminder = delivery.reminder
    reminder.deliveries.filter(Q(status=DeliveryStatus.PENDING) | Q(pk=delivery.pk)).update(
        status=DeliveryStatus.OBSOLETE
    )
    if not reminder.deliveries.filter(status=DeliveryStatus.SENT).exists():
        Reminder.objects.filter(pk=reminder.pk, obsolete_at__isnull=True).update(obsolete_at=now)
    logger.info("reminder %s no longer due: not sent", reminder.pk)


def deliver(*, delivery_id: int, now: datetime | None = None) -> Outcome:
    """Send one pending e-mail if it is still due; safe to call twice, from two workers at once too."""
    now = now or timezone.now()
    with transaction.atomic():
        # The conditional update is the claim: of two workers, the second finds the row no longer pending.
        claimed = Delivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).update(status=DeliveryStatus.SENDING)
        if not claimed:
            return SKIPPED
        delivery = Delivery.objects.select_related("reminder", "recipient__notification_preference").get(pk=delivery_id)
        if delivery.reminder.obsolete_at is not None or not schedule.still_due(delivery.reminder, now):
            _withdraw(delivery, now=now)
            return OBSOLETE
    try:
        messages.email_for(delivery).send()
    except Exception as error:
        return _record_failure(delivery, error=error, now=now)
    with transaction.atomic():
        sent_at = timezone.now()
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.SENT, sent_at=sent_at, attempts=delivery.attempts + 1, last_error=""
        )
        DeliveryAttempt.objects.create(delivery=delivery, at=sent_at, succeeded=True)
    delivery.status, delivery.sent_at = DeliveryStatus.SENT, sent_at
    logger.info("reminder %s sent to %s", delivery.reminder_id, delivery.email)
    return SENT


def _record_failure(delivery: Delivery, *, error: Exception, now: datetime) -> Outcome:
    attempts = delivery.attempts + 1
    text = f"{type(error).__name__}: {error}"[:2000]
    final = attempts >= MAX_ATTEMPTS
    delay = None if final else retry_delay(attempts)
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
            attempts=attempts,
            last_error=text,
            next_attempt_at=now if final else now + delay,
        )
        DeliveryAttempt.objects.create(delivery=delivery, at=timezone.now(), succeeded=False, error=text)
    logger.warning("reminder %s to %s failed (attempt %s): %s", delivery.reminder_id, delivery.email, attempts, text)
    return FAILED if final else Outcome("retry", retry_in=delay)


@transaction.atomic
def send_again(*, delivery: Delivery, user) -> Delivery:
    """An operator's choice to send once more an e-mail that failed, or that a crash left unknown ("sending")."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    enforce(permissions.can_send_again(user, delivery))
    previous = delivery.get_status_display()
    delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    record_audit(action=AuditAction.CONFIRMATION, actor=user, target=delivery, detail=f"send again ({previous})")
    _enqueue_on_commit(delivery.pk)
    return delivery


# --- the user's side --------------------------------------------------------------------------------------


def _preference(user) -> NotificationPreference:
    preference, _ = NotificationPreference.objects.get_or_create(user=user)
    return preference


@transaction.atomic
def mark_seen(*, user, at: datetime | None = None) -> None:
    """Everything decided until now counts as read."""
    preference = _preference(user)
    preference.last_seen_at = at or timezone.now()
    preference.save(update_fields=["last_seen_at"])


@transaction.atomic
def set_language(*, user, language: str) -> NotificationPreference:
    preference = _preference(user)
    preference.language = language
    preference.full_clean(exclude=["user"])
    preference.save(update_fields=["language"])
    return preference
