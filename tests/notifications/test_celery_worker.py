"""A real Celery worker takes the sweep from Redis, and the e-mail it queues on commit, and delivers the reminder
to the mailbox and the notification list."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from config.celery import app
from grants.services import load_reference_data
from notifications.models import Delivery, DeliveryStatus
from notifications.tasks import sweep_reminders
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory, municipality
from tests.figures import client_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True


@pytest.fixture
def _reference_data_restored(django_db_blocker):
    yield
    with django_db_blocker.unblock():
        load_reference_data()


def wait_until(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the worker did not deliver the reminder in time")
        time.sleep(0.2)


def test_a_worker_on_redis_sends_the_reminder_to_the_mailbox_and_the_notification_list(
    worker, _reference_data_restored
):
    editor = UserFactory(municipality=municipality("GM0344"), email="redacteur@utrecht.example", password=None)
    # Closing in two days: the reminder of three days before is due now.
    tranche = TrancheFactory(opens_at=timezone.now() - timedelta(days=30), closes_at=timezone.now() + timedelta(days=2))
    ApplicationFactory(tranche=tranche, municipality=editor.municipality)

    sweep_reminders.delay().get(timeout=60)
    wait_until(lambda: Delivery.objects.filter(status=DeliveryStatus.SENT).exists())

    assert [message.to for message in mail.outbox] == [["redacteur@utrecht.example"]]
    assert tranche.title in mail.outbox[0].subject
    items = client_for(editor).get(reverse("notifications:list")).context["items"]
    assert [item["sent_to_me"][0].email for item in items] == ["redacteur@utrecht.example"]
