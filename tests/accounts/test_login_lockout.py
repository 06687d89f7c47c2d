"""Throttling and lockout with django-axes: per username and per address, logged in the audit log."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEntry
from tests.accounts.logins import log_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOME = reverse("portal:home")


def fail(client, username: str, times: int, **extra) -> list[int]:
    return [log_in(client, username, "wrong-password", **extra).status_code for _ in range(times)]


def test_after_the_limit_of_wrong_passwords_the_right_one_does_not_log_in_and_the_lockout_is_logged(
    axes, client, caplog
):
    user = UserFactory(username="wethouder")
    limit = settings.AXES_FAILURE_LIMIT

    with caplog.at_level(logging.INFO):
        statuses = fail(client, user.username, limit)
        right = log_in(client, user.username)

    assert statuses == [200] * (limit - 1) + [429]
    assert right.status_code == 429
    assert "Probeer het over 15 minuten opnieuw." in right.content.decode()
    assert client.get(HOME).status_code == 302
    lockouts = AuditEntry.objects.filter(action=AuditAction.LOCKOUT, actor_name="wethouder")
    assert lockouts.exists()
    assert lockouts.first().ip_address == "127.0.0.1"
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN_FAILED, actor_name="wethouder").count() == limit + 1
    assert not AuditEntry.objects.filter(action=AuditAction.LOGIN).exists()
    assert any("Locking out" in record.getMessage() for record in caplog.records)


def test_a_locked_out_username_stays_locked_from_another_address(axes, client):
    user = UserFactory()
    fail(client, user.username, settings.AXES_FAILURE_LIMIT, REMOTE_ADDR="192.0.2.1")

    assert log_in(client, user.username, REMOTE_ADDR="192.0.2.2").status_code == 429


def test_a_locked_out_address_refuses_every_username_and_other_addresses_still_log_in(axes, client):
    user = UserFactory()
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess{attempt}", "wrong-password", REMOTE_ADDR="192.0.2.1")

    assert log_in(client, user.username, REMOTE_ADDR="192.0.2.1").status_code == 429
    assert log_in(client, user.username, REMOTE_ADDR="192.0.2.2").status_code == 302


def test_the_lockout_ends_after_the_cool_off(axes, client):
    user = UserFactory()
    fail(client, user.username, settings.AXES_FAILURE_LIMIT)

    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(minutes=1), tick=False):
        assert log_in(client, user.username).status_code == 302
        assert client.get(HOME).status_code == 200


def test_a_login_to_another_account_does_not_reset_the_count_of_the_one_attacked(axes, client):
    victim, own = UserFactory(), UserFactory()
    fail(client, victim.username, settings.AXES_FAILURE_LIMIT - 1, REMOTE_ADDR="192.0.2.1")
    assert log_in(client, own.username, REMOTE_ADDR="192.0.2.1").status_code == 302
    client.post(reverse("logout"))

    assert fail(client, victim.username, 1, REMOTE_ADDR="192.0.2.3") == [429]
    assert log_in(client, victim.username, REMOTE_ADDR="192.0.2.3").status_code == 429
