"""The second factor of agency and ministry staff on every page, the back office included; municipal users keep
the password alone."""

from base64 import b32decode

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditAction, AuditEntry, AuditOutcome, Role
from accounts.services import sync_agency_group
from tests.accounts.logins import LOGIN, authenticator, code, log_in, recovery_codes
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADMIN = reverse("admin:index")
APPLICATIONS = reverse("admin:applications_application_changelist")
DASHBOARD = reverse("ministry:dashboard")
SECOND_FACTOR = reverse("accounts:second_factor")
SETUP = reverse("two_factor:setup")

STAFF = {
    "assessor": {"assessor": True},
    "approver": {"approver": True},
    "analyst": {"analyst": True},
    "superuser": {"role": "", "municipality": None, "is_staff": True, "is_superuser": True},
}


def staff(kind: str = "assessor"):
    user = UserFactory(**STAFF[kind])
    if user.is_agency:
        user.groups.add(sync_agency_group())
    return user


def give(client: Client, token: str, next_url: str = ""):
    return client.post(f"{SECOND_FACTOR}?next={next_url}", {"token": token})


@pytest.mark.parametrize("kind", STAFF)
@pytest.mark.parametrize("page", [ADMIN, APPLICATIONS, DASHBOARD, reverse("portal:home")])
def test_staff_who_gave_only_their_password_open_no_page_before_the_second_factor(client, kind, page):
    user = staff(kind)
    authenticator(user)
    log_in(client, user.username)

    response = client.get(page)

    assert response.status_code == 302
    assert response["Location"] == f"{SECOND_FACTOR}?next={page}"


def test_staff_without_an_authenticator_are_sent_to_set_one_up(client):
    user = staff()
    log_in(client, user.username)

    assert client.get(ADMIN)["Location"] == SETUP
    assert client.get(SECOND_FACTOR)["Location"] == SETUP


def test_with_the_code_of_their_app_staff_open_the_back_office_and_the_staff_pages(client):
    user = staff("approver")
    device = authenticator(user)
    log_in(client, user.username)

    response = give(client, code(device), ADMIN)

    assert response.status_code == 302 and response["Location"] == ADMIN
    assert client.get(ADMIN).status_code == 200
    assert client.get(APPLICATIONS).status_code == 200
    assert client.get(DASHBOARD).status_code == 200
    entry = AuditEntry.objects.get(action=AuditAction.SECOND_FACTOR)
    assert (entry.actor, entry.outcome) == (user, AuditOutcome.SUCCESS)


def test_a_wrong_code_is_refused_said_and_logged(client):
    user = staff()
    device = authenticator(user)
    log_in(client, user.username)
    wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"

    response = give(client, wrong)

    assert response.status_code == 200
    assert response.context["form"].has_error("token")
    assert client.get(ADMIN).status_code == 302
    assert AuditEntry.objects.filter(action=AuditAction.SECOND_FACTOR, outcome=AuditOutcome.FAILURE).exists()


def test_a_recovery_code_lets_staff_in_once(client):
    user = staff()
    authenticator(user)
    recovery_codes(user, "abcd2345", "efgh6723")
    log_in(client, user.username)

    assert give(client, "ABCD 2345").status_code == 302
    assert client.get(ADMIN).status_code == 200

    client.post(reverse("logout"))
    log_in(client, user.username)
    assert give(client, "abcd2345").status_code == 200
    assert client.get(ADMIN).status_code == 302


def test_logging_in_again_with_the_password_alone_asks_the_second_factor_again(client):
    user = staff()
    device = authenticator(user)
    log_in(client, user.username)
    give(client, code(device))
    assert client.get(ADMIN).status_code == 200

    log_in(client, user.username)

    assert client.get(ADMIN).status_code == 302


def test_the_old_admin_login_page_sends_to_the_one_login_page(client):
    response = client.get(reverse("admin:login"), {"next": ADMIN})

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_municipal_users_log_in_with_their_password_alone(client):
    user = UserFactory(role=Role.MUNICIPAL_SIGNATORY)

    assert log_in(client, user.username).status_code == 302
    assert client.get(reverse("portal:home")).status_code == 200
    assert client.get(reverse("portal:application_list")).status_code == 200


def test_staff_set_up_their_authenticator_and_are_then_verified(client):
    user = staff()
    log_in(client, user.username)
    prefix = "setup_view"

    client.get(SETUP)
    page = client.post(SETUP, {f"{prefix}-current_step": "welcome"})
    qr_code = client.get(reverse("two_factor:qr"))
    token = totp(b32decode(page.context["secret_key"]))
    done = client.post(SETUP, {f"{prefix}-current_step": "generator", "generator-token": f"{token:06d}"})

    assert qr_code["Content-Type"].startswith("image/svg+xml")
    assert done.status_code == 302 and done["Location"] == reverse("two_factor:setup_complete")
    assert TOTPDevice.objects.get(user=user).confirmed
    assert client.get(ADMIN).status_code == 200
    codes = client.post(reverse("two_factor:backup_tokens"), follow=True)
    assert len(codes.context["device"].token_set.all()) == 10


def test_whoever_has_an_authenticator_cannot_add_another_without_the_second_factor(client):
    user = staff()
    authenticator(user)
    log_in(client, user.username)

    response = client.post(SETUP, {"setup_view-current_step": "welcome"})

    assert response.status_code == 302 and response["Location"].startswith(SECOND_FACTOR)
    assert TOTPDevice.objects.filter(user=user).count() == 1
