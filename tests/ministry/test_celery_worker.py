"""Celery end to end: a real worker takes the task from Redis and runs it against the database."""

import pytest
from celery.contrib.testing.worker import start_worker

from config.celery import app
from ministry.models import TotalsRow
from ministry.tasks import refresh_totals
from tests.factories import ApplicationFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True


def test_refresh_totals_runs_on_a_real_worker_over_redis(worker):
    ApplicationFactory(submitted=True)
    result = refresh_totals.delay()
    generation = result.get(timeout=60)
    assert generation is not None
    assert TotalsRow.objects.filter(generation=generation).exists()
