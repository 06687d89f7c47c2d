"""What the ministry stage does when an earlier stage changes the figures; connected in MinistryConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from allocation.signals import run_confirmed
from realisation.signals import progress_reported, settlement_confirmed

from . import tasks


@receiver(run_confirmed, dispatch_uid="ministry.refresh_totals_after_allocation")
@receiver(progress_reported, dispatch_uid="ministry.refresh_totals_after_progress_report")
@receiver(settlement_confirmed, dispatch_uid="ministry.refresh_totals_after_settlement")
def refresh_totals(sender, **kwargs) -> None:
    tasks.refresh_totals.delay()
