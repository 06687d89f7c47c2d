"""Receipt numbers under parallel submissions through the portal: each request on its own connection."""

import threading

import pytest
from django.db import connection

from applications.models import Application, Status
from grants.services import load_reference_data
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.portal import client_for, url

PARALLEL = 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_submissions_get_receipt_numbers_one_to_ten_without_gaps_or_duplicates():
    # A transactional test starts from whatever the previous one flushed; reference data is loaded idempotently.
    load_reference_data()
    signatory = UserFactory(signatory=True)
    tranche = TrancheFactory()
    applications = [ApplicationFactory(municipality=signatory.municipality, tranche=tranche) for _ in range(PARALLEL)]
    clients = [client_for(signatory) for _ in applications]
    start = threading.Barrier(PARALLEL)
    statuses: dict[int, int] = {}

    def submit(client, application):
        try:
            start.wait(timeout=30)
            statuses[application.pk] = client.post(
                url("application_submit", application), {"declaration": "on"}
            ).status_code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=submit, args=(client, application))
        for client, application in zip(clients, applications, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses.values()) == [302] * PARALLEL
    submitted = Application.objects.filter(tranche=tranche)
    assert set(submitted.values_list("status", flat=True)) == {Status.SUBMITTED}
    assert sorted(submitted.values_list("receipt_sequence", flat=True)) == list(range(1, PARALLEL + 1))
    assert sorted(submitted.values_list("reference", flat=True)) == [
        f"{tranche.receipt_prefix}-{number:04d}" for number in range(1, PARALLEL + 1)
    ]
    tranche.refresh_from_db()
    assert tranche.last_receipt_number == PARALLEL
    # The instant is stamped under the lock that issues the number: number order is receipt-time order.
    by_number = list(submitted.order_by("receipt_sequence").values_list("received_at", flat=True))
    assert by_number == sorted(by_number)
