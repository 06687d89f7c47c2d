"""E-mail from the environment, and the beat schedule that runs the sweep."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]
EMAIL_SETTINGS = ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_USE_TLS", "EMAIL_USE_SSL")


def email_settings(**environment) -> dict:
    """The e-mail settings a fresh process reads from this environment."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("EMAIL_")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", **environment)
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {EMAIL_SETTINGS!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_configuration_mail_goes_to_the_console():
    assert email_settings()["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"


def test_an_email_url_configures_smtp_with_tls():
    read = email_settings(EMAIL_URL="smtp+tls://thuisfonds:geheim@smtp.example.nl:587")

    assert read["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (read["EMAIL_HOST"], read["EMAIL_PORT"], read["EMAIL_HOST_USER"]) == ("smtp.example.nl", 587, "thuisfonds")
    assert read["EMAIL_USE_TLS"] is True


def test_an_email_host_alone_chooses_smtp():
    read = email_settings(EMAIL_HOST="mail.example.nl", EMAIL_PORT="465", EMAIL_USE_SSL="1")

    assert read["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (read["EMAIL_HOST"], read["EMAIL_PORT"], read["EMAIL_USE_SSL"], read["EMAIL_USE_TLS"]) == (
        "mail.example.nl",
        465,
        True,
        False,
    )


def test_the_beat_schedule_runs_the_sweep_every_quarter_of_an_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["send-reminders"]
    app.loader.import_default_modules()

    assert entry["task"] in app.tasks
    assert entry["schedule"].minute == {0, 15, 30, 45}
    assert entry["schedule"].hour == set(range(24))
