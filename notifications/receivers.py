"""What the notifications stage does when an earlier stage asks for a message; connected in
NotificationsConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone

from applications.signals import signatory_asked

from . import schedule, services


@receiver(signatory_asked, dispatch_uid="notifications.tell_signatories")
def tell_signatories(sender, application, **kwargs) -> None:
    """Decide the request's reminder to each signatory now rather than at the next sweep; the sweep decides any
    that this missed, and the unique constraints keep it to one each."""
    now = timezone.now()
    for due in schedule.signatory_asked(now, {application.pk}):
        services.decide(due, now=now, enqueue=True)
