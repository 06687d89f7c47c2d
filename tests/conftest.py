import os

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm
from django.db import connection
from django.test import Client
from hypothesis import Phase
from hypothesis import settings as hypothesis_settings

from config.celery import app as celery_app
from grants.services import load_reference_data
from ministry.services import load_published_figures
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory, pass_second_factor

# `make mutation` draws the same examples for every mutant, so that a score does not depend on luck, and does
# not shrink a failing example: that a mutant fails is enough.
hypothesis_settings.register_profile(
    "mutation", derandomize=True, database=None, phases=[Phase.explicit, Phase.generate]
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# The test processes of `make test` (pytest-xdist) share one Redis: each keeps its cache keys to itself, so that
# one's lock or request count is not another's. Settings are loaded already, but no cache has been made yet.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    for cache in django_settings.CACHES.values():
        cache["KEY_PREFIX"] = worker


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("postgres"):
            item.fixturenames.append("_require_postgres")
        if item.get_closest_marker("redis"):
            item.fixturenames.append("_require_redis")
            # They start Celery workers on the one Redis: with `-n`, all in one test process, one at a time.
            item.add_marker(pytest.mark.xdist_group("redis"))


def _missing(service: str, how: str):
    if os.environ.get("CI"):
        pytest.fail(f"This test needs {service}; CI must run with {how}.")
    pytest.skip(f"needs {service}: set {how}")


def _load_reference_data():
    load_reference_data()
    load_published_figures()


@pytest.fixture
def _require_postgres():
    if connection.vendor != "postgresql":
        _missing("PostgreSQL", "DATABASE_URL=postgres://...")


@pytest.fixture
def _require_redis():
    if not django_settings.REDIS_URL:
        _missing("Redis", "REDIS_URL=redis://...")


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    # Production stretches each password for about half a second (Django's PBKDF2 default, checked in
    # tests/accounts/test_password_hashing.py); the tests make hundreds of users and test behaviour, not stretching.
    django_settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _no_login_lockout():
    # Client.login() and authenticate() without a request cannot pass django-axes; tests/accounts turns it on.
    django_settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def _staff_logins_include_the_second_factor(monkeypatch):
    # client.login() and force_login() stand for a completed login, which for staff includes the second factor.
    # Tests of the second factor itself log in through the login page.
    password_only = Client._login

    def login(client, user, backend=None):
        password_only(client, user, backend)
        if user.needs_second_factor:
            pass_second_factor(client, user)

    monkeypatch.setattr(Client, "_login", login)


@pytest.fixture(scope="session", autouse=True)
def _celery_tasks_run_in_the_test():
    # With REDIS_URL set, tasks would otherwise go to a worker that a test does not have; the tests marked
    # `redis` start a real worker themselves.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # Reference data is data, not test set-up: load it once, as a real installation has it.
    with django_db_blocker.unblock():
        _load_reference_data()


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    # A transactional test empties every table when it ends, reference data included: load it again.
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
        _load_reference_data()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- the people and objects most tests start from (a test file may override one with its own) ---------------


@pytest.fixture
def editor():
    """A municipal editor (of Utrecht): prepares applications in the portal."""
    return UserFactory()


@pytest.fixture
def signatory():
    """A municipal signatory (of Utrecht): prepares and submits."""
    return UserFactory(signatory=True)


@pytest.fixture
def assessor():
    """An agency assessor: reviews applications and prepares allocations and amendments."""
    return UserFactory(assessor=True)


@pytest.fixture
def approver():
    """An agency approver: confirms what an assessor prepared."""
    return UserFactory(approver=True)


@pytest.fixture
def tranche():
    """An open tranche (opened yesterday, closes in thirty days) with one window open to every target group."""
    return TrancheFactory()


@pytest.fixture
def draft(editor):
    """A draft of the editor's municipality in an open tranche, with one line of ten permanent homes."""
    return ApplicationFactory(municipality=editor.municipality, project_name="Het Baken")
