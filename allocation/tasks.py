"""Background work on decisions. Tasks take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from . import decision_letters, objections
from .models import AllocationRun, Decision, Letter, RunStatus


@shared_task(acks_late=True)
def generate_decision_letters(run_id: int) -> int:
    """Render the letters of a confirmed run that has none yet; returns how many were made."""
    run = AllocationRun.objects.filter(pk=run_id, status=RunStatus.CONFIRMED).first()
    if run is None:
        return 0
    return decision_letters.generate_decision_letters(run=run)


@shared_task(acks_late=True)
def generate_decision_letter(decision_id: int) -> bool:
    """Render the letter of one decision on one case; False when it already has one."""
    if not Decision.objects.filter(pk=decision_id).exists():
        return False
    return decision_letters.generate_decision_letter(decision_id=decision_id)


@shared_task(acks_late=True)
def generate_letter_pdf(letter_id: int) -> bool:
    """Render the PDF of a letter about an objection; False when it already has one."""
    if not Letter.objects.filter(pk=letter_id).exists():
        return False
    return objections.generate_letter_pdf(letter_id=letter_id)
