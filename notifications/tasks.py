"""Background work of reminders: the periodic sweep and the sending of one e-mail. Both are safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True)
def sweep_reminders() -> None:
    """Decide what is due now and queue the e-mails; the beat schedule runs it (docs/notifications.md)."""
    services.sweep(now=timezone.now(), inline=False)


@shared_task(bind=True, acks_late=True)
def deliver_reminder(self, delivery_id: int) -> str:
    """Send one e-mail; after a failure the task comes back with the service's backoff."""
    outcome = services.deliver(delivery_id=delivery_id)
    # Run eagerly (the embedded set-up) a retry would come back at once; there the next send_reminders retries.
    if outcome.retry_in is not None and not self.request.is_eager:
        raise self.retry(countdown=outcome.retry_in.total_seconds(), max_retries=None)
    return outcome.status
