"""What allocation does after its own domain events; connected in AllocationConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from . import tasks
from .signals import decision_issued, run_confirmed


@receiver(run_confirmed, dispatch_uid="allocation.letters_after_confirmation")
def generate_letters_after_confirmation(sender, *, run, generate_letters: bool, **kwargs) -> None:
    if generate_letters:
        tasks.generate_decision_letters.delay(run.pk)


@receiver(decision_issued, dispatch_uid="allocation.letter_after_decision")
def generate_letter_after_decision(sender, *, decision, **kwargs) -> None:
    tasks.generate_decision_letter.delay(decision.pk)
