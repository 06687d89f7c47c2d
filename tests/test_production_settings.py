"""Production settings: DEBUG off unless asked for, `check --deploy` clean, a Content-Security-Policy without inline
scripts, and forwarded headers believed only from the proxy.

Settings are read once per process, so the settings without DEBUG are read in a subprocess.
"""

import os
import re
import runpy
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.portal import client_for

BASE_DIR = Path(__file__).resolve().parent.parent
SETTINGS_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
}
PRODUCTION = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "thuisfonds.example.nl"}


def run(*args: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    environment.update(variables, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(args, cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=300)


def setting(name: str, **variables: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print(repr(settings.{name}))"
    result = run(sys.executable, "-c", code, **variables)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _dot_env_sets(name: str) -> bool:
    dot_env = BASE_DIR / ".env"
    return dot_env.exists() and re.search(rf"^\s*(export\s+)?{name}\s*=", dot_env.read_text(), re.MULTILINE) is not None


@pytest.mark.skipif(_dot_env_sets("DEBUG"), reason="the local .env sets DEBUG")
def test_debug_is_off_when_the_variable_is_missing():
    assert setting("DEBUG", SECRET_KEY=PRODUCTION["SECRET_KEY"]) == "False"


@pytest.mark.skipif(_dot_env_sets("DEBUG") or _dot_env_sets("SECRET_KEY"), reason="the local .env sets them")
def test_without_debug_the_settings_need_a_secret_key():
    result = run(sys.executable, "-c", "import django; django.setup()")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_reports_nothing_with_production_values():
    result = run(sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_hsts_covers_subdomains_and_preload_unless_turned_off():
    assert setting("SECURE_HSTS_INCLUDE_SUBDOMAINS", **PRODUCTION) == "True"
    assert setting("SECURE_HSTS_PRELOAD", **PRODUCTION) == "True"
    assert setting("SECURE_HSTS_PRELOAD", SECURE_HSTS_PRELOAD="0", **PRODUCTION) == "False"


def test_django_leaves_x_forwarded_proto_to_gunicorn():
    assert setting("SECURE_PROXY_SSL_HEADER", **PRODUCTION) == "None"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_runs_the_embedded_setup_with_debug_on():
    target = "show-debug: ; @echo DEBUG=$$DEBUG"
    result = run("make", "--no-print-directory", f"--eval={target}", "show-debug")

    assert result.stdout.strip() == "DEBUG=1", result.stderr


@pytest.mark.parametrize(
    ("configured", "trusted"),
    [(None, "127.0.0.1"), ("10.0.0.5", "127.0.0.1,10.0.0.5"), ("10.0.0.5, 127.0.0.1", "127.0.0.1,10.0.0.5")],
)
def test_gunicorn_believes_forwarded_headers_only_from_the_configured_proxy(monkeypatch, configured, trusted):
    if configured is None:
        monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    else:
        monkeypatch.setenv("FORWARDED_ALLOW_IPS", configured)

    config = runpy.run_path(str(BASE_DIR / "docker" / "gunicorn.conf.py"))

    assert config["forwarded_allow_ips"] == trusted


# --- Content-Security-Policy ----------------------------------------------------------------------------


def _policy(response) -> dict[str, list[str]]:
    directives = (part.split() for part in response["Content-Security-Policy"].split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.mark.django_db
def test_a_portal_page_carries_a_policy_that_allows_only_our_own_scripts():
    response = client_for(UserFactory()).get(reverse("portal:home"))

    policy = _policy(response)
    assert response.status_code == 200
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


TEMPLATE_DIRS = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize(
    "template",
    sorted(path for directory in TEMPLATE_DIRS for path in directory.rglob("*.html")),
    ids=lambda path: str(path.relative_to(BASE_DIR)),
)
def test_templates_have_no_inline_scripts_or_event_handlers(template):
    text = template.read_text(encoding="utf-8")

    assert not INLINE_SCRIPT.search(text)
    assert not EVENT_HANDLER.search(text)
