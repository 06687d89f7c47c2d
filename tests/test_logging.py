"""Structured logs: one JSON line per request with its id, user, path, status and duration; the id on every line
of the request and in the Celery tasks it starts; JSON by default in production, text in the embedded run."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.http import HttpResponse
from django.utils.module_loading import import_string

from config import health, logs
from config.celery import app
from config.health import heartbeat
from tests.factories import UserFactory

BASE_DIR = Path(__file__).resolve().parent.parent


@contextmanager
def captured_json_lines():
    """The lines the root logger writes, through the JSON formatter and the filter configured in the settings."""
    spec = dict(settings.LOGGING["formatters"]["json"])
    formatter = import_string(spec.pop("()"))(**spec)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logs.RequestContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def json_lines():
    with captured_json_lines() as lines:
        yield lines


def request_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "thuisfonds.request"]


@pytest.mark.django_db
def test_a_request_logs_one_json_line_with_its_id_user_path_status_and_duration(client, json_lines):
    user = UserFactory(signatory=True)
    client.force_login(user)

    response = client.get("/")

    [line] = request_lines(json_lines())
    assert line["level"] == "INFO"
    assert line["request_id"] == response["X-Request-ID"]
    assert line["user_id"] == user.pk
    assert line["method"] == "GET"
    assert line["path"] == "/"
    assert line["status"] == response.status_code == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["message"] == "GET / 200"
    assert "timestamp" in line


@pytest.mark.django_db
def test_an_anonymous_request_logs_no_user(client, json_lines):
    client.get("/login/")

    [line] = request_lines(json_lines())
    assert line["user_id"] is None
    assert line["path"] == "/login/"


@pytest.mark.django_db
def test_the_caller_s_request_id_is_kept(client, json_lines):
    response = client.get("/login/", headers={"X-Request-ID": "lb-1234.abc"})

    assert response["X-Request-ID"] == "lb-1234.abc"
    assert request_lines(json_lines())[0]["request_id"] == "lb-1234.abc"


@pytest.mark.parametrize("offered", ["forged\nline", "x" * 200, "a b", ""])
@pytest.mark.django_db
def test_a_request_id_that_is_no_id_is_replaced(client, offered):
    response = client.get("/login/", headers={"X-Request-ID": offered})

    assert response["X-Request-ID"] != offered
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_every_line_of_a_request_carries_its_id(client, json_lines):
    UserFactory(username="alice")

    response = client.post("/login/", {"username": "alice", "password": "correct-horse-battery"})

    audit = [line for line in json_lines() if line["logger"] == "accounts.services"]
    assert audit and all(line["request_id"] == response["X-Request-ID"] for line in audit)


def test_lines_outside_a_request_have_no_request_id(json_lines):
    logging.getLogger("thuisfonds.test").info("outside")

    [line] = json_lines()
    assert line["request_id"] is None
    assert line["user_id"] is None


@pytest.mark.django_db
def test_health_probes_are_not_logged_unless_they_fail(client, json_lines):
    client.get("/health/live")

    assert request_lines(json_lines()) == []


def test_the_request_id_travels_in_the_task_message_and_labels_the_task_s_lines(json_lines):
    headers: dict = {}
    token = logs._request_id.set("req-42")
    try:
        logs._pass_request_id(headers=headers)
    finally:
        logs._request_id.reset(token)
    assert headers == {"request_id": "req-42", "user_id": None}

    # On a worker: the message's headers become the task's request.
    heartbeat.push_request(request_id="req-42", user_id=7)
    try:
        logs._take_request_id(task=heartbeat)
        logging.getLogger("thuisfonds.test").info("in the task")
        logs._drop_request_id(task=heartbeat)
    finally:
        heartbeat.pop_request()
    logging.getLogger("thuisfonds.test").info("after the task")

    inside, after = json_lines()
    assert (inside["request_id"], inside["user_id"]) == ("req-42", 7)
    assert (after["request_id"], after["user_id"]) == (None, None)


class LoggingCache:
    """Stands in for the cache the heartbeat task writes to, and logs instead."""

    def set(self, *args, **kwargs):
        logging.getLogger("thuisfonds.test").info("from the task")


def test_a_task_run_in_the_request_keeps_the_request_s_id(rf, json_lines, monkeypatch):
    monkeypatch.setattr(health, "cache", LoggingCache())

    def view(request):
        heartbeat.delay()
        return HttpResponse()

    response = logs.RequestLogMiddleware(view)(rf.get("/somewhere"))

    [line] = [line for line in json_lines() if line["message"] == "from the task"]
    assert line["request_id"] == response["X-Request-ID"]


@pytest.mark.redis
def test_a_worker_on_redis_logs_the_task_with_the_id_of_the_request_that_queued_it(rf, monkeypatch):
    monkeypatch.setattr(health, "cache", LoggingCache())

    def view(request):
        heartbeat.delay()
        return HttpResponse()

    app.conf.task_always_eager = False
    try:
        # The worker configures logging anew as it starts; the capture comes after.
        with (
            start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10),
            captured_json_lines() as lines,
        ):
            response = logs.RequestLogMiddleware(view)(rf.get("/somewhere"))
            deadline = time.monotonic() + 60
            while not [line for line in lines() if line["message"] == "from the task"]:
                assert time.monotonic() < deadline, "the worker did not run the task in time"
                time.sleep(0.2)
            [line] = [line for line in lines() if line["message"] == "from the task"]
    finally:
        app.conf.task_always_eager = True

    assert line["request_id"] == response["X-Request-ID"]


def _logging_setting(**variables: str) -> str:
    code = (
        "import django, logging; django.setup(); from django.conf import settings; "
        "print(settings.LOG_FORMAT, type(logging.getLogger().handlers[0].formatter).__name__)"
    )
    environment = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", **variables}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_production_logs_json_and_the_embedded_run_text():
    assert _logging_setting(DEBUG="0", SECRET_KEY="x" * 50) == "json JsonFormatter"
    assert _logging_setting(DEBUG="1") == "text Formatter"
    assert _logging_setting(DEBUG="1", LOG_FORMAT="json") == "json JsonFormatter"
