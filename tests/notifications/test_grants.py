"""Reminders on a grant: progress reports due and overdue, construction start and completion approaching and
missed. The deadlines are those of the decision in force."""

from datetime import date, timedelta

import pytest
from django.core import mail

from allocation.models import Decision
from allocation.services import add_months
from notifications import services
from notifications.deadlines import at_local
from notifications.models import Reminder, ReminderKind
from notifications.schedule import LATE_GRACE
from realisation import services as realisation_services
from realisation.services import confirm_settlement, prepare_settlement
from tests.factories import UserFactory
from tests.notifications.helpers import kinds, sweep
from tests.progress import realised_by_line

pytestmark = pytest.mark.django_db


def report(grant, *, on: date, started: date | None = None, completed: date | None = None) -> None:
    """A progress report submitted on `on` through the services, by a signatory of the grant's municipality."""
    signatory = UserFactory(signatory=True, municipality=grant.municipality, email="")
    now = at_local(on)
    draft = realisation_services.save_progress_report(
        application=grant,
        user=signatory,
        construction_started_on=started,
        completed_on=completed,
        realised=realised_by_line(grant, [10 if completed else 0]),
        now=now,
    )
    realisation_services.submit_progress_report(report=draft, user=signatory, now=now)


def test_the_start_of_construction_is_announced_three_months_before_its_deadline(grant):
    start_by = grant.decision.start_construction_by
    assert start_by == date(2028, 9, 15)
    notice = at_local(add_months(start_by, -3))

    assert sweep(notice - timedelta(minutes=1)) == []
    assert sweep(notice) == ["sent"]
    assert kinds() == [ReminderKind.START_APPROACHING]
    assert start_by.strftime("%Y") in mail.outbox[0].subject


def test_a_progress_report_is_due_two_weeks_before_the_start_deadline(grant):
    start_by = grant.decision.start_construction_by
    sweep(at_local(add_months(start_by, -3)))

    assert sweep(at_local(start_by - timedelta(days=14))) == ["sent"]
    assert kinds() == [ReminderKind.PROGRESS_REPORT_DUE, ReminderKind.START_APPROACHING]


def test_a_missed_start_and_the_overdue_report_are_reminded_the_next_morning(grant):
    start_by = grant.decision.start_construction_by

    assert sweep(at_local(start_by)) == ["sent", "sent"]
    assert sweep(at_local(start_by + timedelta(days=1))) == ["sent", "sent"]
    assert kinds() == sorted(
        [
            ReminderKind.PROGRESS_REPORT_DUE,
            ReminderKind.START_APPROACHING,
            ReminderKind.PROGRESS_REPORT_OVERDUE,
            ReminderKind.START_MISSED,
        ]
    )


def test_a_report_of_the_start_in_time_ends_the_start_reminders_and_announces_the_completion(grant):
    start_by = grant.decision.start_construction_by
    report(grant, on=start_by - timedelta(days=20), started=start_by - timedelta(days=30))

    assert sweep(at_local(start_by + timedelta(days=1))) == []
    complete_by = grant.decision.complete_by
    assert sweep(at_local(add_months(complete_by, -3))) == ["sent"]
    assert kinds() == [ReminderKind.COMPLETION_APPROACHING]


def test_a_report_that_arrives_before_the_reminder_is_sent_stops_it(grant):
    start_by = grant.decision.start_construction_by
    services.sweep(now=at_local(start_by - timedelta(days=14)), inline=False)
    assert sorted(Reminder.objects.values_list("kind", flat=True)) == [
        ReminderKind.PROGRESS_REPORT_DUE,
        ReminderKind.START_APPROACHING,
    ]
    report(grant, on=start_by - timedelta(days=13), started=start_by - timedelta(days=13))

    assert sweep(at_local(start_by - timedelta(days=13)) + timedelta(hours=1)) == ["obsolete", "obsolete"]
    assert mail.outbox == []


def test_a_missed_completion_is_reminded_once_the_completion_deadline_has_passed(grant):
    start_by, complete_by = grant.decision.start_construction_by, grant.decision.complete_by
    report(grant, on=start_by, started=start_by)
    sweep(at_local(complete_by))
    mail.outbox.clear()

    assert sweep(at_local(complete_by + timedelta(days=1))) == ["sent", "sent"]
    assert {reminder.kind for reminder in Reminder.objects.filter(due_at__gt=at_local(complete_by))} == {
        ReminderKind.COMPLETION_MISSED,
        ReminderKind.PROGRESS_REPORT_OVERDUE,
    }


def test_a_missed_deadline_long_ago_is_not_reminded_on_a_first_run(grant):
    start_by = grant.decision.start_construction_by

    assert sweep(at_local(start_by + timedelta(days=1)) + LATE_GRACE) == []


def test_a_later_start_deadline_of_a_new_decision_moves_the_reminder(grant):
    start_by = grant.decision.start_construction_by
    later = add_months(start_by, 6)
    Decision.objects.filter(pk=grant.decision.pk).update(start_construction_by=later)

    sweep(at_local(add_months(start_by, -3)))
    assert not Reminder.objects.filter(kind=ReminderKind.START_APPROACHING).exists()
    sweep(at_local(add_months(later, -3)))
    reminder = Reminder.objects.get(kind=ReminderKind.START_APPROACHING)
    assert reminder.deadline == at_local(later).replace(hour=0)
    assert reminder.deliveries.get().sent_at is not None


def test_a_settled_grant_gets_no_reminders(grant):
    settled_on = at_local(grant.decision.complete_by + timedelta(days=1))
    settlement = prepare_settlement(
        decision=grant.decision, user=UserFactory(assessor=True, is_active=False), now=settled_on
    )
    confirm_settlement(settlement=settlement, user=UserFactory(approver=True, is_active=False), now=settled_on)

    assert sweep(at_local(grant.decision.start_construction_by + timedelta(days=1))) == []
