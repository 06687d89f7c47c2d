"""Background work for the ministry's figures. Tasks are safe to run twice."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.core.cache import cache

from . import services

logger = logging.getLogger(__name__)

TOTALS_LOCK = "ministry:refresh_totals:lock"
TOTALS_PENDING = "ministry:refresh_totals:pending"
# Longer than a refresh takes on a million unit lines, short enough that a crashed worker does not block the night.
TOTALS_LOCK_SECONDS = 15 * 60


@shared_task
def refresh_totals() -> int | None:
    """Recompute and store the ministry's totals; returns the new generation, None when one was running.

    Runs never overlap. A run asked for while another is busy may concern data the busy one has already
    read, so it leaves a note and the busy run starts one more refresh when it is done.
    """
    token = uuid.uuid4().hex
    if not cache.add(TOTALS_LOCK, token, timeout=TOTALS_LOCK_SECONDS):
        cache.set(TOTALS_PENDING, True, timeout=TOTALS_LOCK_SECONDS)
        logger.info("totals refresh deferred: another refresh is running")
        return None
    try:
        cache.delete(TOTALS_PENDING)
        generation = services.store_totals()
    finally:
        if cache.get(TOTALS_LOCK) == token:
            cache.delete(TOTALS_LOCK)
    if cache.get(TOTALS_PENDING):
        refresh_totals.delay()
    return generation
