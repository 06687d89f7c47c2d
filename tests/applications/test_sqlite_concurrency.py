"""Simultaneous submissions in the embedded setup (`make run`: SQLite in a file) give a clear answer, never an error.

The test suite's own database may be PostgreSQL or SQLite in memory, so these tests build a SQLite file with the
project's schema and the settings' SQLITE_OPTIONS, and let threads use it as the default database, each on its own
connection, as the development server's threads do. Both submissions first read and only then write, held
together at a barrier: without a write lock taken when the transaction begins, SQLite refuses one of them at once
("database is locked").
"""

import contextlib
import threading

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, connections

from applications.models import Application, Status
from grants.models import Tranche
from grants.services import load_reference_data
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.portal import client_for, url


def in_thread(function, *args):
    """Run `function` in a new thread, on that thread's own connection; return what it returned or raise its error."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function(*args)
        except Exception as error:  # handed to the caller below
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture
def embedded_database(tmp_path, django_db_blocker):
    """New threads get a SQLite file with the project's schema and reference data as their default database."""
    original = connections.settings["default"]
    connections.settings["default"] = {
        **original,
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path / "embedded.sqlite3"),
        "OPTIONS": dict(settings.SQLITE_OPTIONS),
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
    }

    def create_schema():
        with connection.schema_editor() as editor:
            for model in apps.get_models():
                if model._meta.managed and not model._meta.proxy:
                    editor.create_model(model)
        load_reference_data()

    try:
        with django_db_blocker.unblock():
            in_thread(create_schema)
            yield
    finally:
        connections.settings["default"] = original


@pytest.fixture
def read_then_write():
    """Hold each request at its first write inside a transaction until the other one is there too (or 2 s passed).

    By then both have read what they check, so without an early write lock they would deadlock in SQLite.
    """
    both_read = threading.Barrier(2)

    def hold_before_first_write(execute, sql, params, many, context):
        if connection.in_atomic_block and sql.lstrip().upper().startswith(("UPDATE", "INSERT")):
            # When the other request waits for the write lock, the barrier cannot fill: go on after the timeout.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_read.wait(timeout=2)
        return execute(sql, params, many, context)

    return hold_before_first_write


def submit_at_once(posts, hold) -> list:
    """POST each (client, application) submission in its own thread at the same moment; the responses or errors."""
    start = threading.Barrier(len(posts))
    answers = [None] * len(posts)

    def post(index, client, application):
        try:
            start.wait(timeout=10)
            with connection.execute_wrapper(hold):
                answers[index] = client.post(url("application_submit", application), {"declaration": "on"})
        except Exception as error:  # a server error: the test fails on it below
            answers[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n, *pair)) for n, pair in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_two_drafts_submitted_at_once_both_get_a_receipt_number(embedded_database, read_then_write):
    def prepare():
        tranche = TrancheFactory()
        signatory = UserFactory(signatory=True)
        drafts = [ApplicationFactory(tranche=tranche, municipality=signatory.municipality) for _ in range(2)]
        return tranche, [(client_for(signatory), draft) for draft in drafts]

    tranche, posts = in_thread(prepare)

    answers = submit_at_once(posts, read_then_write)

    assert [getattr(answer, "status_code", answer) for answer in answers] == [302, 302]
    submitted = in_thread(
        lambda: sorted(Application.objects.filter(tranche=tranche).values_list("status", "receipt_sequence"))
    )
    assert submitted == [(Status.SUBMITTED, 1), (Status.SUBMITTED, 2)]


def test_one_draft_submitted_twice_at_once_is_submitted_once_and_the_other_request_is_told_so(
    embedded_database, read_then_write
):
    def prepare():
        signatory = UserFactory(signatory=True)
        draft = ApplicationFactory(municipality=signatory.municipality)
        return draft, [(client_for(signatory), draft), (client_for(signatory), draft)]

    draft, posts = in_thread(prepare)

    answers = submit_at_once(posts, read_then_write)

    # 409 Conflict: the request conflicts with the application's state, and the page says why.
    assert sorted(getattr(answer, "status_code", answer) for answer in answers) == [302, 409]
    (told,) = [answer for answer in answers if answer.status_code == 409]
    reference = in_thread(lambda: Application.objects.get(pk=draft.pk).reference)
    assert f"This application has already been submitted ({reference})." in told.content.decode()
    assert in_thread(lambda: Tranche.objects.get(pk=draft.tranche_id).last_receipt_number) == 1
