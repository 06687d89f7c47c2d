"""The back office's application page: what an assessor decides on, and the steps of the assessment as buttons."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib import messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.services import sync_agency_group
from applications import selectors, services
from applications.models import Application, InformationRequest, Status, StatusChange
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def assessor():
    user = UserFactory(assessor=True, first_name="Anna", last_name="de Beoordelaar")
    user.groups.add(sync_agency_group())
    return user


@pytest.fixture
def agency_client(client, assessor):
    client.force_login(assessor)
    return client


def page(application: Application) -> str:
    return reverse("admin:applications_application_change", args=[application.pk])


def step(application: Application, name: str) -> str:
    return reverse("admin:applications_application_step", args=[application.pk, name])


def reported(response) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in response.context["messages"]]


def post(client, application, name, **data):
    with translation.override("en"):
        return client.post(step(application, name), data, follow=True, HTTP_ACCEPT_LANGUAGE="en")


# --- each button takes its step through the service -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "start", "data", "expected"),
    [
        ("start_review", Status.SUBMITTED, {}, Status.IN_REVIEW),
        ("start_review", Status.RESUBMITTED, {}, Status.IN_REVIEW),
        (
            "request_information",
            Status.IN_REVIEW,
            {"reason": "Het raadsbesluit ontbreekt."},
            Status.INFORMATION_REQUESTED,
        ),
        ("mark_eligible", Status.IN_REVIEW, {"reason": ""}, Status.ELIGIBLE),
        ("mark_eligible", Status.IN_REVIEW, {"reason": "Alles op orde."}, Status.ELIGIBLE),
        ("mark_ineligible", Status.IN_REVIEW, {"reason": "Geen aandachtsgroep."}, Status.INELIGIBLE),
    ],
)
def test_each_step_changes_the_status_through_its_service_with_a_status_change(
    agency_client, assessor, name, start, data, expected
):
    application = ApplicationFactory(submitted=True, status=start)

    response = post(agency_client, application, name, **data)

    application.refresh_from_db()
    assert application.status == expected
    change = application.status_changes.latest("id")
    assert (change.from_status, change.to_status, change.actor, change.reason) == (
        start,
        expected,
        assessor,
        data.get("reason", ""),
    )
    assert response.redirect_chain[-1][0] == page(application)
    [(level, text)] = reported(response)
    assert level == messages.SUCCESS
    assert application.reference in text


def test_requesting_information_shows_the_deadline_and_sets_it(agency_client):
    application = ApplicationFactory(submitted=True, status=Status.IN_REVIEW)
    form = agency_client.get(step(application, "request_information"), HTTP_ACCEPT_LANGUAGE="en")
    deadline = form.context["deadline"]
    assert deadline == services.information_deadline(requested_at=datetime.now(AMSTERDAM), tranche=application.tranche)

    response = post(agency_client, application, "request_information", reason="Stuur de begroting mee.")

    request = InformationRequest.objects.get(application=application)
    assert (request.deadline, request.reason) == (deadline, "Stuur de begroting mee.")
    [(_level, text)] = reported(response)
    assert f"answers by {deadline.day} " in text


@pytest.mark.parametrize("name", ["request_information", "mark_ineligible"])
def test_a_step_that_needs_a_reason_refuses_without_one_and_changes_nothing(agency_client, name):
    application = ApplicationFactory(submitted=True, status=Status.IN_REVIEW)

    response = post(agency_client, application, name, reason="  ")

    assert response.context["form"].errors["reason"]
    application.refresh_from_db()
    assert application.status == Status.IN_REVIEW
    assert application.status_changes.count() == 1


# --- a step that is not possible now says what must happen first ----------------------------------------


@pytest.mark.parametrize(
    ("start", "name", "first"),
    [
        (Status.SUBMITTED, "mark_eligible", "Start the review first."),
        (Status.RESUBMITTED, "mark_eligible", "Start the review first."),
        (Status.SUBMITTED, "request_information", "Start the review first."),
        (Status.IN_REVIEW, "start_review", "request information or give the outcome"),
        (Status.ELIGIBLE, "mark_ineligible", "The assessment is done"),
        (Status.REFUSED, "start_review", "it is no longer assessed"),
    ],
)
def test_a_step_not_possible_now_says_what_must_happen_first_and_changes_nothing(agency_client, start, name, first):
    application = ApplicationFactory(submitted=True, status=start)

    response = post(agency_client, application, name, reason="Toch maar.")

    application.refresh_from_db()
    assert application.status == start
    assert application.status_changes.count() == 1
    [(level, text)] = reported(response)
    assert level == messages.ERROR
    assert first in text


def test_waiting_for_information_names_the_municipalitys_last_day(agency_client, assessor):
    application = ApplicationFactory(submitted=True, status=Status.IN_REVIEW)
    services.request_information(application=application, user=assessor, reason="Planning ontbreekt.")
    deadline = application.information_requests.get().deadline

    response = post(agency_client, application, "mark_eligible")

    [(_level, text)] = reported(response)
    assert "Wait until the municipality sends the requested information" in text
    assert str(deadline.year) in text


def test_the_list_action_refuses_with_what_must_happen_first(agency_client):
    application = ApplicationFactory(submitted=True)
    with translation.override("en"):
        response = agency_client.post(
            reverse("admin:applications_application_changelist"),
            {"action": "mark_eligible", "_selected_action": [application.pk]},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )
    [(level, text)] = reported(response)
    assert (level, text) == (
        messages.ERROR,
        f"{application.reference}: Mark eligible is not possible now. Start the review first.",
    )


def test_steps_are_for_agency_staff_and_unknown_steps_are_not_found(client, agency_client):
    application = ApplicationFactory(submitted=True)
    assert agency_client.get(step(application, "approve_everything")).status_code == 404
    analyst = UserFactory(analyst=True, is_staff=True)
    analyst.groups.add(sync_agency_group())
    client.force_login(analyst)
    assert client.post(step(application, "start_review")).status_code == 404
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED


# --- the page -------------------------------------------------------------------------------------------


def test_the_page_offers_what_can_be_done_now_and_says_what_first_for_the_rest(agency_client):
    application = ApplicationFactory(submitted=True)
    with translation.override("en"):
        response = agency_client.get(page(application), HTTP_ACCEPT_LANGUAGE="en")
    buttons = {button["name"]: button for button in response.context["steps"]["buttons"]}
    assert buttons["start_review"]["first"] == ""
    assert buttons["mark_eligible"]["first"] == "Start the review first."
    html = response.content.decode()
    assert f'action="{step(application, "start_review")}"' in html
    assert "disabled" in html


def test_an_assessed_application_offers_no_steps_but_says_why(agency_client):
    application = ApplicationFactory(eligible=True)
    response = agency_client.get(page(application), HTTP_ACCEPT_LANGUAGE="en")
    assert response.context["steps"]["buttons"] == []
    assert "The assessment is done" in response.context["steps"]["done"]


def test_each_unit_line_says_the_rules_it_was_checked_against():
    application = ApplicationFactory(submitted=True, lines=[("students", 4, "flexible")])
    line = application.unit_lines.get()
    line.requested_amount = Decimal("40000.00")
    line.save()
    loaded = selectors.application_for_back_office(user=UserFactory(assessor=True), pk=application.pk)

    with translation.override("en"):
        checks = selectors.unit_line_checks(loaded.unit_lines.get(), application=loaded, rent_limit=None)
        whole = selectors.application_checks(loaded)

    sentences = {check.sentence: check.complies for check in checks}
    assert sentences["At most € 7,000.00 per flexible unit: € 10,000.00 — does not comply"] is False
    assert any(sentence.startswith("Target group eligible in") for sentence in sentences)
    assert any(check.sentence.startswith("At least ") and check.complies for check in whole)


def test_the_history_says_who_did_what_and_when_in_amsterdam_time():
    signatory = UserFactory(signatory=True, first_name="Jan", last_name="Jansen")
    application = ApplicationFactory(submitted=True)
    application.status_changes.all().delete()
    StatusChange.objects.create(
        application=application,
        from_status=Status.DRAFT,
        to_status=Status.SUBMITTED,
        actor=signatory,
        at=datetime(2026, 10, 1, 9, 0, tzinfo=AMSTERDAM),
    )
    loaded = selectors.application_for_back_office(user=UserFactory(assessor=True), pk=application.pk)

    with translation.override("en"):
        [entry] = selectors.history(loaded)

    assert entry.sentence == f"Submitted by Jan Jansen ({signatory.municipality.name}) on 1 October 2026 09:00."


def test_the_page_costs_the_same_queries_however_many_lines_and_changes(agency_client, assessor):
    def queries(application) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert agency_client.get(page(application)).status_code == 200
        return len(captured)

    small = ApplicationFactory(submitted=True)
    large = ApplicationFactory(
        submitted=True, lines=[("homeless", 3, "permanent"), ("students", 4, "flexible"), ("homeless", 5, "flexible")]
    )
    services.start_review(application=large, user=assessor)
    services.request_information(application=large, user=assessor, reason="Meer weten.")

    assert queries(large) == queries(small)
