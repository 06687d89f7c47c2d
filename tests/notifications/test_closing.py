"""Closing reminders: municipalities with a draft, 14, 3 and 1 days before the closing in force."""

import pytest
from django.core import mail
from django.utils import timezone

from applications.models import Application, Status
from grants.models import AmendmentKind, TrancheAmendment
from notifications import services
from notifications.models import DeliveryStatus, NotificationPreference, Reminder, TrancheReminderSettings
from notifications.selectors import reminders_for
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory, municipality
from tests.notifications.helpers import amsterdam, recipients, subjects, sweep

pytestmark = pytest.mark.django_db

CLOSING = "2026-04-07 17:00"


@pytest.fixture
def tranche():
    return TrancheFactory(opens_at=amsterdam("2026-03-01 09:00"), closes_at=amsterdam(CLOSING))


@pytest.fixture
def utrecht_editor():
    return UserFactory(municipality=municipality("GM0344"), email="redacteur@utrecht.example")


@pytest.fixture
def draft(tranche, utrecht_editor):
    return ApplicationFactory(tranche=tranche, municipality=utrecht_editor.municipality)


def test_a_municipality_with_a_draft_is_reminded_14_3_and_1_days_before_the_closing(tranche, draft, utrecht_editor):
    amsterdam_signatory = UserFactory(signatory=True, municipality=municipality("GM0363"))
    ApplicationFactory(tranche=tranche, municipality=amsterdam_signatory.municipality, submitted=True)

    assert sweep(amsterdam("2026-03-24 16:59")) == []
    assert sweep(amsterdam("2026-03-24 17:00")) == ["sent"]
    assert sweep(amsterdam("2026-03-24 17:15")) == []
    assert sweep(amsterdam("2026-04-04 17:00")) == ["sent"]
    assert sweep(amsterdam("2026-04-06 17:00")) == ["sent"]
    assert sweep(amsterdam("2026-04-07 16:59")) == []

    assert recipients() == ["redacteur@utrecht.example"] * 3
    assert all("7 april 2026, 17:00" in subject for subject in subjects())
    assert Reminder.objects.filter(municipality=utrecht_editor.municipality).count() == 3


def test_every_municipal_user_of_the_municipality_gets_the_reminder_once(tranche, draft, utrecht_editor):
    UserFactory(signatory=True, municipality=utrecht_editor.municipality, email="ondertekenaar@utrecht.example")
    UserFactory(municipality=utrecht_editor.municipality, email="")
    UserFactory(municipality=utrecht_editor.municipality, is_active=False)
    ApplicationFactory(tranche=tranche, municipality=utrecht_editor.municipality)

    assert sweep(amsterdam("2026-03-25 08:00")) == ["sent", "sent"]
    assert sweep(amsterdam("2026-03-25 08:00")) == []
    assert recipients() == ["ondertekenaar@utrecht.example", "redacteur@utrecht.example"]


def test_a_confirmed_extension_moves_the_reminders_to_the_new_closing(tranche, draft):
    TrancheAmendment.objects.create(
        tranche=tranche,
        kind=AmendmentKind.CLOSING,
        publication_reference="Stcrt. 2026, 1",
        effective_at=amsterdam("2026-03-20 12:00"),
        old_closes_at=tranche.closes_at,
        new_closes_at=amsterdam("2026-04-21 17:00"),
    )

    assert sweep(amsterdam("2026-03-24 17:00")) == []
    assert sweep(amsterdam("2026-04-07 17:00")) == ["sent"]
    assert "21 april 2026, 17:00" in subjects()[0]


def test_an_extension_after_a_reminder_withdraws_the_pending_one_and_reminds_of_the_new_closing(tranche, draft):
    services.sweep(now=amsterdam("2026-04-04 17:00"), inline=False)
    pending = Reminder.objects.get()
    TrancheAmendment.objects.create(
        tranche=tranche,
        kind=AmendmentKind.CLOSING,
        publication_reference="Stcrt. 2026, 2",
        effective_at=amsterdam("2026-04-04 18:00"),
        old_closes_at=tranche.closes_at,
        new_closes_at=amsterdam("2026-04-08 17:00"),
    )

    assert sweep(amsterdam("2026-04-05 17:00")) == ["obsolete", "sent"]
    pending.refresh_from_db()
    assert pending.obsolete_at is not None
    assert len(mail.outbox) == 1
    assert "8 april 2026, 17:00" in mail.outbox[0].subject


def test_the_days_are_set_per_tranche(tranche, draft):
    TrancheReminderSettings.objects.create(tranche=tranche, closing_days_before=[7])

    assert sweep(amsterdam("2026-03-24 17:00")) == []
    assert sweep(amsterdam("2026-03-31 17:00")) == ["sent"]
    assert sweep(amsterdam("2026-04-06 17:00")) == []


def test_after_an_outage_only_the_reminder_that_is_right_now_is_sent(tranche, draft):
    assert sweep(amsterdam("2026-04-05 10:00")) == ["sent"]
    assert Reminder.objects.get().context["days"] == 3


def test_no_reminder_once_the_tranche_has_closed(tranche, draft):
    assert sweep(amsterdam("2026-04-07 17:00")) == []
    assert not Reminder.objects.exists()


def test_a_draft_submitted_before_the_reminder_went_out_is_not_reminded(tranche, draft, utrecht_editor):
    services.sweep(now=amsterdam("2026-03-24 17:00"), inline=False)
    assert Reminder.objects.get().deliveries.get().status == DeliveryStatus.PENDING
    Application.objects.filter(pk=draft.pk).update(
        status=Status.SUBMITTED, reference="X-0001", received_at=timezone.now()
    )

    assert sweep(amsterdam("2026-03-24 17:05")) == ["obsolete"]
    assert mail.outbox == []
    assert not reminders_for(user=utrecht_editor).exists()


def test_the_email_is_in_english_for_a_user_who_chose_english(tranche, draft, utrecht_editor):
    NotificationPreference.objects.create(user=utrecht_editor, language="en")
    dutch = UserFactory(municipality=utrecht_editor.municipality, email="nl@utrecht.example")

    sweep(amsterdam("2026-03-24 17:00"))

    by_address = {message.to[0]: message for message in mail.outbox}
    assert "7 April 2026, 17:00" in by_address[utrecht_editor.email].subject
    assert "Dear" in by_address[utrecht_editor.email].body
    assert "7 april 2026, 17:00" in by_address[dutch.email].subject
    assert "http://127.0.0.1:8000/applications/" in by_address[dutch.email].body
