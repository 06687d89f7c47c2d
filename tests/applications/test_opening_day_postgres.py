"""Opening day on PostgreSQL: parallel submissions on their own connections, and a connection that dies."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection, connections
from django.utils import timezone

from accounts.models import User
from applications import submission
from applications.models import Application, Status
from grants.services import load_reference_data
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.portal import client_for, url

PARALLEL = 24


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_receipt_numbers_follow_receipt_instants_when_parallel_requests_reach_the_lock_out_of_order(settings):
    # A transactional test starts from whatever the previous one flushed; reference data is loaded idempotently.
    load_reference_data()
    settings.REQUEST_START_PROXIES = ["127.0.0.1"]
    signatory = UserFactory(signatory=True)
    tranche = TrancheFactory()
    applications = [ApplicationFactory(municipality=signatory.municipality, tranche=tranche) for _ in range(PARALLEL)]
    for application in applications:
        submission.confirm_ready(application=application, user=signatory)
        application.refresh_from_db()
    # Each request reached the proxy at its own millisecond, in an order the threads do not keep: they set off after
    # a delay of their own, so that many take the tranche's lock before one that arrived earlier.
    rng = random.Random(19)
    base = (tranche.opens_at + timedelta(hours=1)).replace(microsecond=0)
    arrivals = [base + timedelta(milliseconds=order) for order in rng.sample(range(PARALLEL), PARALLEL)]
    delays = [rng.uniform(0, 0.05) for _ in applications]
    clients = [client_for(signatory) for _ in applications]
    start = threading.Barrier(PARALLEL)
    statuses: dict[int, int] = {}

    def submit(client, application, arrived, delay):
        try:
            start.wait(timeout=30)
            threading.Event().wait(delay)
            response = client.post(
                url("application_submit", application),
                {"key": application.ready_hash},
                HTTP_X_REQUEST_START=f"t={arrived.timestamp():.3f}",
            )
            statuses[application.pk] = response.status_code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=submit, args=arguments)
        for arguments in zip(clients, applications, arrivals, delays, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses.values()) == [302] * PARALLEL
    arrived = {application.pk: instant for application, instant in zip(applications, arrivals, strict=True)}
    received = list(
        Application.objects.filter(tranche=tranche)
        .order_by("receipt_sequence")
        .values_list("pk", "receipt_sequence", "received_at", "status")
    )
    assert [number for _, number, _, _ in received] == list(range(1, PARALLEL + 1))
    assert {status for *_, status in received} == {Status.SUBMITTED}
    # Numbers follow instants; each instant is the arrival, or the later arrival of a number before it.
    latest = None
    overtaken = 0
    for pk, _, received_at, _ in received:
        latest = max(latest or arrived[pk], arrived[pk])
        assert received_at == latest
        overtaken += received_at > arrived[pk]
    # The delays did reorder the requests at the lock: otherwise this test would prove nothing.
    assert 0 < overtaken < PARALLEL


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_submission_sent_twice_at_once_is_received_once_and_both_get_its_receipt():
    load_reference_data()
    signatory = UserFactory(signatory=True)
    tranche = TrancheFactory()
    application = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    submission.confirm_ready(application=application, user=signatory)
    application.refresh_from_db()
    start = threading.Barrier(4)
    receipts = []

    def submit():
        try:
            start.wait(timeout=30)
            received = submission.submit_ready(
                user=signatory, public_id=application.public_id, key=application.ready_hash, arrived_at=timezone.now()
            )
            receipts.append((received.application.reference, received.repeated))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    tranche.refresh_from_db()
    assert tranche.last_receipt_number == 1
    assert sorted(repeated for _, repeated in receipts) == [False, True, True, True]
    assert {reference for reference, _ in receipts} == {f"{tranche.receipt_prefix}-0001"}
    assert application.status_changes.filter(to_status=Status.SUBMITTED).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_terminated_database_connection_is_replaced_before_the_next_request_uses_it(monkeypatch):
    # As in production (CONN_MAX_AGE in docker/compose.yml): the connection outlives the request.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    connection.ensure_connection()
    victim = connection.connection.info.backend_pid
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [victim])
    finally:
        killer.close()

    close_old_connections()  # what Django does when the next request starts
    assert User.objects.count() >= 0
    assert connection.connection.info.backend_pid != victim
    connection.close()
