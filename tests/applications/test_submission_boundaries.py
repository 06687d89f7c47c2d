"""Boundaries of a submission: the minimum number of units, the maximum per municipality and required attachments.

Each check is shown on both sides of its limit, through the submission service that the portal calls.
"""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from applications.models import Application, Status
from applications.services import add_attachment, submit_application
from grants.models import Tranche
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.files import pdf_bytes, upload

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def tranche():
    """Open now; at least 25 units and at most € 175,000 per municipality; a project plan and a budget required."""
    tranche = TrancheFactory(max_per_municipality=Decimal("175000.00"), min_units_per_application=25)
    Tranche.objects.filter(pk=tranche.pk).update(required_attachments=["project_plan", "budget"])
    tranche.refresh_from_db()
    return tranche


def draft(tranche, signatory, lines, *, attachments=("project_plan", "budget")) -> Application:
    application = ApplicationFactory(tranche=tranche, municipality=signatory.municipality, lines=lines)
    for kind in attachments:
        add_attachment(
            application=application, user=signatory, kind=kind, uploaded_file=upload(f"{kind}.pdf", pdf_bytes())
        )
    return application


def problems(application, user, *, now=None, language="en") -> list[str]:
    with translation.override(language), pytest.raises(ValidationError) as caught:
        submit_application(application=application, user=user, now=now)
    application.refresh_from_db()
    assert (application.status, application.reference) == (Status.DRAFT, None)
    return caught.value.messages


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([("homeless", 24, "permanent")], "An application needs at least 25 units; this one has 24."),
        # The minimum counts the units of all lines together.
        (
            [("homeless", 20, "permanent"), ("students", 4, "flexible")],
            "An application needs at least 25 units; this one has 24.",
        ),
        ([("homeless", 25, "permanent")], None),
        ([("homeless", 20, "permanent"), ("students", 5, "flexible")], None),
    ],
    ids=["24 units on one line", "24 units on two lines", "25 units on one line", "25 units on two lines"],
)
def test_the_minimum_number_of_units_below_and_at_the_limit(tranche, signatory, lines, message):
    application = draft(tranche, signatory, lines)

    if message is None:
        submitted = submit_application(application=application, user=signatory)
        assert submitted.status == Status.SUBMITTED
    else:
        assert problems(application, signatory) == [message]


def test_a_request_at_the_maximum_per_municipality_is_submitted(tranche, signatory):
    # 25 units × € 7,000 = € 175,000, exactly the maximum.
    application = draft(tranche, signatory, [("homeless", 25, "permanent")])

    assert submit_application(application=application, user=signatory).status == Status.SUBMITTED


def test_a_cent_above_the_maximum_per_municipality_is_refused(tranche, signatory):
    application = draft(tranche, signatory, [("homeless", 25, "permanent"), ("students", 1, "flexible")])
    application.unit_lines.filter(target_group__code="students").update(requested_amount=Decimal("0.01"))

    assert problems(application, signatory) == [
        "A municipality can receive at most € 175,000.00 in this tranche; this application asks € 175,000.01."
    ]


@pytest.mark.parametrize(
    ("attachments", "messages"),
    [
        (("project_plan",), ["Attach the budget."]),
        (("budget", "other"), ["Attach the project plan."]),
        ((), ["Attach the project plan.", "Attach the budget."]),
    ],
    ids=["budget missing", "project plan missing", "both missing"],
)
def test_a_missing_required_attachment_is_named(tranche, signatory, attachments, messages):
    application = draft(tranche, signatory, [("homeless", 25, "permanent")], attachments=attachments)

    assert problems(application, signatory) == messages


def test_a_tranche_without_required_attachments_takes_an_application_without_any():
    tranche = TrancheFactory()
    signatory = UserFactory(signatory=True)
    application = draft(tranche, signatory, [("homeless", 1, "permanent")], attachments=())

    assert submit_application(application=application, user=signatory).status == Status.SUBMITTED


def test_every_problem_is_reported_at_once_and_no_receipt_number_is_used(tranche, signatory):
    application = draft(tranche, signatory, [("homeless", 24, "permanent")], attachments=("budget",))

    assert problems(application, signatory) == [
        "An application needs at least 25 units; this one has 24.",
        "Attach the project plan.",
    ]
    tranche.refresh_from_db()
    assert tranche.last_receipt_number == 0


# --- the closing on the day the clocks go forward --------------------------------------------------------

SPRING_FORWARD_CLOSING = datetime(2026, 3, 29, 17, tzinfo=AMSTERDAM)  # summer time: 15:00 UTC


@pytest.fixture
def closing_on_the_last_sunday_of_march():
    with time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=AMSTERDAM), tick=False):
        tranche = TrancheFactory(opens_at=timezone.now(), closes_at=SPRING_FORWARD_CLOSING)
        signatory = UserFactory(signatory=True)
        return ApplicationFactory(tranche=tranche, municipality=signatory.municipality), signatory


def test_a_submission_a_moment_before_a_closing_in_summer_time_is_received(closing_on_the_last_sunday_of_march):
    application, signatory = closing_on_the_last_sunday_of_march
    # 14:59:59 UTC: still 16:59:59 in Amsterdam, though with winter time's offset it would be 15:59:59.
    arrival = datetime(2026, 3, 29, 14, 59, 59, 999999, tzinfo=UTC)

    with time_machine.travel(arrival, tick=False):
        submitted = submit_application(application=application, user=signatory, now=arrival)

    assert (submitted.status, submitted.received_at) == (Status.SUBMITTED, arrival)


def test_a_submission_at_a_closing_in_summer_time_is_refused(closing_on_the_last_sunday_of_march):
    application, signatory = closing_on_the_last_sunday_of_march
    arrival = datetime(2026, 3, 29, 15, tzinfo=UTC)

    with time_machine.travel(arrival, tick=False):
        messages = problems(application, signatory, now=arrival, language="nl")

    assert messages == [
        "De sluitingstermijn van deze tranche was 29 maart 2026 17:00; aanvragen kunnen niet meer worden ingediend."
    ]
