"""Accountability reports: a current grant's report on a year is due on 1 March of the next year."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from notifications.models import Reminder, ReminderKind
from realisation.models import AccountabilityReport, AccountabilityStatus
from tests.factories import UserFactory
from tests.notifications.helpers import amsterdam, kinds, recipients, sweep
from tests.progress import granted

pytestmark = pytest.mark.django_db


def account(grant, year: int, status: str) -> AccountabilityReport:
    editor = UserFactory(municipality=grant.municipality, email="")
    certified = status == AccountabilityStatus.CERTIFIED
    return AccountabilityReport.objects.create(
        application=grant,
        year=year,
        amount_spent=Decimal("1000.00"),
        amount_spent_cumulative=Decimal("1000.00"),
        obligations_met=True,
        units_used_for_target_groups=True,
        status=status,
        prepared_by=editor,
        prepared_at=amsterdam(f"{year + 1}-01-20 10:00"),
        certified_by=UserFactory(municipality=grant.municipality, email="") if certified else None,
        certified_at=amsterdam(f"{year + 1}-01-21 10:00") if certified else None,
    )


def test_the_report_on_last_year_is_due_four_weeks_before_the_first_of_march_and_overdue_after(grant):
    assert sweep(amsterdam("2027-01-31 09:00")) == []
    assert sweep(amsterdam("2027-02-01 09:00")) == ["sent"]
    assert sweep(amsterdam("2027-03-01 23:59")) == []
    assert sweep(amsterdam("2027-03-02 09:00")) == ["sent"]

    assert kinds() == [ReminderKind.ACCOUNTABILITY_DUE, ReminderKind.ACCOUNTABILITY_OVERDUE]
    assert Reminder.objects.filter(context__year=2026).count() == 2
    assert all("1 maart 2027" in message.body for message in mail.outbox)
    assert recipients() == ["redacteur@utrecht.example"] * 2


def test_a_certified_report_ends_the_reminders_and_a_prepared_one_does_not(grant):
    account(grant, 2026, AccountabilityStatus.PREPARED)
    assert sweep(amsterdam("2027-02-01 09:00")) == ["sent"]
    AccountabilityReport.objects.filter(application=grant).update(
        status=AccountabilityStatus.CERTIFIED,
        certified_by=UserFactory(municipality=grant.municipality, email=""),
        certified_at=amsterdam("2027-02-10 10:00"),
    )

    assert sweep(amsterdam("2027-03-02 09:00")) == []


def test_a_grant_first_decided_after_the_year_owes_no_report_on_it(grant):
    with time_machine.travel(amsterdam("2027-01-10 10:00"), tick=False):
        later = granted(municipality="GM0363")
    UserFactory(municipality=later.municipality, email="amsterdam@example.nl", is_active=True)

    sweep(amsterdam("2027-02-01 09:00"))

    assert recipients() == ["redacteur@utrecht.example"]
    assert Reminder.objects.get().municipality == grant.municipality
    assert date(2027, 1, 10) == later.decision.decision_date
