"""Health endpoints: liveness without the database, readiness naming what fails, no login, no session, no redirect;
and docker/healthcheck.py, which the compose file runs."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django_otp import DEVICE_ID_SESSION_KEY

from config import health
from tests.factories import UserFactory
from tests.test_production_settings import PRODUCTION
from tests.test_production_settings import setting as production_setting

BASE_DIR = Path(__file__).resolve().parent.parent
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def _fresh_checks(monkeypatch):
    # Each test decides the migration state and the heartbeat itself.
    monkeypatch.setattr(health, "_migrations_applied", False)
    cache.delete(health.HEARTBEAT_KEY)


@pytest.fixture
def broker_answers(settings, monkeypatch):
    """REDIS_URL set, with a broker that answers, for the tests of the heartbeat."""
    settings.REDIS_URL = "redis://broker.invalid:6379/0"
    monkeypatch.setattr(health, "_broker", lambda: None)


def test_live_answers_without_touching_the_database(client):
    # Without the django_db mark any query would fail the test.
    response = client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Content-Type"] == "application/json"
    assert "Content-Security-Policy" in response
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_ready_checks_database_and_migrations(client, settings):
    settings.REDIS_URL = ""

    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "failing": [],
        "checks": {"database": {"ok": True}, "migrations": {"ok": True}},
    }


@pytest.mark.django_db
def test_a_broker_that_cannot_be_reached_makes_ready_fail_and_names_it(client, settings):
    settings.REDIS_URL = CLOSED_PORT_URL

    started = time.monotonic()
    response = client.get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"] == {"ok": False, "error": "ConnectionError"}
    assert body["checks"]["database"] == {"ok": True}
    assert time.monotonic() - started < health.BROKER_TIMEOUT + 3


@pytest.mark.django_db
def test_a_database_that_does_not_answer_makes_ready_fail(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert "database" in response.json()["failing"]
    assert response.json()["checks"]["database"] == {"ok": False, "error": "OperationalError"}


@pytest.mark.django_db
def test_unapplied_migrations_make_ready_fail(client, monkeypatch):
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("0099_new", False)])

    response = client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["failing"] == ["migrations"]
    assert response.json()["checks"]["migrations"] == {"ok": False, "error": "1 migrations not applied"}


@pytest.mark.django_db
def test_migrations_once_applied_are_not_read_again(client, monkeypatch):
    client.get("/health/ready")
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: pytest.fail("read again"))

    assert client.get("/health/ready").status_code == 200


@pytest.mark.django_db
def test_a_recent_heartbeat_is_reported(client, broker_answers):
    health.heartbeat.delay()

    response = client.get("/health/ready")

    assert response.status_code == 200
    heartbeat = response.json()["checks"]["heartbeat"]
    assert heartbeat["ok"] is True
    assert heartbeat["age_seconds"] <= 1


@pytest.mark.django_db
def test_a_stale_heartbeat_is_reported_but_keeps_web_serving(client, broker_answers):
    cache.set(health.HEARTBEAT_KEY, time.time() - health.HEARTBEAT_MAX_AGE - 60)

    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["failing"] == []
    assert response.json()["checks"]["heartbeat"]["ok"] is False


@pytest.mark.django_db
def test_no_heartbeat_yet_is_reported(client, broker_answers):
    response = client.get("/health/ready")

    assert response.json()["checks"]["heartbeat"] == {"ok": False, "error": "no heartbeat yet"}


@pytest.mark.django_db
def test_health_is_open_to_staff_who_owe_their_second_factor_and_reads_no_session(client, django_assert_num_queries):
    staff = UserFactory(assessor=True)
    client.force_login(staff)
    session = client.session
    session.pop(DEVICE_ID_SESSION_KEY, None)
    session.save()
    assert client.get("/admin/").status_code == 302

    with django_assert_num_queries(0):
        response = client.get("/health/live")

    assert response.status_code == 200
    assert "Set-Cookie" not in response


@pytest.mark.django_db
def test_health_answers_plain_http_in_production(client, settings):
    # The production settings are read in a subprocess: DEBUG decides them when the settings load.
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = ast.literal_eval(production_setting("SECURE_REDIRECT_EXEMPT", **PRODUCTION))

    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200
    assert client.get("/login/").status_code == 301


def test_health_only_reads(client):
    assert client.post("/health/live").status_code == 405
    assert client.head("/health/live").status_code == 200


def _healthcheck(*args: str, url: str) -> int:
    environment = {**os.environ, "HEALTHCHECK_URL": url, "ALLOWED_HOSTS": "localhost"}
    result = subprocess.run(
        [sys.executable, "docker/healthcheck.py", *args], cwd=BASE_DIR, env=environment, timeout=30, check=False
    )
    return result.returncode


@pytest.mark.django_db(transaction=True)
def test_docker_healthcheck_passes_when_ready_and_fails_when_unreachable(live_server, settings):
    settings.REDIS_URL = ""
    assert _healthcheck(url=live_server.url) == 0
    # Without Redis there is no heartbeat to report: the check of the beat container fails.
    assert _healthcheck("heartbeat", url=live_server.url) == 1
    assert _healthcheck(url="http://127.0.0.1:1") == 1


@pytest.mark.redis
@pytest.mark.django_db
def test_ready_reaches_the_real_redis(client):
    response = client.get("/health/ready")

    assert response.json()["checks"]["broker"] == {"ok": True}
