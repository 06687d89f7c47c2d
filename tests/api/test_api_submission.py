"""Submission through the API as on the portal: the ready state, the receipt instant of arrival, the ready hash as
the key, and the portal's status codes for every refusal."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings

from accounts.models import IdempotencyKey
from applications import submission
from applications.models import Application, InformationRequest, Status, StatusChange
from grants.models import Tranche
from tests.api.helpers import application_url, patch, post, token_client
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.portal import client_for, url

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
OPENING = datetime(2027, 3, 1, 9, 0, tzinfo=AMSTERDAM)
CONFIRMED = OPENING - timedelta(hours=1)
AT_OPENING = OPENING + timedelta(seconds=1)


@pytest.fixture
def signatory():
    return UserFactory(signatory=True)


@pytest.fixture
def tranche():
    return TrancheFactory(opens_at=OPENING, closes_at=OPENING + timedelta(days=30))


@pytest.fixture
def draft(signatory, tranche):
    return ApplicationFactory(municipality=signatory.municipality, tranche=tranche)


@pytest.fixture
def ready(signatory, draft):
    submission.confirm_ready(application=draft, user=signatory, now=CONFIRMED)
    draft.refresh_from_db()
    return draft


def api_for(user, *, at=AT_OPENING):
    # The token is issued at the moment travelled to, so that it is valid then.
    with time_machine.travel(at, tick=False):
        return token_client(user)


def submit(user, application, *, at=AT_OPENING, key=None, api=None, **headers):
    api = api or api_for(user, at=at)
    body = {"ready_hash": key} if key else {}
    with time_machine.travel(at, tick=False):
        return post(api, application_url(application, "submit"), body, **headers)


def receipts_of(application):
    application.refresh_from_db()
    submitted = StatusChange.objects.filter(application=application, to_status=Status.SUBMITTED).count()
    issued = Tranche.objects.get(pk=application.tranche_id).last_receipt_number
    return application.reference, application.received_at, submitted, issued


# --- the ready state ------------------------------------------------------------------------------------


def test_a_signatory_confirms_a_draft_as_ready_and_gets_its_hash(signatory, draft):
    with time_machine.travel(CONFIRMED, tick=False):
        response = post(token_client(signatory), application_url(draft, "ready"))

    draft.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["ready_hash"] == draft.ready_hash and len(draft.ready_hash) == 64
    assert response.json()["ready_at"] == CONFIRMED.isoformat()
    assert (draft.status, draft.ready_by) == (Status.DRAFT, signatory)


def test_an_editor_may_not_confirm_a_draft_as_ready(signatory, draft):
    editor = UserFactory(municipality=signatory.municipality)

    response = post(api_for(editor, at=CONFIRMED), application_url(draft, "ready"))

    assert response.status_code == 403
    assert response.json()["detail"] == "Only a signatory of the municipality may submit an application."


def test_an_incomplete_draft_is_not_confirmed(signatory, tranche):
    empty = ApplicationFactory(municipality=signatory.municipality, tranche=tranche, lines=[])

    with time_machine.travel(CONFIRMED, tick=False):
        response = post(token_client(signatory), application_url(empty, "ready"))

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Add at least one unit line.",
        "code": "incomplete",
        "errors": {"non_field_errors": ["Add at least one unit line."]},
    }


# --- the receipt ----------------------------------------------------------------------------------------


def test_a_ready_draft_is_received_with_its_receipt_number_instant_and_hash(signatory, ready):
    response = submit(signatory, ready, key=ready.ready_hash)

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reference"]) == (Status.SUBMITTED, f"{ready.tranche.receipt_prefix}-0001")
    assert body["received_at"] == "2027-03-01T09:00:01+01:00"
    assert body["ready_hash"] == ready.ready_hash
    assert "Idempotent-Replayed" not in response


def test_a_repeat_with_the_same_hash_returns_the_first_receipt(signatory, ready):
    api = api_for(signatory)
    first = submit(signatory, ready, key=ready.ready_hash, api=api)
    repeat = submit(signatory, ready, key=ready.ready_hash, api=api, at=AT_OPENING + timedelta(seconds=30))

    assert (first.status_code, repeat.status_code) == (200, 200)
    assert repeat["Idempotent-Replayed"] == "true"
    assert (repeat.json()["reference"], repeat.json()["received_at"]) == (
        first.json()["reference"],
        first.json()["received_at"],
    )
    assert receipts_of(ready) == (first.json()["reference"], AT_OPENING, 1, 1)


def test_with_the_hash_an_idempotency_key_is_not_needed_and_not_kept(signatory, ready):
    response = submit(signatory, ready, key=ready.ready_hash, **{"Idempotency-Key": "first-try"})

    assert response.status_code == 200
    assert not IdempotencyKey.objects.exists()


def test_a_draft_not_confirmed_is_checked_in_full_and_received_at_its_arrival(signatory, draft):
    response = submit(signatory, draft)

    draft.refresh_from_db()
    assert response.status_code == 200
    assert (draft.status, draft.received_at) == (Status.SUBMITTED, AT_OPENING)
    assert response.json()["ready_hash"] == draft.ready_hash != ""


def test_an_information_request_is_answered_even_when_a_ready_hash_is_sent(signatory):
    application = ApplicationFactory(
        submitted=True, status=Status.INFORMATION_REQUESTED, municipality=signatory.municipality
    )
    application.ready_hash = "a" * 64
    application.ready_rules = "b" * 64
    application.ready_at = application.received_at
    application.save()
    InformationRequest.objects.create(application=application, requested_at=application.received_at, reason="Plan?")

    response = post(token_client(signatory), application_url(application, "submit"), {"ready_hash": "a" * 64})

    assert response.status_code == 200
    assert response.json()["status"] == Status.RESUBMITTED


# --- the receipt instant --------------------------------------------------------------------------------


@override_settings(REQUEST_START_PROXIES=["127.0.0.1"])
def test_behind_the_proxy_the_receipt_instant_is_when_the_request_reached_it(signatory, ready):
    reached_proxy = OPENING + timedelta(milliseconds=7)

    response = submit(
        signatory,
        ready,
        key=ready.ready_hash,
        at=OPENING + timedelta(seconds=4),
        **{"X-Request-Start": f"t={reached_proxy.timestamp():.3f}"},
    )

    assert response.status_code == 200
    assert response.json()["received_at"] == "2027-03-01T09:00:00.007000+01:00"
    ready.refresh_from_db()
    assert ready.received_at == reached_proxy


@override_settings(REQUEST_START_PROXIES=["10.0.0.5"])
def test_a_request_start_header_from_another_address_is_ignored(signatory, ready):
    arrived = OPENING + timedelta(seconds=4)

    response = submit(
        signatory,
        ready,
        key=ready.ready_hash,
        at=arrived,
        **{"X-Request-Start": f"t={(OPENING + timedelta(milliseconds=7)).timestamp():.3f}"},
    )

    assert response.status_code == 200
    ready.refresh_from_db()
    assert ready.received_at == arrived


@override_settings(REQUEST_START_PROXIES=["127.0.0.1"])
def test_a_draft_not_confirmed_takes_the_proxys_instant_too(signatory, draft):
    reached_proxy = OPENING + timedelta(milliseconds=7)

    submit(signatory, draft, at=OPENING + timedelta(seconds=4), **{"X-Request-Start": f"t={reached_proxy.timestamp()}"})

    draft.refresh_from_db()
    assert draft.received_at == reached_proxy


# --- refusals -------------------------------------------------------------------------------------------


def test_before_the_opening_the_submission_is_forbidden_and_names_both_moments(signatory, ready):
    response = submit(signatory, ready, key=ready.ready_hash, at=OPENING - timedelta(milliseconds=1))

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "not_open"
    assert body["errors"]["non_field_errors"] == [
        "This tranche opens at 1 March 2027 09:00; you cannot submit before then.",
        "Your submission arrived at 1 March 2027 08:59:59.999.",
    ]
    assert body["detail"] == " ".join(body["errors"]["non_field_errors"])
    assert receipts_of(ready) == (None, None, 0, 0)


def test_from_the_closing_on_the_submission_is_forbidden(signatory, ready, tranche):
    response = submit(signatory, ready, key=ready.ready_hash, at=tranche.closes_at)

    assert (response.status_code, response.json()["code"]) == (403, "closed")


def test_a_draft_changed_since_its_confirmation_is_a_conflict(signatory, ready):
    api = api_for(signatory, at=CONFIRMED)
    with time_machine.travel(CONFIRMED, tick=False):
        patch(api, application_url(ready), {"project_name": "Anders"})

    response = submit(signatory, ready, key=ready.ready_hash)

    assert response.status_code == 409
    assert response.json()["code"] == "changed"
    assert response.json()["errors"]["non_field_errors"] == [
        "The application or the tranche's rules changed after the content was confirmed. Check it and confirm it again."
    ]


def test_a_submitted_application_without_its_hash_is_a_conflict_that_names_the_receipt(signatory, ready):
    submit(signatory, ready, key=ready.ready_hash)

    response = submit(signatory, ready, at=AT_OPENING + timedelta(minutes=1))

    ready.refresh_from_db()
    assert response.status_code == 409
    assert response.json()["code"] == "already_submitted"
    assert response.json()["errors"]["non_field_errors"] == [
        f"This application has already been submitted ({ready.reference}).",
        f"It was received at 1 March 2027 09:00:01.000 with receipt number {ready.reference}.",
    ]


def test_an_incomplete_draft_is_unprocessable_and_every_problem_is_listed(signatory, tranche):
    tranche.required_attachments = ["project_plan"]
    tranche.save()
    empty = ApplicationFactory(municipality=signatory.municipality, tranche=tranche, lines=[])

    response = submit(signatory, empty)

    assert response.status_code == 422
    assert response.json()["code"] == "incomplete"
    assert response.json()["errors"] == {
        "non_field_errors": ["Add at least one unit line.", "Attach the project plan."]
    }
    empty.refresh_from_db()
    assert empty.status == Status.DRAFT


def test_another_municipalitys_application_is_not_found(signatory, tranche):
    foreign = ApplicationFactory(municipality__code="GM0363", tranche=tranche)
    submission.confirm_ready(application=foreign, user=UserFactory(signatory=True, municipality=foreign.municipality))
    foreign.refresh_from_db()

    assert submit(signatory, foreign, key=foreign.ready_hash).status_code == 404


def test_agency_staff_may_not_submit(ready, signatory):
    submit(signatory, ready, key=ready.ready_hash)

    response = submit(UserFactory(assessor=True), ready, key=ready.ready_hash)

    assert response.status_code == 403


# --- the same answer as the portal ----------------------------------------------------------------------


def _not_open(application):
    return {"at": OPENING - timedelta(seconds=1)}


def _closed(application):
    return {"at": application.tranche.closes_at + timedelta(seconds=1)}


def _changed(application):
    Application.objects.filter(pk=application.pk).update(ready_hash="0" * 64)
    return {}


def _submitted_elsewhere(application):
    submission.submit_ready(
        user=application.ready_by, public_id=application.public_id, key=application.ready_hash, arrived_at=OPENING
    )
    return {"key": "f" * 64}


def _incomplete(application):
    application.unit_lines.all().delete()
    Application.objects.filter(pk=application.pk).update(ready_hash="", ready_rules="", ready_at=None, ready_by=None)
    return {"key": ""}


@pytest.mark.parametrize(
    ("situation", "expected"),
    [(_not_open, 403), (_closed, 403), (_changed, 409), (_submitted_elsewhere, 409), (_incomplete, 422)],
)
def test_the_api_answers_as_the_portal_does(signatory, tranche, situation, expected):
    codes = []
    for channel in ("portal", "api"):
        application = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
        submission.confirm_ready(application=application, user=signatory, now=CONFIRMED)
        application.refresh_from_db()
        moment = {"at": AT_OPENING, "key": application.ready_hash, **situation(application)}
        with time_machine.travel(moment["at"], tick=False):
            if channel == "portal":
                # Without a key the portal sends the signatory's declaration along, as its page does.
                data = {"key": moment["key"]} if moment["key"] else {"declaration": "on"}
                response = client_for(signatory).post(url("application_submit", application), data)
            else:
                body = {"ready_hash": moment["key"]} if moment["key"] else {}
                response = post(token_client(signatory), application_url(application, "submit"), body)
        codes.append(response.status_code)

    assert codes == [expected, expected]


# --- the cost -------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_api_submission_of_a_ready_draft_costs_a_fixed_number_of_queries(
    signatory, ready, django_assert_num_queries
):
    api = api_for(signatory)
    with time_machine.travel(AT_OPENING, tick=False), django_assert_num_queries(12) as captured:
        response = post(api, application_url(ready, "submit"), {"ready_hash": ready.ready_hash})

    assert response.status_code == 200
    sql = [query["sql"] for query in captured.captured_queries]
    # The token with its user, and its last use (written once a minute); the application, read by the view and by
    # the submission, neither locking it; the one statement that locks the tranche, numbers, receives and records,
    # and commits by itself; then, after the commit, the answer: the application, its unit lines with their groups
    # and housing types, attachments, status changes and information requests.
    assert "accounts_apitoken" in sql[0] and sql[1].startswith('UPDATE "accounts_apitoken"')
    assert all('FROM "applications_application"' in query and "FOR UPDATE" not in query for query in sql[2:4])
    assert sql[4].lstrip().startswith("WITH draft AS")
