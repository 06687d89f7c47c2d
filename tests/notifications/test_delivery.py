"""Each reminder e-mailed at most once: under retries, repeated sweeps, failures and a broker that is down."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from celery.exceptions import Retry
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.utils import translation
from kombu.exceptions import OperationalError

from notifications import services, tasks
from notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, Reminder
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory, municipality
from tests.notifications.helpers import amsterdam, sweep

pytestmark = pytest.mark.django_db

BROKEN = "tests.notifications.mail.UnreachableBackend"
DUE = amsterdam("2026-03-24 17:00")


@pytest.fixture
def editor():
    """An editor of Utrecht, whose draft in a tranche closing on 7 April 2026 makes a reminder due at DUE."""
    editor = UserFactory(municipality=municipality("GM0344"), email="redacteur@utrecht.example")
    tranche = TrancheFactory(opens_at=amsterdam("2026-03-01 09:00"), closes_at=amsterdam("2026-04-07 17:00"))
    ApplicationFactory(tranche=tranche, municipality=editor.municipality)
    return editor


def decided() -> Delivery:
    """Decide the reminders due at DUE without sending them (the test's transaction never commits)."""
    services.sweep(now=DUE, inline=False)
    return Delivery.objects.get()


def test_a_retried_task_does_not_send_the_email_again(editor):
    delivery = decided()

    assert services.deliver(delivery_id=delivery.pk, now=DUE) == services.SENT
    assert services.deliver(delivery_id=delivery.pk, now=DUE) == services.SKIPPED
    with time_machine.travel(DUE, tick=False):
        assert tasks.deliver_reminder.apply(args=[delivery.pk]).get() == "skipped"
    assert len(mail.outbox) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert delivery.attempt_log.get().succeeded


def test_two_sweeps_at_the_same_instant_send_each_reminder_once(editor):
    assert sweep(DUE) == ["sent"]
    assert sweep(DUE) == []
    assert Reminder.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_failed_send_is_recorded_and_retried_with_backoff_and_never_marked_sent(editor, settings):
    settings.EMAIL_BACKEND = BROKEN

    assert sweep(DUE) == ["retry"]
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.sent_at is None
    assert delivery.attempts == 1
    assert delivery.next_attempt_at == DUE + timedelta(minutes=1)
    assert "SMTPServerDisconnected" in delivery.last_error
    assert not delivery.attempt_log.get().succeeded

    assert sweep(DUE + timedelta(seconds=59)) == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert sweep(DUE + timedelta(minutes=1)) == ["sent"]
    assert len(mail.outbox) == 1
    assert [attempt.succeeded for attempt in DeliveryAttempt.objects.order_by("pk")] == [False, True]


def test_after_five_failed_attempts_the_email_is_marked_failed(editor, settings):
    settings.EMAIL_BACKEND = BROKEN
    outcomes = [sweep(DUE + timedelta(minutes=minutes)) for minutes in (0, 1, 5, 21, 85, 600)]

    assert outcomes == [["retry"], ["retry"], ["retry"], ["retry"], ["failed"], []]
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.sent_at) == (DeliveryStatus.FAILED, 5, None)
    assert mail.outbox == []


def test_the_task_asks_celery_to_retry_after_the_backoff(editor, settings, monkeypatch):
    settings.EMAIL_BACKEND = BROKEN
    delivery = decided()
    asked = {}

    def retry(**kwargs):
        asked.update(kwargs)
        return Retry()

    monkeypatch.setattr(tasks.deliver_reminder, "retry", retry)
    with time_machine.travel(DUE, tick=False), pytest.raises(Retry):
        tasks.deliver_reminder.run(delivery.pk)

    assert asked == {"countdown": 60.0, "max_retries": None}


def test_a_reminder_decided_while_the_broker_is_down_is_sent_by_the_next_sweep(
    editor, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    with time_machine.travel(DUE, tick=False):
        with monkeypatch.context() as patch:
            patch.setattr(tasks.deliver_reminder, "delay", broker_down)
            with django_capture_on_commit_callbacks(execute=True):
                services.sweep(now=DUE, inline=False)
        assert Delivery.objects.get().status == DeliveryStatus.PENDING
        assert mail.outbox == []

    later = DUE + timedelta(minutes=15)
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        tasks.sweep_reminders.delay()

    assert Delivery.objects.get().status == DeliveryStatus.SENT
    assert len(mail.outbox) == 1


def test_the_beat_task_decides_and_sends_after_commit(editor, django_capture_on_commit_callbacks):
    with time_machine.travel(DUE, tick=False), django_capture_on_commit_callbacks(execute=True) as callbacks:
        tasks.sweep_reminders.delay()

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1


def test_an_email_a_crash_left_sending_is_not_sent_again_until_an_operator_asks(editor):
    delivery = decided()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING)

    assert sweep(DUE + timedelta(hours=1)) == []
    with time_machine.travel(DUE + timedelta(hours=1), tick=False):
        services.send_again(delivery=delivery, user=UserFactory(approver=True, email=""))
    assert sweep(DUE + timedelta(hours=1)) == ["sent"]


def test_only_agency_staff_send_an_email_again_and_only_one_that_failed(editor):
    delivery = decided()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)

    with translation.override("en"):
        with pytest.raises(PermissionDenied, match="agency staff"):
            services.send_again(delivery=delivery, user=editor)
        services.send_again(delivery=delivery, user=UserFactory(assessor=True, email=""))
        with pytest.raises(PermissionDenied, match="failed e-mail"):
            services.send_again(delivery=delivery, user=UserFactory(assessor=True, email=""))


# --- the send_reminders command ---------------------------------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command("send_reminders", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_command_prints_a_line_per_email_sent_and_the_count(editor):
    output = run("--now", "2026-03-24T17:00")

    lines = output.splitlines()
    assert len(lines) == 2
    assert "tranche_closing to redacteur@utrecht.example" in lines[0]
    assert lines[-1] == "1 sent"
    assert run("--now", "2026-03-24T17:30+01:00") == "0 sent\n"


def test_the_dry_run_says_what_would_be_sent_and_writes_nothing(editor):
    output = run("--now", "2026-03-24T17:00", "--dry-run")

    assert "would send tranche_closing to redacteur@utrecht.example" in output
    assert output.splitlines()[-1] == "1 would be sent (dry run: nothing sent)"
    assert not Reminder.objects.exists()
    assert mail.outbox == []


def test_the_command_refuses_an_instant_it_cannot_read():
    with pytest.raises(CommandError, match="ISO 8601"):
        run("--now", "next tuesday")
