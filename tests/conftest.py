import os

import pytest
from django.db import connection

from grants.services import load_reference_data


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("postgres"):
            item.fixturenames.append("_require_postgres")


@pytest.fixture
def _require_postgres():
    if connection.vendor == "postgresql":
        return
    if os.environ.get("CI"):
        pytest.fail("This test needs PostgreSQL; CI must run with DATABASE_URL pointing at PostgreSQL.")
    pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://...")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # Reference data is data, not test set-up: load it once, as a real installation has it.
    with django_db_blocker.unblock():
        load_reference_data()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
