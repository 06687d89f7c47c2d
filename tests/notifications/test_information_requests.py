"""Information request reminders: 5 business days before the deadline and on the day, while unanswered."""

from datetime import UTC, date, datetime

import pytest
from django.core import mail

from applications.models import InformationRequest, Status
from notifications import services
from notifications.models import Reminder, ReminderKind
from tests.factories import ApplicationFactory, UserFactory
from tests.notifications.helpers import amsterdam, recipients, sweep

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def utrecht_editor():
    return UserFactory(municipality__code="GM0344", email="redacteur@utrecht.example")


def open_request(deadline: date, **application) -> InformationRequest:
    application = ApplicationFactory(submitted=True, status=Status.INFORMATION_REQUESTED, **application)
    return InformationRequest.objects.create(
        application=application, requested_at=amsterdam("2026-04-01 10:00"), reason="Begroting", deadline=deadline
    )


def test_reminded_five_business_days_before_skipping_kings_day_and_the_weekend_and_on_the_day():
    open_request(date(2026, 4, 28))

    assert sweep(amsterdam("2026-04-17 09:00")) == []
    assert sweep(amsterdam("2026-04-20 08:59")) == []
    assert sweep(amsterdam("2026-04-20 09:00")) == ["sent"]
    assert sweep(amsterdam("2026-04-27 12:00")) == []
    assert sweep(amsterdam("2026-04-28 09:00")) == ["sent"]
    assert sweep(amsterdam("2026-04-29 09:00")) == []

    assert recipients() == ["redacteur@utrecht.example"] * 2
    assert all("28 april 2026" in message.subject for message in mail.outbox)


def test_the_reminders_keep_nine_oclock_on_either_side_of_the_change_to_summer_time():
    open_request(date(2026, 3, 31))

    sweep(amsterdam("2026-03-24 09:00"))
    sweep(amsterdam("2026-03-31 09:00"))

    due = sorted(Reminder.objects.values_list("due_at", flat=True))
    assert due == [datetime(2026, 3, 24, 8, 0, tzinfo=UTC), datetime(2026, 3, 31, 7, 0, tzinfo=UTC)]


def test_an_answered_request_is_not_reminded():
    request = open_request(date(2026, 4, 28))
    InformationRequest.objects.filter(pk=request.pk).update(answered_at=amsterdam("2026-04-15 10:00"))
    request.application.status = Status.RESUBMITTED
    request.application.save()

    assert sweep(amsterdam("2026-04-28 09:00")) == []


def test_an_answer_that_arrives_between_decision_and_sending_stops_the_reminder():
    request = open_request(date(2026, 4, 28))
    services.sweep(now=amsterdam("2026-04-20 09:00"), inline=False)
    InformationRequest.objects.filter(pk=request.pk).update(answered_at=amsterdam("2026-04-20 09:01"))

    assert sweep(amsterdam("2026-04-20 09:02")) == ["obsolete"]
    assert mail.outbox == []


def test_a_request_without_a_deadline_is_not_reminded():
    open_request(None)

    assert sweep(amsterdam("2026-04-28 09:00")) == []


def test_the_reminder_goes_to_the_applicants_municipality_only():
    request = open_request(date(2026, 4, 28), municipality__code="GM0363")
    UserFactory(municipality=request.application.municipality, email="amsterdam@example.nl")

    sweep(amsterdam("2026-04-28 09:00"))

    assert Reminder.objects.get().kind == ReminderKind.INFORMATION_REQUEST
    assert recipients() == ["amsterdam@example.nl"]
