"""Two sweeps, or two workers, at the same moment on PostgreSQL: every reminder is decided and e-mailed once."""

import threading
from collections import Counter

import pytest
from django.core import mail
from django.db import connection

from grants.services import load_reference_data
from notifications import services
from notifications.models import Delivery, DeliveryStatus, Reminder
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory, municipality
from tests.notifications.helpers import amsterdam

DUE = amsterdam("2026-03-24 17:00")


@pytest.fixture
def _reference_data_restored(django_db_blocker):
    """Transactional tests end by emptying every table; put the reference data back for the tests after."""
    yield
    with django_db_blocker.unblock():
        load_reference_data()


def at_once(count: int, work) -> list:
    """Run work(index) in `count` threads released at the same moment, each on its own connection."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        try:
            barrier.wait()
            results[index] = work(index)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def drafts_in_three_tranches() -> None:
    """Utrecht and Amsterdam, two users each, with a draft in each of three tranches: 6 reminders, 12 e-mails."""
    for code in ("GM0344", "GM0363"):
        for _ in range(2):
            UserFactory(municipality=municipality(code), password=None)
    for _ in range(3):
        tranche = TrancheFactory(opens_at=amsterdam("2026-03-01 09:00"), closes_at=amsterdam("2026-04-07 17:00"))
        for code in ("GM0344", "GM0363"):
            ApplicationFactory(tranche=tranche, municipality=municipality(code))


@pytest.mark.postgres
def test_two_sweeps_at_the_same_moment_decide_and_send_every_reminder_once(
    _require_postgres, _reference_data_restored, transactional_db
):
    drafts_in_three_tranches()

    outcomes = at_once(3, lambda _: [outcome.status for _, outcome in services.sweep(now=DUE, inline=True)])

    assert Reminder.objects.count() == 6
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == Delivery.objects.count() == 12
    assert sum(outcome.count("sent") for outcome in outcomes) == 12
    assert len(mail.outbox) == 12
    assert set(Counter(address for message in mail.outbox for address in message.to).values()) == {3}


@pytest.mark.postgres
def test_two_workers_sending_the_same_email_at_the_same_moment_send_it_once(
    _require_postgres, _reference_data_restored, transactional_db
):
    UserFactory(municipality=municipality("GM0344"), password=None)
    tranche = TrancheFactory(opens_at=amsterdam("2026-03-01 09:00"), closes_at=amsterdam("2026-04-07 17:00"))
    ApplicationFactory(tranche=tranche, municipality=municipality("GM0344"))
    (due,) = services.undecided(DUE)
    services.decide(due, now=DUE, enqueue=False)
    delivery = Delivery.objects.get()

    outcomes = at_once(4, lambda _: services.deliver(delivery_id=delivery.pk, now=DUE).status)

    assert sorted(outcomes) == ["sent", "skipped", "skipped", "skipped"]
    assert len(mail.outbox) == 1
