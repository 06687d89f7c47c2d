"""Issuing a receipt: the tranche's next receipt number and the receipt instant, under the tranche's row lock.

The instant is the moment the request arrived, unless an application that arrived later already took the lock and
a number: then it is the latest instant issued in the tranche, which its ReceiptClock keeps. So numbers never
contradict instants, and an application overtaken on its way to the lock loses exactly the time by which it was
overtaken.

On PostgreSQL one statement does it all: it locks the draft as it was confirmed, takes the tranche's row lock with
the next number, moves the clock on, receives the application and records its status change. Run outside a
transaction it commits by itself, so the lock is held while PostgreSQL runs it and commits, without waiting for
the application in between. Elsewhere (SQLite, the embedded run) the same steps run one by one in a transaction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from grants.models import Tranche

from .models import Application, ReceiptClock, Status, StatusChange

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Issued:
    sequence: int
    reference: str
    received_at: datetime
    # From taking the tranche's lock to the end of the statement; the commit follows. PostgreSQL only.
    locked: timedelta | None = None


def reference_for(tranche: Tranche, sequence: int) -> str:
    return f"{tranche.receipt_prefix}-{sequence:04d}"


RECEIVE = f"""
WITH draft AS (
    SELECT id FROM {Application._meta.db_table}
    WHERE id = %(application)s AND status = %(draft)s AND ready_hash = %(key)s AND ready_rules = %(rules)s
    FOR UPDATE
), number AS (
    UPDATE {Tranche._meta.db_table} SET last_receipt_number = last_receipt_number + 1
    WHERE id = %(tranche)s AND EXISTS (SELECT FROM draft)
    RETURNING last_receipt_number AS sequence, clock_timestamp() AS locked_at
), clock AS (
    INSERT INTO {ReceiptClock._meta.db_table} (tranche_id, last_received_at)
    SELECT %(tranche)s, %(arrived)s FROM number
    ON CONFLICT (tranche_id) DO UPDATE
    SET last_received_at = GREATEST({ReceiptClock._meta.db_table}.last_received_at, EXCLUDED.last_received_at)
    RETURNING last_received_at AS instant
), received AS (
    UPDATE {Application._meta.db_table} AS application
    SET status = %(submitted)s, receipt_sequence = number.sequence,
        reference = %(prefix)s || '-' || CASE WHEN number.sequence < 10000
            THEN lpad(number.sequence::text, 4, '0') ELSE number.sequence::text END,
        received_at = clock.instant, completed_at = clock.instant, ranks_at = clock.instant, updated_at = %(now)s
    FROM draft, number, clock
    WHERE application.id = draft.id
    RETURNING application.id, application.receipt_sequence, application.reference, application.received_at
), recorded AS (
    INSERT INTO {StatusChange._meta.db_table} (application_id, from_status, to_status, actor_id, at, reason)
    SELECT id, %(draft)s, %(submitted)s, %(actor)s, received_at, '' FROM received
    RETURNING at
)
SELECT received.receipt_sequence, received.reference, recorded.at, clock_timestamp() - number.locked_at
FROM received, recorded, number
"""


def issue(application: Application, *, user, arrived_at: datetime) -> Issued | None:
    """Receive the application as its ready state stands, at `arrived_at` or the tranche's last receipt instant.

    None when the application is no longer that draft: received meanwhile by another request, or changed.
    """
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        issued = _in_one_statement(application, user=user, arrived_at=arrived_at)
    else:
        issued = _in_steps(application, user=user, arrived_at=arrived_at)
    if issued is not None:
        logger.info(
            "application %s received as %s at %s by %s; arrived %s, overtaken by %.1f ms; receipt statement %.1f ms, "
            "tranche locked %.2f ms before the commit",
            application.public_id,
            issued.reference,
            issued.received_at.isoformat(),
            user,
            arrived_at.isoformat(),
            (issued.received_at - arrived_at).total_seconds() * 1000,
            (time.perf_counter() - started) * 1000,
            issued.locked.total_seconds() * 1000 if issued.locked is not None else float("nan"),
        )
    return issued


def _in_one_statement(application: Application, *, user, arrived_at: datetime) -> Issued | None:
    with connection.cursor() as cursor:
        cursor.execute(
            RECEIVE,
            {
                "application": application.pk,
                "draft": Status.DRAFT,
                "submitted": Status.SUBMITTED,
                "key": application.ready_hash,
                "rules": application.ready_rules,
                "tranche": application.tranche_id,
                "prefix": application.tranche.receipt_prefix,
                "arrived": arrived_at,
                "now": timezone.now(),
                "actor": user.pk,
            },
        )
        row = cursor.fetchone()
    return None if row is None else Issued(sequence=row[0], reference=row[1], received_at=row[2], locked=row[3])


class _NoLongerTheDraft(Exception):
    pass


def _in_steps(application: Application, *, user, arrived_at: datetime) -> Issued | None:
    tranche = application.tranche
    try:
        with transaction.atomic():
            # A write first: it takes the database's write lock, so that what is read next is what stands.
            Tranche.objects.filter(pk=tranche.pk).update(last_receipt_number=F("last_receipt_number") + 1)
            draft = Application.objects.filter(
                pk=application.pk,
                status=Status.DRAFT,
                ready_hash=application.ready_hash,
                ready_rules=application.ready_rules,
            )
            if not draft.exists():
                raise _NoLongerTheDraft
            sequence = Tranche.objects.values_list("last_receipt_number", flat=True).get(pk=tranche.pk)
            clock, created = ReceiptClock.objects.get_or_create(
                tranche_id=tranche.pk, defaults={"last_received_at": arrived_at}
            )
            instant = max(clock.last_received_at, arrived_at)
            if not created and instant != clock.last_received_at:
                ReceiptClock.objects.filter(pk=tranche.pk).update(last_received_at=instant)
            reference = reference_for(tranche, sequence)
            draft.update(
                status=Status.SUBMITTED,
                receipt_sequence=sequence,
                reference=reference,
                received_at=instant,
                completed_at=instant,
                ranks_at=instant,
                updated_at=timezone.now(),
            )
            StatusChange.objects.create(
                application_id=application.pk,
                from_status=Status.DRAFT,
                to_status=Status.SUBMITTED,
                actor=user,
                at=instant,
            )
    except _NoLongerTheDraft:
        return None
    return Issued(sequence=sequence, reference=reference, received_at=instant)
