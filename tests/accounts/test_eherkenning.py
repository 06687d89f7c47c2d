"""eHerkenning: the whole login through the stand-in broker, with mozilla-django-oidc's real code flow.

The broker's back channel (token and keys) is answered by the test server (tests/accounts/eherkenning.py).
"""

from __future__ import annotations

import json
import sys
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import SuspiciousOperation
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts import mock_eherkenning
from accounts.eherkenning import EHerkenningBackend, assurance_level
from accounts.models import AuditAction, AuditEntry, AuditOutcome, Role, User
from tests.accounts.eherkenning import ClientAdapter, log_in, mock_username, service_of
from tests.accounts.logins import authenticator
from tests.accounts.logins import log_in as log_in_with_password
from tests.factories import UserFactory
from tests.test_production_settings import PRODUCTION, run

pytestmark = pytest.mark.django_db

HOME = reverse("portal:home")


@pytest.fixture(autouse=True)
def broker(monkeypatch) -> ClientAdapter:
    adapter = ClientAdapter()
    monkeypatch.setattr(requests.Session, "get_adapter", lambda session, url: adapter)
    return adapter


@pytest.fixture
def client(client, settings) -> Client:
    """The browser of the person logging in, reading the pages in English so that their texts can be asserted."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    # English also as the default language, so that every page of the flow, the test broker's included, is English.
    settings.LANGUAGE_CODE = "en"
    return client


def _refusal(detail: str) -> AuditEntry:
    failed = AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, outcome=AuditOutcome.FAILURE)
    return failed.get(detail__contains=detail)


# --- logging in ---------------------------------------------------------------------------------------------


def test_first_login_makes_a_user_with_the_mandates_role_and_municipality(client, broker):
    response = log_in(client, organisation="GM0344", role=Role.MUNICIPAL_SIGNATORY, name="Jan de Vries")

    assert response.status_code == 302
    assert response["Location"] == HOME
    user = User.objects.get(username=mock_username("Jan de Vries"))
    assert (user.role, user.municipality.code) == (Role.MUNICIPAL_SIGNATORY, "GM0344")
    assert (user.first_name, user.last_name) == ("Jan", "de Vries")
    assert not user.has_usable_password()
    assert broker.sent == ["POST /mock-eherkenning/token/", "GET /mock-eherkenning/jwks/"]
    # No second factor asked: EH3 is it.
    home = client.get(HOME)
    assert home.status_code == 200
    assert home.wsgi_request.user == user
    login = AuditEntry.objects.get(action=AuditAction.LOGIN, actor=user)
    assert "eHerkenning EH3, GM0344, municipal_signatory" in login.detail


def test_a_later_login_takes_role_and_municipality_from_the_new_mandate(client):
    log_in(client, organisation="GM0344", role=Role.MUNICIPAL_SIGNATORY, name="Fatima El Amrani")
    client.post(reverse("logout"))

    response = log_in(client, organisation="GM0363", role=Role.MUNICIPAL_EDITOR, name="Fatima El Amrani")

    assert response.status_code == 302
    user = User.objects.get(username=mock_username("Fatima El Amrani"))
    assert (user.role, user.municipality.code) == (Role.MUNICIPAL_EDITOR, "GM0363")
    assert User.objects.filter(username__startswith="eh-").count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN, actor=user).count() == 2


@pytest.mark.parametrize("role", [Role.MUNICIPAL_EDITOR, Role.MUNICIPAL_SIGNATORY, Role.MUNICIPAL_FINANCIAL_OFFICER])
def test_each_mandate_gives_its_role(client, role):
    log_in(client, organisation="GM0034", role=role, name="Kees Jansen")

    assert User.objects.get(username=mock_username("Kees Jansen")).role == role


def test_the_login_returns_to_the_page_asked_for(client):
    response = log_in(client, next_url=reverse("portal:application_list"))

    assert response["Location"] == reverse("portal:application_list")


def test_an_organisation_identifier_is_mapped_through_the_table(client, settings):
    settings.EHERKENNING_ORGANISATIONS = {mock_eherkenning.UNKNOWN_ORGANISATION: "GM0363"}

    log_in(client, organisation=mock_eherkenning.UNKNOWN_ORGANISATION, name="Piet Bakker")

    assert User.objects.get(username=mock_username("Piet Bakker")).municipality.code == "GM0363"


# --- refusals -----------------------------------------------------------------------------------------------


def _assert_refused(client, response, message: str) -> None:
    assert response.status_code == 403
    assert message in response.content.decode()
    assert client.get(HOME).status_code == 302


@translation.override("en")
def test_a_login_without_a_mandate_for_thuisfonds_is_refused_and_audited(client):
    response = log_in(client, role=None, name="Anna Smit")

    _assert_refused(client, response, "You have no mandate for Thuisfonds")
    assert "Submit applications (signatory)" in response.content.decode()
    assert not User.objects.filter(username=mock_username("Anna Smit")).exists()
    assert _refusal("no_mandate").actor_name == mock_username("Anna Smit")


@translation.override("en")
def test_a_login_for_an_organisation_that_is_no_municipality_is_refused_and_audited(client):
    response = log_in(client, organisation=mock_eherkenning.UNKNOWN_ORGANISATION, name="Anna Smit")

    _assert_refused(client, response, "not a municipality")
    assert "organisation 00000000" in _refusal("unknown_organisation").detail


@translation.override("en")
@pytest.mark.parametrize(("minimum", "given"), [("EH3", "loa2plus"), ("EH4", "loa3")])
def test_a_login_below_the_assurance_level_is_refused_and_audited(client, settings, minimum, given):
    settings.EHERKENNING_MIN_ASSURANCE = minimum

    response = log_in(client, assurance=given, name="Anna Smit")

    _assert_refused(client, response, f"level {minimum} or higher")
    assert f"needs {minimum}" in _refusal("assurance_too_low").detail


def test_a_higher_assurance_level_than_the_minimum_is_let_in(client):
    assert log_in(client, assurance="loa4").status_code == 302


@translation.override("en")
def test_a_staff_account_cannot_be_entered_through_eherkenning(client):
    staff = UserFactory(assessor=True, username=mock_username("Rita Vos"))

    response = log_in(client, name="Rita Vos")

    _assert_refused(client, response, "staff of the agency or the ministry")
    staff.refresh_from_db()
    assert (staff.role, staff.municipality) == (Role.AGENCY_ASSESSOR, None)
    assert _refusal("not_municipal").actor_name == staff.username


@translation.override("en")
def test_a_service_mapped_to_an_agency_role_gives_no_mandate(client, settings):
    service = service_of(Role.MUNICIPAL_SIGNATORY)
    settings.EHERKENNING_SERVICES = {service: Role.AGENCY_APPROVER.value}

    response = log_in(client, service=service, name="Rita Vos")

    _assert_refused(client, response, "You have no mandate")
    assert not User.objects.filter(role=Role.AGENCY_APPROVER).exists()


@translation.override("en")
def test_a_deactivated_user_is_refused(client):
    log_in(client, name="Anna Smit")
    User.objects.filter(username=mock_username("Anna Smit")).update(is_active=False)
    client.post(reverse("logout"))

    _assert_refused(client, log_in(client, name="Anna Smit"), "switched off")


@translation.override("en")
def test_cancelling_at_the_broker_is_shown_and_audited(client):
    start = client.get(reverse("eherkenning:login"))
    answer = client.post(start["Location"], {"cancel": "1"})

    response = client.get(answer["Location"])

    _assert_refused(client, response, "cancelled")
    assert "access_denied" in _refusal("cancelled").detail


@translation.override("en")
def test_an_answer_used_twice_is_refused(client):
    start = client.get(reverse("eherkenning:login"))
    answer = client.post(start["Location"], {"organisation": "GM0344", "service": "", "assurance": "loa3", "name": "X"})
    client.get(answer["Location"])

    response = client.get(answer["Location"])

    _assert_refused(client, response, "could not be checked")
    assert _refusal("invalid_response")


@translation.override("en")
def test_an_answer_for_another_browser_is_refused(client):
    start = client.get(reverse("eherkenning:login"))
    answer = client.post(start["Location"], {"organisation": "GM0344", "service": "", "assurance": "loa3", "name": "X"})

    response = Client().get(answer["Location"])

    assert response.status_code == 403
    assert _refusal("invalid_response")


def test_refused_eherkenning_logins_do_not_lock_out_the_address(axes, client):
    for _ in range(axes.AXES_FAILURE_LIMIT + 1):
        log_in(client, role=None)
    staff = UserFactory(assessor=True)
    authenticator(staff)
    staff_client = Client()

    assert log_in_with_password(staff_client, staff.username).status_code == 302
    assert staff_client.get(HOME)["Location"].startswith(reverse("accounts:second_factor"))


# --- the ID token ---------------------------------------------------------------------------------------------


def _id_token(key, **claims) -> str:
    now = int(time.time())
    payload = {"sub": "s", "aud": "thuisfonds", "iat": now, "exp": now + 60, "nonce": "n", **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": mock_eherkenning.key_id()})


def _backend(rf) -> EHerkenningBackend:
    backend = EHerkenningBackend()
    backend.OIDC_OP_JWKS_ENDPOINT = "http://testserver/mock-eherkenning/jwks/"
    backend.request = rf.get("/")
    return backend


def test_an_id_token_of_the_broker_for_this_client_is_accepted(rf):
    payload = _backend(rf).verify_token(_id_token(mock_eherkenning.signing_key()), nonce="n")

    assert payload["sub"] == "s"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: _id_token(mock_eherkenning.signing_key(), aud="another-client"), id="other audience"),
        pytest.param(lambda: _id_token(rsa.generate_private_key(public_exponent=65537, key_size=2048)), id="other key"),
        pytest.param(lambda: _id_token(mock_eherkenning.signing_key(), nonce="replayed"), id="other nonce"),
    ],
)
def test_an_id_token_not_meant_for_this_login_is_refused(rf, token):
    with pytest.raises(SuspiciousOperation):
        _backend(rf).verify_token(token(), nonce="n")


@pytest.mark.parametrize(
    ("claim", "level"),
    [
        ("urn:etoegang:core:assurance-class:loa2plus", "EH2+"),
        ("urn:etoegang:core:assurance-class:loa3", "EH3"),
        ("EH4", "EH4"),
        ("urn:etoegang:core:assurance-class:loa9", None),
        (None, None),
    ],
)
def test_assurance_levels_are_read_from_the_claim(claim, level):
    assert assurance_level(claim) == level


# --- the stand-in broker's token endpoint -------------------------------------------------------------------


def _code(client) -> tuple[str, dict]:
    start = client.get(reverse("eherkenning:login"))
    answer = client.post(start["Location"], {"organisation": "GM0344", "service": "", "assurance": "loa3", "name": "X"})
    query = dict(pair.split("=", 1) for pair in answer["Location"].split("?", 1)[1].split("&"))
    return query["code"], {
        "grant_type": "authorization_code",
        "redirect_uri": "http://testserver/eherkenning/callback/",
    }


def test_the_token_endpoint_refuses_a_wrong_client_secret(client):
    code, form = _code(client)

    response = Client().post(
        reverse("mock_eherkenning:token"), {**form, "code": code, "client_id": "thuisfonds", "client_secret": "guess"}
    )

    assert response.status_code == 401


def test_the_token_endpoint_refuses_a_code_without_its_pkce_verifier(client, settings):
    code, form = _code(client)
    credentials = {"client_id": settings.OIDC_RP_CLIENT_ID, "client_secret": settings.OIDC_RP_CLIENT_SECRET}

    response = Client().post(reverse("mock_eherkenning:token"), {**form, **credentials, "code": code})

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant"}


def test_the_mock_sends_only_back_to_this_server(client):
    start = client.get(reverse("eherkenning:login"))
    elsewhere = start["Location"].replace("http%3A%2F%2Ftestserver", "https%3A%2F%2Fevil.example")

    assert client.get(elsewhere).status_code == 400


# --- the login page and passwords ---------------------------------------------------------------------------


@translation.override("en")
def test_the_login_page_offers_eherkenning_first_and_the_password_to_staff(client):
    page = client.get(reverse("login")).content.decode()

    assert page.index("Log in with eHerkenning") < page.index('name="password"')
    assert "For staff of the agency and the ministry" in page


@translation.override("en")
def test_without_a_broker_the_login_page_offers_only_the_password(client, settings):
    settings.EHERKENNING_ENABLED = False

    assert "eHerkenning" not in client.get(reverse("login")).content.decode()
    assert client.get(reverse("eherkenning:login")).status_code == 404


def test_municipal_users_may_use_a_password_only_while_allowed(client, settings, editor):
    settings.MUNICIPAL_PASSWORD_LOGIN = False
    assert log_in_with_password(client, editor.username).status_code == 200

    settings.MUNICIPAL_PASSWORD_LOGIN = True
    assert log_in_with_password(client, editor.username).status_code == 302


def test_staff_keep_their_password_when_municipal_passwords_are_off(client, settings, assessor):
    settings.MUNICIPAL_PASSWORD_LOGIN = False
    authenticator(assessor)

    assert log_in_with_password(client, assessor.username).status_code == 302
    assert client.get(HOME)["Location"].startswith(reverse("accounts:second_factor"))


# --- production -----------------------------------------------------------------------------------------------

READ_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
from django.urls import Resolver404, resolve
try:
    routed = bool(resolve("/mock-eherkenning/token/"))
except Resolver404:
    routed = False
names = ["EHERKENNING_MOCK", "EHERKENNING_ENABLED", "OIDC_OP_TOKEN_ENDPOINT", "OIDC_RP_CLIENT_ID",
         "OIDC_RP_CLIENT_SECRET", "MUNICIPAL_PASSWORD_LOGIN", "EHERKENNING_MIN_ASSURANCE"]
print(json.dumps({"routed": routed, **{name: getattr(settings, name) for name in names}}))
"""


def _production_settings(**variables: str) -> dict:
    result = run(sys.executable, "-c", READ_SETTINGS, **PRODUCTION, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_has_no_mock_broker_even_when_asked_for():
    production = _production_settings(EHERKENNING_MOCK="1")

    assert production["EHERKENNING_MOCK"] is False
    assert production["routed"] is False
    assert production["EHERKENNING_MIN_ASSURANCE"] == "EH3"
    # Without a broker the login page offers only the password, which municipal users may then still use.
    assert production["EHERKENNING_ENABLED"] is False
    assert production["OIDC_RP_CLIENT_SECRET"] == ""
    assert production["MUNICIPAL_PASSWORD_LOGIN"] is True


def test_production_reads_the_broker_from_the_environment_and_then_refuses_municipal_passwords():
    production = _production_settings(
        EHERKENNING_AUTHORIZATION_ENDPOINT="https://broker.example.nl/authorize",
        EHERKENNING_TOKEN_ENDPOINT="https://broker.example.nl/token",
        EHERKENNING_JWKS_ENDPOINT="https://broker.example.nl/jwks",
        EHERKENNING_CLIENT_ID="thuisfonds-productie",
        EHERKENNING_CLIENT_SECRET="geheim",
    )

    assert production["EHERKENNING_ENABLED"] is True
    assert production["OIDC_OP_TOKEN_ENDPOINT"] == "https://broker.example.nl/token"
    assert (production["OIDC_RP_CLIENT_ID"], production["OIDC_RP_CLIENT_SECRET"]) == ("thuisfonds-productie", "geheim")
    assert production["routed"] is False
    assert production["MUNICIPAL_PASSWORD_LOGIN"] is False
