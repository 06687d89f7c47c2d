"""What allocation does after its own domain events; connected in AllocationConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from . import tasks
from .signals import run_confirmed


@receiver(run_confirmed, dispatch_uid="allocation.letters_after_confirmation")
def generate_letters_after_confirmation(sender, *, run, generate_letters: bool, **kwargs) -> None:
    if generate_letters:
        tasks.generate_decision_letters.delay(run.pk)
