"""API tokens: issued from a logged-in session, several per user, listed and revoked by their owner, expiring."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, AuditAction, AuditEntry
from tests.accounts.logins import authenticator, log_in
from tests.api.helpers import post, token_client
from tests.factories import UserFactory
from tests.figures import client_for

pytestmark = pytest.mark.django_db

TOKENS = reverse("api:token-list")
APPLICATIONS = reverse("api:application-list")


def issue(client: Client, **body):
    return post(client, TOKENS, {"name": "Zaaksysteem", **body})


def test_a_token_issued_from_the_session_opens_the_api_and_is_shown_only_once():
    user = UserFactory(signatory=True)
    session = client_for(user)

    response = issue(session, days=30)

    assert response.status_code == 201
    issued = response.json()
    assert issued["token"].startswith("thf_") and issued["prefix"] == issued["token"][:12]
    assert issued["active"] is True
    stored = ApiToken.objects.get(user=user)
    assert issued["token"] not in {stored.key_hash, stored.prefix}
    assert stored.expires_at - stored.created_at == timedelta(days=30)
    [listed] = session.get(TOKENS).json()["results"]
    assert "token" not in listed and listed["name"] == "Zaaksysteem"
    machine = Client(HTTP_AUTHORIZATION=f"Bearer {issued['token']}")
    assert machine.get(APPLICATIONS).status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.API_TOKEN, actor=user, detail="issued").count() == 1


def test_a_token_cannot_issue_another_token():
    machine = token_client(UserFactory(signatory=True))

    response = issue(machine)

    assert response.status_code == 403
    assert response.json()["detail"] == "A token is issued from a logged-in browser session, not with a token."


def test_staff_who_have_not_given_their_second_factor_get_no_token(client):
    assessor = UserFactory(assessor=True)
    authenticator(assessor)
    log_in(client, assessor.username)

    response = issue(client)

    assert response.status_code == 302
    assert not ApiToken.objects.exists()


def test_a_user_holds_several_tokens_and_a_revoked_one_stops_at_once():
    user = UserFactory(signatory=True)
    session = client_for(user)
    first = issue(session, name="Zaaksysteem").json()
    second = issue(session, name="Rapportage").json()

    revoked = session.delete(reverse("api:token-detail", args=[first["id"]]))

    assert revoked.status_code == 204
    refused = Client(HTTP_AUTHORIZATION=f"Bearer {first['token']}").get(APPLICATIONS)
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert refused.json()["code"] == "invalid_token"
    assert Client(HTTP_AUTHORIZATION=f"Bearer {second['token']}").get(APPLICATIONS).status_code == 200
    assert [token["name"] for token in session.get(TOKENS, {"active": "true"}).json()["results"]] == ["Rapportage"]
    assert [token["name"] for token in session.get(TOKENS, {"active": "false"}).json()["results"]] == ["Zaaksysteem"]


def test_a_token_expires():
    user = UserFactory(signatory=True)
    key = issue(client_for(user), days=1).json()["token"]
    machine = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        response = machine.get(APPLICATIONS)

    assert response.status_code == 401


def test_a_token_of_a_deactivated_user_is_refused():
    user = UserFactory(signatory=True)
    machine = token_client(user)
    user.is_active = False
    user.save()

    assert machine.get(APPLICATIONS).status_code == 401


@pytest.mark.parametrize("header", ["Bearer thf_unknown", "Bearer", "Bearer two parts", "Bearer t\u00f6ken"])
def test_a_wrong_token_is_a_401(header):
    response = Client(HTTP_AUTHORIZATION=header.encode().decode("latin-1")).get(APPLICATIONS)

    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code", "errors"}


def test_without_credentials_the_api_answers_403():
    response = Client().get(APPLICATIONS)

    assert response.status_code == 403
    assert response.json()["code"] == "not_authenticated"


def test_nobody_revokes_or_sees_another_users_token():
    owner, other = UserFactory(signatory=True), UserFactory(signatory=True)
    token = issue(client_for(owner)).json()
    session = client_for(other)

    assert session.delete(reverse("api:token-detail", args=[token["id"]])).status_code == 404
    assert session.get(TOKENS).json()["count"] == 0
    assert ApiToken.objects.usable().filter(pk=token["id"]).exists()


@pytest.mark.parametrize(
    ("body", "field"), [({"days": 0}, "days"), ({"days": 366}, "days"), ({"name": ""}, "name"), ({"name": " "}, "name")]
)
def test_a_token_needs_a_name_and_at_most_a_year(body, field):
    response = issue(client_for(UserFactory()), **body)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not ApiToken.objects.exists()


def test_issuing_a_token_takes_no_idempotency_key():
    response = post(client_for(UserFactory()), TOKENS, {"name": "Zaaksysteem"}, **{"Idempotency-Key": "one"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
    assert not ApiToken.objects.exists()
