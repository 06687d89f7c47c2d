"""What the ministry stage does when an earlier stage changes the figures; connected in MinistryConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from allocation.signals import decision_issued, run_confirmed
from realisation.signals import accountability_certified, progress_reported, reclaim_paid, settlement_confirmed

from . import tasks


@receiver(run_confirmed, dispatch_uid="ministry.refresh_totals_after_allocation")
@receiver(decision_issued, dispatch_uid="ministry.refresh_totals_after_decision")
@receiver(progress_reported, dispatch_uid="ministry.refresh_totals_after_progress_report")
@receiver(settlement_confirmed, dispatch_uid="ministry.refresh_totals_after_settlement")
@receiver(accountability_certified, dispatch_uid="ministry.refresh_totals_after_accountability")
@receiver(reclaim_paid, dispatch_uid="ministry.refresh_totals_after_reclaim_payment")
def refresh_totals(sender, **kwargs) -> None:
    tasks.refresh_totals.delay()
