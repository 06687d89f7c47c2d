"""The notification list: every user sees what was decided for them and when it was e-mailed; the header counts
what is unread."""

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import NotificationPreference, Reminder, ReminderKind
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory, municipality
from tests.figures import client_for
from tests.notifications.helpers import amsterdam, sweep

pytestmark = pytest.mark.django_db

LIST = reverse("notifications:list")


@pytest.fixture
def editor():
    return UserFactory(municipality=municipality("GM0344"), email="redacteur@utrecht.example")


def drafts_closing(*municipalities, count: int = 1) -> None:
    """`count` tranches closing on 7 April 2026, each with a draft of every municipality given."""
    for _ in range(count):
        tranche = TrancheFactory(opens_at=amsterdam("2026-03-01 09:00"), closes_at=amsterdam("2026-04-07 17:00"))
        for code in municipalities:
            ApplicationFactory(tranche=tranche, municipality=municipality(code))


def test_municipal_users_see_the_reminders_to_their_municipality_and_when_each_was_emailed(editor):
    colleague = UserFactory(signatory=True, municipality=editor.municipality, email="")
    outsider = UserFactory(municipality=municipality("GM0363"), email="amsterdam@example.nl")
    drafts_closing("GM0344")
    with time_machine.travel(amsterdam("2026-03-24 17:00"), tick=False):
        sweep(amsterdam("2026-03-24 17:00"))

    mine = client_for(editor).get(LIST)
    theirs = client_for(colleague).get(LIST)
    other = client_for(outsider).get(LIST)

    assert [item["reminder"].kind for item in mine.context["items"]] == [ReminderKind.TRANCHE_CLOSING]
    assert "E-mailed to redacteur@utrecht.example on 24 March 2026, 17:00" in mine.content.decode()
    assert "7 April 2026, 17:00" in mine.content.decode()
    assert len(theirs.context["items"]) == 1
    assert "Not e-mailed to you." in theirs.content.decode()
    assert other.context["items"] == []


@time_machine.travel(amsterdam("2026-03-24 17:00"))
def test_the_header_counts_the_unread_notifications_until_the_list_is_opened(editor):
    drafts_closing("GM0344", count=2)
    client = client_for(editor)
    sweep(amsterdam("2026-03-24 17:00"))

    assert 'Notifications <span aria-hidden="true">(2)</span>' in client.get("/").content.decode()
    listed = client.get(LIST)
    assert [item["is_new"] for item in listed.context["items"]] == [True, True]
    assert "(2)" not in listed.content.decode()
    assert "(2)" not in client.get("/").content.decode()
    assert "Notifications</a>" in client.get("/").content.decode()

    drafts_closing("GM0344")
    sweep(amsterdam("2026-03-24 17:30"))
    assert 'Notifications <span aria-hidden="true">(1)</span>' in client.get("/").content.decode()
    assert [item["is_new"] for item in client.get(LIST).context["items"]] == [True, False, False]


def test_an_agency_user_sees_their_own_digest_and_nobody_elses():
    assessor = UserFactory(assessor=True, email="a@rvo.example")
    colleague = UserFactory(assessor=True, email="b@rvo.example")
    ApplicationFactory(submitted=True)
    sweep(amsterdam("2026-12-07 08:00"))

    items = client_for(assessor).get(LIST).context["items"]

    assert [item["reminder"].user for item in items] == [assessor]
    assert Reminder.objects.filter(user=colleague).count() == 1


def test_an_obsolete_reminder_is_not_listed(editor):
    drafts_closing("GM0344")
    sweep(amsterdam("2026-03-24 17:00"))
    Reminder.objects.update(obsolete_at=amsterdam("2026-03-24 17:01"))

    assert client_for(editor).get(LIST).context["items"] == []


def test_the_list_reads_the_same_number_of_queries_for_one_or_six_reminders(editor, django_assert_num_queries):
    drafts_closing("GM0344")
    sweep(amsterdam("2026-03-24 17:00"))
    client = client_for(editor)
    client.get(LIST)
    with CaptureQueriesContext(connection) as one:
        client.get(LIST)

    drafts_closing("GM0344", count=5)
    sweep(amsterdam("2026-03-24 17:30"))
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get(LIST)
    assert len(response.context["items"]) == 6


def test_the_language_of_the_emails_is_chosen_on_the_list(editor):
    client = client_for(editor)

    response = client.post(reverse("notifications:language"), {"language": "en"}, follow=True)

    assert NotificationPreference.objects.get(user=editor).language == "en"
    assert response.context["form"].initial["language"] == "en"
    client.post(reverse("notifications:language"), {"language": "fr"})
    assert NotificationPreference.objects.get(user=editor).language == "en"


def test_the_list_is_for_logged_in_users_only():
    response = Client().get(LIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
