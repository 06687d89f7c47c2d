"""The agency's weekly digest: on Monday morning, to each agency user, of what waits on them."""

from datetime import date

import pytest
from django.core import mail

from allocation import services as allocation_services
from allocation.models import Objection
from applications.models import InformationRequest, Status
from grants.models import AmendmentKind, AmendmentStatus, TrancheAmendment
from notifications import services
from notifications.models import NotificationPreference, Reminder, ReminderKind
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory
from tests.notifications.helpers import amsterdam, recipients, sweep

pytestmark = pytest.mark.django_db

MONDAY = "2026-12-07 08:00"


def agency_user(**traits):
    """An agency user who reads e-mail in English, so that the texts below do not depend on the translations."""
    user = UserFactory(**traits)
    NotificationPreference.objects.create(user=user, language="en")
    return user


@pytest.fixture
def assessor():
    return agency_user(assessor=True, email="beoordelaar@rvo.example")


@pytest.fixture
def approver():
    return agency_user(approver=True, email="goedkeurder@rvo.example")


def body_of(address: str) -> str:
    """The body of the one digest e-mailed to `address`."""
    (message,) = [message for message in mail.outbox if address in message.to and "digest" in message.subject]
    return message.body


def test_each_agency_user_gets_a_digest_of_the_applications_to_assess_once_a_week(assessor, approver):
    application = ApplicationFactory(submitted=True)
    ApplicationFactory(submitted=True, status=Status.ELIGIBLE)
    UserFactory(municipality=application.municipality, email="redacteur@utrecht.example")

    assert sweep(amsterdam("2026-12-07 07:59")) == []
    assert sweep(amsterdam(MONDAY)) == ["sent", "sent"]
    assert sweep(amsterdam("2026-12-09 14:00")) == []
    assert sweep(amsterdam("2026-12-14 08:00")) == ["sent", "sent"]

    assert recipients() == ["beoordelaar@rvo.example"] * 2 + ["goedkeurder@rvo.example"] * 2
    first = next(message.body for message in mail.outbox if assessor.email in message.to)
    assert application.reference in first
    assert "1 application to assess" in first


def test_an_approver_is_told_of_previews_and_amendments_prepared_by_others_only(assessor, approver):
    tranche = closed_tranche()
    ApplicationFactory(eligible=True, tranche=tranche)
    allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    TrancheAmendment.all_objects.create(
        tranche=tranche,
        kind=AmendmentKind.CEILING,
        publication_reference="Stcrt. 2026, 9",
        effective_at=amsterdam("2026-12-01 00:00"),
        old_ceiling=tranche.budget_ceiling,
        new_ceiling=tranche.budget_ceiling * 2,
        status=AmendmentStatus.PREPARED,
        prepared_by=approver,
    )
    other_approver = agency_user(approver=True, email="tweede@rvo.example")

    sweep(amsterdam(MONDAY))

    assert "1 allocation preview to approve" in body_of(approver.email)
    assert "amendment" not in body_of(approver.email)
    assert "1 allocation preview to approve" in body_of(other_approver.email)
    assert "1 tranche amendment to confirm" in body_of(other_approver.email)
    assert assessor.email not in recipients()


def test_overdue_information_requests_and_objections_count_as_overdue_cases(grant, assessor):
    application = ApplicationFactory(submitted=True, status=Status.INFORMATION_REQUESTED)
    InformationRequest.objects.create(
        application=application, requested_at=amsterdam("2026-11-01 10:00"), deadline=date(2026, 11, 15)
    )
    for extended_to in (None, date(2026, 12, 4), date(2026, 12, 8)):
        Objection.objects.create(
            contested=grant.decision,
            received_on=date(2026, 10, 1),
            term_ends_on=date(2026, 10, 27),
            filed_in_time=True,
            grounds="Te laag.",
            decide_by=date(2026, 12, 1),
            extended_to=extended_to,
            registered_by=assessor,
            registered_at=amsterdam("2026-10-01 12:00"),
        )

    sweep(amsterdam(MONDAY))

    assert "1 information request past its deadline" in body_of(assessor.email)
    assert "2 objections past their decision deadline" in body_of(assessor.email)


def test_nothing_waiting_means_no_digest(assessor, approver):
    ApplicationFactory(submitted=True, status=Status.ELIGIBLE)

    assert sweep(amsterdam(MONDAY)) == []
    assert not Reminder.objects.filter(kind=ReminderKind.AGENCY_DIGEST).exists()


def test_a_digest_whose_work_was_done_before_it_went_out_is_not_sent(assessor):
    application = ApplicationFactory(submitted=True)
    services.sweep(now=amsterdam(MONDAY), inline=False)
    application.status = Status.ELIGIBLE
    application.save()

    assert sweep(amsterdam("2026-12-07 08:05")) == ["obsolete"]


def test_a_digest_the_workers_could_not_send_goes_out_until_thursday_morning(assessor):
    ApplicationFactory(submitted=True)

    assert sweep(amsterdam("2026-12-10 07:59")) == ["sent"]
    assert sweep(amsterdam("2026-12-17 08:00")) == []


def test_a_digest_not_sent_in_its_week_is_not_sent_in_the_next(assessor):
    ApplicationFactory(submitted=True)
    services.sweep(now=amsterdam(MONDAY), inline=False)

    assert sweep(amsterdam("2026-12-14 08:00")) == ["obsolete", "sent"]
    assert len(mail.outbox) == 1


def test_the_digest_is_in_dutch_unless_the_user_chose_english(assessor):
    dutch = UserFactory(assessor=True, email="nl@rvo.example")
    ApplicationFactory(submitted=True)
    ApplicationFactory(submitted=True)

    sweep(amsterdam(MONDAY))

    by_address = {message.to[0]: message for message in mail.outbox}
    assert "2 applications to assess" in by_address[assessor.email].body
    assert "7 December 2026" in by_address[assessor.email].subject
    assert "7 december 2026" in by_address[dutch.email].subject
