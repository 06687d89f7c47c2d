"""Background work of accounts: the nightly retention job, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import retention


@shared_task(acks_late=True)
def apply_retention() -> dict[str, int]:
    """Remove or anonymise personal data past its period, except the rules in RETENTION_TASK_SKIP; the beat
    schedule runs it every night."""
    kinds = [rule.name for rule in retention.retention_rules() if rule.name not in settings.RETENTION_TASK_SKIP]
    return retention.apply_retention(now=timezone.now(), kinds=kinds)
