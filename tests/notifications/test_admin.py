"""The back office of reminders: what was decided and sent, sending a failed e-mail again, and the closing days."""

import pytest
from django.urls import reverse

from accounts.models import AuditEntry
from notifications import services
from notifications.models import Delivery, DeliveryStatus, TrancheReminderSettings
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory, municipality
from tests.figures import client_for
from tests.notifications.helpers import amsterdam, sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def tranche():
    UserFactory(municipality=municipality("GM0344"), email="redacteur@utrecht.example")
    tranche = TrancheFactory(opens_at=amsterdam("2026-03-01 09:00"), closes_at=amsterdam("2026-04-07 17:00"))
    ApplicationFactory(tranche=tranche, municipality=municipality("GM0344"))
    return tranche


@pytest.fixture
def staff():
    return client_for(UserFactory(approver=True, is_superuser=True, email=""))


def test_the_reminders_and_their_emails_are_listed(tranche, staff):
    sweep(amsterdam("2026-03-24 17:00"))

    reminders = staff.get(reverse("admin:notifications_reminder_changelist"))
    emails = staff.get(reverse("admin:notifications_delivery_changelist"))
    reminder = staff.get(reverse("admin:notifications_reminder_change", args=[Delivery.objects.get().reminder_id]))

    assert tranche.title in reminders.content.decode()
    assert "redacteur@utrecht.example" in emails.content.decode()
    assert "redacteur@utrecht.example" in reminder.content.decode()


def test_a_failed_email_is_sent_again_from_the_back_office_with_an_audit_entry(tranche, staff):
    services.sweep(now=amsterdam("2026-03-24 17:00"), inline=False)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=5)

    staff.post(
        reverse("admin:notifications_delivery_changelist"),
        {"action": "send_again", "_selected_action": [delivery.pk]},
    )

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert AuditEntry.objects.filter(object_type="notifications.delivery", object_id=str(delivery.pk)).exists()


def test_the_closing_days_of_a_tranche_are_set_as_a_list_of_days(tranche, staff):
    url = reverse("admin:notifications_trancheremindersettings_add")

    refused = staff.post(url, {"tranche": tranche.pk, "closing_days_before": "14, drie"})
    assert refused.status_code == 200
    assert not TrancheReminderSettings.objects.exists()
    staff.post(url, {"tranche": tranche.pk, "closing_days_before": "0, 3"})
    assert not TrancheReminderSettings.objects.exists()

    staff.post(url, {"tranche": tranche.pk, "closing_days_before": "3, 21,7"})

    assert TrancheReminderSettings.objects.get(tranche=tranche).closing_days_before == [21, 7, 3]
