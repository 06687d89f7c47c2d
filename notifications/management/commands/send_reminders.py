"""Run the reminder sweep of the beat task in this process, for now or a given instant, and say what was sent."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications import services
from notifications.deadlines import AMSTERDAM
from notifications.messages import title
from notifications.services import SENT


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--now: not an ISO 8601 instant: {text!r}") from None
    # Without an offset the time is read on the clock of Amsterdam, as every deadline is.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=AMSTERDAM)


class Command(BaseCommand):
    help = (
        "Decide and send every reminder due at an instant, as the beat task does; one line per e-mail sent, "
        "ending with 'N sent'. Safe to run beside the workers and twice: nothing is sent twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", help="The instant to sweep for, e.g. 2026-05-01T09:00 (default: now).")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be sent; write and send nothing.")

    def handle(self, *args, now=None, dry_run=False, **options):
        instant = _instant(now) if now else timezone.now()
        if dry_run:
            self._dry_run(instant)
            return
        sent = 0
        for delivery, outcome in services.sweep(now=instant, inline=True):
            if outcome == SENT:
                sent += 1
                self.stdout.write(
                    f"{timezone.localtime(delivery.sent_at):%Y-%m-%d %H:%M} {delivery.reminder.kind} "
                    f"to {delivery.email}: {title(delivery.reminder)}"
                )
            elif outcome.status != "skipped":
                self.stderr.write(f"{outcome.status}: {delivery.reminder.kind} to {delivery.email}")
        self.stdout.write(f"{sent} sent")

    def _dry_run(self, instant: datetime) -> None:
        count = 0
        for delivery in services.pending(instant):
            count += 1
            self.stdout.write(f"would send {delivery.reminder.kind} to {delivery.email}: {title(delivery.reminder)}")
        for due in services.undecided(instant):
            reminder = services.reminder_for(due)
            for user in services.recipients(municipality_id=due.municipality_id, user_id=due.user_id):
                count += 1
                self.stdout.write(f"would send {due.kind} to {user.email}: {title(reminder)}")
        self.stdout.write(f"{count} would be sent (dry run: nothing sent)")
