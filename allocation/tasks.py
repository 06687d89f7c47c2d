"""Background work on decisions. Tasks take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import services
from .models import AllocationRun, RunStatus


@shared_task(acks_late=True)
def generate_decision_letters(run_id: int) -> int:
    """Render the letters of a confirmed run that has none yet; returns how many were made."""
    run = AllocationRun.objects.filter(pk=run_id, status=RunStatus.CONFIRMED).first()
    if run is None:
        return 0
    return services.generate_decision_letters(run=run)
