"""Sessions end when left idle, and a confirmation asks for the password (and the second factor) again when it
was given too long ago."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditAction, AuditEntry
from accounts.security import AUTHENTICATED_AT, recently_authenticated
from accounts.services import sync_agency_group
from allocation.models import AllocationRun, RunStatus
from allocation.services import prepare_allocation
from realisation.models import Settlement, SettlementStatus
from realisation.services import prepare_settlement
from tests.accounts.logins import PASSWORD, code
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory
from tests.portal import client_for
from tests.progress import completed, granted

pytestmark = pytest.mark.django_db

HOME = reverse("portal:home")
REAUTHENTICATE = reverse("accounts:reauthenticate")
SETTLEMENTS = reverse("admin:realisation_settlement_changelist")
STALE = timedelta(seconds=settings.REAUTHENTICATION_AGE + 60)


def agency(**role):
    user = UserFactory(**role)
    user.groups.add(sync_agency_group())
    return user


def later(delta: timedelta):
    return time_machine.travel(timezone.now() + delta, tick=False)


# --- idle sessions --------------------------------------------------------------------------------------


def test_a_session_left_idle_longer_than_the_session_age_ends():
    client = client_for(UserFactory())

    with later(timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)):
        response = client.get(HOME)

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_session_in_use_goes_on_past_the_session_age():
    client = client_for(UserFactory())
    age = timedelta(seconds=settings.SESSION_COOKIE_AGE)

    with later(age * 2 / 3):
        assert client.get(HOME).status_code == 200
    with later(age * 4 / 3):
        assert client.get(HOME).status_code == 200
    with later(age * 3):
        assert client.get(HOME).status_code == 302


# --- re-authentication ----------------------------------------------------------------------------------


def test_recently_authenticated_reads_the_time_of_the_last_password():
    request, never = RequestFactory().get("/"), RequestFactory().get("/")
    request.session, never.session = {AUTHENTICATED_AT: int(timezone.now().timestamp())}, {}

    assert recently_authenticated(request)
    with later(STALE):
        assert not recently_authenticated(request)
        assert recently_authenticated(request, max_age=int(STALE.total_seconds()) + 60)
    assert not recently_authenticated(never)


def preview() -> AllocationRun:
    tranche = closed_tranche(budget_ceiling=Decimal("200000.00"))
    ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0363")
    return prepare_allocation(tranche=tranche, user=agency(assessor=True))


def confirm_url(run: AllocationRun) -> str:
    return reverse("admin:allocation_allocationrun_confirm", args=[run.pk])


def test_a_fresh_login_confirms_an_allocation_without_asking_again():
    run = preview()

    response = client_for(agency(approver=True)).post(confirm_url(run))

    assert response["Location"] == reverse("admin:allocation_allocationrun_change", args=[run.pk])
    run.refresh_from_db()
    assert run.status == RunStatus.CONFIRMED


def test_a_stale_login_is_asked_again_before_confirming_an_allocation_and_then_confirms():
    run = preview()
    approver = agency(approver=True)
    client = client_for(approver)

    with later(STALE):
        page = client.get(confirm_url(run))
        posted = client.post(confirm_url(run))
        run.refresh_from_db()
        assert run.status == RunStatus.PREVIEW

        back = client.post(
            f"{REAUTHENTICATE}?next={confirm_url(run)}",
            {"password": PASSWORD, "token": code(TOTPDevice.objects.get(user=approver))},
        )
        confirmed = client.post(confirm_url(run))

    expected = f"{REAUTHENTICATE}?next={confirm_url(run)}"
    assert page["Location"] == expected and posted["Location"] == expected
    assert back["Location"] == confirm_url(run)
    assert confirmed["Location"] == reverse("admin:allocation_allocationrun_change", args=[run.pk])
    run.refresh_from_db()
    assert (run.status, run.approved_by) == (RunStatus.CONFIRMED, approver)
    assert AuditEntry.objects.filter(action=AuditAction.REAUTHENTICATION, actor=approver).exists()


def prepared_settlement() -> Settlement:
    grant = granted()
    completed(grant, [10])
    return prepare_settlement(decision=grant.decision, user=agency(assessor=True))


def confirm_settlement(client):
    return client.post(SETTLEMENTS, {"action": "confirm", ACTION_CHECKBOX_NAME: [Settlement.objects.get().pk]})


def test_a_stale_login_is_asked_again_before_confirming_a_settlement():
    prepared_settlement()
    client = client_for(agency(approver=True))

    with later(STALE):
        response = confirm_settlement(client)

    assert response["Location"] == f"{REAUTHENTICATE}?next={SETTLEMENTS}"
    assert Settlement.objects.get().status == SettlementStatus.PREPARED


def test_a_fresh_login_confirms_a_settlement():
    prepared_settlement()
    approver = agency(approver=True)

    response = confirm_settlement(client_for(approver))

    assert [message.level for message in messages.get_messages(response.wsgi_request)] == [messages.SUCCESS]
    settlement = Settlement.objects.get()
    assert (settlement.status, settlement.approved_by) == (SettlementStatus.CONFIRMED, approver)


def test_re_authentication_refuses_a_wrong_password_and_a_missing_code():
    approver = agency(approver=True)
    client = client_for(approver)

    with later(STALE):
        wrong = client.post(REAUTHENTICATE, {"password": "raden", "token": "123456"})
        no_code = client.post(REAUTHENTICATE, {"password": PASSWORD})
        assert not recently_authenticated(wrong.wsgi_request)

    assert wrong.context["form"].has_error("password")
    assert no_code.context["form"].has_error("token")
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, actor=approver).exists()


def test_municipal_users_re_authenticate_with_their_password_alone():
    client = client_for(UserFactory())

    page = client.get(REAUTHENTICATE)
    done = client.post(f"{REAUTHENTICATE}?next={HOME}", {"password": PASSWORD})

    assert list(page.context["form"].fields) == ["password"]
    assert done["Location"] == HOME
