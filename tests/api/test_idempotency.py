"""Idempotency-Key: a repeat returns the first response and changes nothing, also when both arrive at once."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import IdempotencyKey
from accounts.tokens import issue_api_token
from applications.models import Application, Status, StatusChange
from grants.models import HousingType
from tests.api.helpers import application_url, draft_body, post, token_client
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory

APPLICATIONS = reverse("api:application-list")
KEY = "3f1c7a1e-6f0e-4b7a-9d55-1f0d6f1b2c3d"


@pytest.mark.django_db
def test_a_repeated_creation_returns_the_first_response_and_creates_one_draft():
    api = token_client(UserFactory(signatory=True))
    body = draft_body(TrancheFactory())

    first = post(api, APPLICATIONS, body, **{"Idempotency-Key": KEY})
    repeat = post(api, APPLICATIONS, body, **{"Idempotency-Key": KEY})

    assert (first.status_code, repeat.status_code) == (201, 201)
    assert repeat.json() == first.json()
    assert repeat["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Application.objects.count() == 1


@pytest.mark.django_db
def test_without_a_key_each_request_is_a_change_of_its_own():
    api = token_client(UserFactory(signatory=True))
    body = draft_body(TrancheFactory())

    post(api, APPLICATIONS, body)
    post(api, APPLICATIONS, body)

    assert Application.objects.count() == 2


@pytest.mark.django_db
def test_a_refusal_is_kept_too_so_that_a_repeat_after_a_change_elsewhere_still_changes_nothing():
    signatory = UserFactory(signatory=True)
    api = token_client(signatory)
    empty = ApplicationFactory(municipality=signatory.municipality, lines=[])

    refused = post(api, application_url(empty, "submit"), **{"Idempotency-Key": KEY})
    empty.unit_lines.create(
        target_group=empty.tranche.target_groups.get(code="homeless"),
        housing_type=HousingType.objects.get(code="regular"),
        permanence="permanent",
        units=10,
        requested_amount=0,
    )
    repeat = post(api, application_url(empty, "submit"), **{"Idempotency-Key": KEY})

    assert refused.status_code == repeat.status_code == 422
    assert repeat.json() == refused.json()
    empty.refresh_from_db()
    assert empty.status == Status.DRAFT


@pytest.mark.django_db
def test_the_same_key_for_another_request_is_refused():
    signatory = UserFactory(signatory=True)
    api = token_client(signatory)
    tranche = TrancheFactory()
    post(api, APPLICATIONS, draft_body(tranche), **{"Idempotency-Key": KEY})

    response = post(api, APPLICATIONS, draft_body(tranche, project_name="Anders"), **{"Idempotency-Key": KEY})

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Application.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_per_user():
    tranche = TrancheFactory()
    first, second = UserFactory(signatory=True), UserFactory(signatory=True, municipality__code="GM0363")

    for user in (first, second):
        assert (
            post(token_client(user), APPLICATIONS, draft_body(tranche), **{"Idempotency-Key": KEY}).status_code == 201
        )

    assert Application.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "met spatie"])
def test_a_malformed_key_is_refused(key):
    api = token_client(UserFactory(signatory=True))

    response = post(api, APPLICATIONS, draft_body(TrancheFactory()), **{"Idempotency-Key": key})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
    assert not Application.objects.exists()


@pytest.mark.django_db
def test_an_agency_transition_repeated_with_its_key_happens_once():
    application = ApplicationFactory(submitted=True)
    agency = token_client(UserFactory(assessor=True))

    responses = [post(agency, application_url(application, "start-review"), **{"Idempotency-Key": KEY}) for _ in "ab"]

    assert [response.status_code for response in responses] == [200, 200]
    assert StatusChange.objects.filter(application=application, to_status=Status.IN_REVIEW).count() == 1


def post_in_parallel(token: str, key: str, body: dict, count: int) -> list:
    """Send the same POST from `count` threads at the same moment, each on its own database connection."""
    barrier = threading.Barrier(count)
    responses: list = [None] * count

    def send(index, client):
        try:
            barrier.wait()
            responses[index] = post(client, APPLICATIONS, body, **{"Idempotency-Key": key})
        finally:
            connection.close()

    clients = [Client(HTTP_AUTHORIZATION=f"Bearer {token}") for _ in range(count)]
    threads = [threading.Thread(target=send, args=(index, client)) for index, client in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_parallel_requests_with_the_same_key_make_one_change(_require_postgres):
    signatory = UserFactory(signatory=True)
    _token, token = issue_api_token(user=signatory, name="zaaksysteem")

    responses = post_in_parallel(token, KEY, draft_body(TrancheFactory()), count=2)

    assert [response.status_code for response in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert sorted(response.has_header("Idempotent-Replayed") for response in responses) == [False, True]
    assert Application.objects.count() == 1
    assert IdempotencyKey.objects.get(user=signatory, key=KEY).status_code == 201
