"""Decision deadlines of objections, for the agency: 10 business days before and on the day, as extended."""

from datetime import date

import pytest
from django.core import mail

from allocation.models import Objection
from notifications import services
from notifications.models import Reminder, ReminderKind
from tests.factories import UserFactory
from tests.notifications.helpers import amsterdam, recipients, sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler():
    return UserFactory(assessor=True, email="behandelaar@rvo.example")


def objection(grant, *, handler=None, decide_by=date(2026, 12, 29), **fields) -> Objection:
    return Objection.objects.create(
        contested=grant.decision,
        received_on=date(2026, 10, 1),
        term_ends_on=date(2026, 10, 27),
        filed_in_time=True,
        grounds="Het bedrag is te laag.",
        handler=handler,
        decide_by=decide_by,
        registered_by=UserFactory(assessor=True, is_active=False),
        registered_at=amsterdam("2026-10-01 12:00"),
        **fields,
    )


def test_the_handler_is_reminded_ten_business_days_before_past_christmas_and_on_the_day(grant, handler):
    objection(grant, handler=handler)
    UserFactory(approver=True, email="goedkeurder@rvo.example")

    assert sweep(amsterdam("2026-12-11 09:00")) == []
    assert sweep(amsterdam("2026-12-14 09:00")) == ["sent"]
    assert sweep(amsterdam("2026-12-28 09:00")) == []
    assert sweep(amsterdam("2026-12-29 09:00")) == ["sent"]

    assert recipients() == ["behandelaar@rvo.example"] * 2
    assert "29 december 2026" in mail.outbox[0].subject


def test_without_a_handler_every_active_agency_user_is_reminded(grant):
    objection(grant)
    UserFactory(assessor=True, email="a@rvo.example")
    UserFactory(approver=True, email="b@rvo.example")
    UserFactory(approver=True, email="c@rvo.example", is_active=False)

    assert sweep(amsterdam("2026-12-29 09:00")) == ["sent", "sent"]
    assert recipients() == ["a@rvo.example", "b@rvo.example"]
    assert "redacteur@utrecht.example" not in recipients()


def test_an_extension_moves_the_reminders_to_the_new_deadline(grant, handler):
    objection(grant, handler=handler, extended_to=date(2027, 2, 9), extension_reason="Hoorzitting verplaatst")

    assert sweep(amsterdam("2026-12-29 09:00")) == []
    assert sweep(amsterdam("2027-01-26 09:00")) == ["sent"]
    assert "9 februari 2027" in mail.outbox[0].subject
    assert Reminder.objects.get().context["extended"] is True


def test_an_extension_after_the_reminder_was_decided_stops_it(grant, handler):
    pending = objection(grant, handler=handler)
    services.sweep(now=amsterdam("2026-12-14 09:00"), inline=False)
    Objection.objects.filter(pk=pending.pk).update(extended_to=date(2027, 2, 9))

    assert sweep(amsterdam("2026-12-14 09:05")) == ["obsolete"]
    assert mail.outbox == []


def test_a_decided_objection_is_not_reminded(grant, handler):
    objection(grant, handler=handler, outcome="unfounded", decided_on=date(2026, 12, 1), decided_by=handler)

    assert sweep(amsterdam("2026-12-29 09:00")) == []
    assert not Reminder.objects.filter(kind=ReminderKind.OBJECTION_DEADLINE).exists()
