"""The migrations: they build the whole schema on an empty database and describe the models exactly.

The test databases are made from the models directly (`--nomigrations` in pyproject.toml), which takes a second
instead of eight for each test process; these tests keep the migrations themselves tested, on the database the
suite runs on.
"""

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent
APPS = ["accounts", "grants", "applications", "allocation", "realisation", "ministry", "notifications"]


@pytest.fixture
def empty_database(tmp_path):
    """The URL of an empty database of the kind the suite runs on, dropped afterwards."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    name = f"thuisfonds_migrations_{uuid.uuid4().hex[:12]}"
    settings = connection.settings_dict
    server = {"host": settings["HOST"], "port": settings["PORT"] or None, "user": settings["USER"]}
    server["password"] = settings["PASSWORD"] or None
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        user = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
        yield f"postgres://{user}@{settings['HOST']}:{settings['PORT'] or 5432}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=300
    )


def test_the_migrations_build_the_schema_on_an_empty_database_and_describe_every_model(empty_database):
    migrated = manage("migrate", "--noinput", database_url=empty_database)
    assert migrated.returncode == 0, migrated.stderr

    plan = manage("showmigrations", "--plan", database_url=empty_database)
    assert plan.returncode == 0, plan.stderr
    steps = re.findall(r"^\[(.)\]\s+(\w+)\.(\w+)", plan.stdout, re.MULTILINE)
    assert steps and all(done == "X" for done, _, _ in steps), plan.stdout
    assert {app for _, app, name in steps if name == "0001_initial"} >= set(APPS)

    # Exits with status 1, naming the model, when a model changed without its migration.
    check = manage("makemigrations", "--check", "--dry-run", database_url=empty_database)
    assert check.returncode == 0, check.stdout + check.stderr
