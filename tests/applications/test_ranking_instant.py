"""The ranking instant: receipt plus the municipality's own time answering information requests."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from accounts.services import sync_agency_group
from applications import selectors, services
from applications.models import Application, InformationRequest
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.portal import client_for, url

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def october(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2023, 10, day, hour, minute, tzinfo=AMSTERDAM)


def on(instant: datetime, service, **arguments):
    """Call the service as if it were `instant`."""
    with time_machine.travel(instant, tick=False):
        return service(**arguments)


@pytest.fixture
def tranche():
    return TrancheFactory(
        opens_at=october(2),
        closes_at=datetime(2023, 11, 28, 17, tzinfo=AMSTERDAM),
        ranking_instant="completion",
        information_term_days=14,
    )


@pytest.fixture
def assessor():
    user = UserFactory(assessor=True)
    user.groups.add(sync_agency_group())
    return user


@pytest.fixture
def received(tranche, signatory):
    """Received 5 October 2023 10:00, the example of the regulation's practice."""
    draft = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    return on(october(5, 10), services.submit_application, application=draft, user=signatory)


def ask(application, assessor, at: datetime) -> Application:
    on(at, services.start_review, application=application, user=assessor)
    return on(at, services.request_information, application=application, user=assessor, reason="Raadsbesluit?")


def answer(application, signatory, at: datetime) -> Application:
    return on(at, services.resubmit_application, application=application, user=signatory)


def test_ranking_instant_adds_only_the_municipalitys_own_completion_time(received, signatory, assessor):
    ask(received, assessor, october(12))
    answered = answer(received, signatory, october(20))  # 8 days after the request
    assert answered.ranks_at == october(13, 10)
    assert answered.received_at == october(5, 10)
    assert answered.completed_at == october(20)


def test_two_information_requests_add_up(received, signatory, assessor):
    ask(received, assessor, october(12))
    answer(received, signatory, october(15))  # 3 days
    ask(received, assessor, october(20, 14))
    answered = answer(received, signatory, october(22, 16, 30))  # 2 days 2.5 hours
    assert answered.ranks_at == october(5, 10) + timedelta(days=5, hours=2, minutes=30)
    assert list(answered.information_requests.values_list("requested_at", "answered_at")) == [
        (october(12), october(15)),
        (october(20, 14), october(22, 16, 30)),
    ]


def test_the_agencys_review_time_never_counts(received, signatory, assessor):
    # Twenty days of review before the agency asks, then the municipality answers within the hour.
    ask(received, assessor, october(25, 10))
    answered = answer(received, signatory, october(25, 10, 45))
    assert answered.completed_at == october(25, 10, 45)
    assert answered.ranks_at == october(5, 10, 45)


def test_information_request_deadline_is_the_tranches_term(received, assessor):
    received.tranche.information_term_days = 21
    received.tranche.save()
    ask(received, assessor, october(12, 16))
    request = InformationRequest.objects.get(application=received)
    assert (request.requested_at, request.requested_by, request.deadline) == (
        october(12, 16),
        assessor,
        date(2023, 11, 2),
    )
    assert request.answered_at is None


def test_information_request_deadline_counts_calendar_days_in_amsterdam_across_the_dst_change(received, assessor):
    # 21 October 00:30 in Amsterdam (summer time) is still 20 October in UTC; the term runs over 29 October,
    # when the clocks go back, and ends at the end of 4 November in Amsterdam, not 3 November.
    ask(received, assessor, october(21, 0, 30))
    request = InformationRequest.objects.get(application=received)
    assert request.requested_at.astimezone(ZoneInfo("UTC")).day == 20
    assert request.deadline == date(2023, 11, 4)


def test_answering_closes_the_open_request_in_the_signatorys_name(received, signatory, assessor):
    ask(received, assessor, october(12))
    answer(received, signatory, october(20))
    request = InformationRequest.objects.get(application=received)
    assert (request.answered_at, request.answered_by, request.municipality_time) == (
        october(20),
        signatory,
        timedelta(days=8),
    )


def test_the_derivation_names_receipt_each_request_and_the_sum(received, signatory, assessor):
    ask(received, assessor, october(12))
    answer(received, signatory, october(20))
    with translation.override("nl"):
        derivation = selectors.ranking_derivation(Application.objects.get(pk=received.pk))
        assert derivation.sentence == (
            "Ontvangen 5 oktober 2023 10:00 + 8 dagen 0 uur eigen hersteltijd = 13 oktober 2023 10:00."
        )
        assert derivation.request_lines == [
            "Informatie gevraagd 12 oktober 2023 09:00, beantwoord 20 oktober 2023 09:00: 8 dagen 0 uur."
        ]


def test_a_tranche_ranking_by_receipt_ignores_the_completion_time(received, signatory, assessor):
    received.tranche.ranking_instant = "receipt"
    received.tranche.save()
    ask(received, assessor, october(12))
    answered = answer(received, signatory, october(20))
    derivation = selectors.ranking_derivation(Application.objects.get(pk=answered.pk))
    assert derivation.ranks_at == october(5, 10)
    with translation.override("en"):
        assert derivation.sentence == "Ranks by its first receipt: 5 October 2023 10:00."


def test_back_office_page_shows_how_the_ranking_instant_was_derived(client, received, signatory, assessor):
    ask(received, assessor, october(12))
    answer(received, signatory, october(20))
    client.force_login(assessor)
    page = client.get(
        reverse("admin:applications_application_change", args=[received.pk]), HTTP_ACCEPT_LANGUAGE="nl"
    ).content.decode()
    assert "Ontvangen 5 oktober 2023 10:00 + 8 dagen 0 uur eigen hersteltijd = 13 oktober 2023 10:00." in page
    assert "Informatie gevraagd 12 oktober 2023 09:00, beantwoord 20 oktober 2023 09:00: 8 dagen 0 uur." in page


def test_portal_shows_the_deadline_and_that_the_time_until_the_answer_counts(received, signatory, assessor):
    ask(received, assessor, october(12))
    page = client_for(signatory).get(url("application_detail", received)).content.decode()
    assert "send your reply by the end of 26 October 2023" in page
    assert "The time until you send it back is added to the instant by which the application ranks." in page
    assert "to be answered by 26 October 2023: not answered yet." in page


def test_portal_shows_the_ranking_instant_with_its_derivation(received, signatory, assessor):
    ask(received, assessor, october(12))
    answer(received, signatory, october(20))
    page = client_for(signatory).get(url("application_detail", received)).content.decode()
    assert "Received 5 October 2023 10:00 + 8 days 0 hours own completion time = 13 October 2023 10:00." in page


def test_back_office_page_lists_the_information_requests_with_their_deadline(client, received, signatory, assessor):
    ask(received, assessor, october(12))
    client.force_login(assessor)
    page = client.get(
        reverse("admin:applications_application_change", args=[received.pk]), HTTP_ACCEPT_LANGUAGE="nl"
    ).content.decode()
    inline = page[page.index("Verzoeken om aanvullende informatie") :]
    assert "Eigen tijd van de gemeente" in inline
    assert "26 oktober 2023" in inline
