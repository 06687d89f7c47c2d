"""What grants does when something happens in a lower layer; connected in GrantsConfig.ready()."""

from __future__ import annotations

from django.dispatch import receiver

from applications.signals import progress_reported

from . import tasks


@receiver(progress_reported, dispatch_uid="grants.refresh_totals_after_progress_report")
def refresh_totals_after_progress_report(sender, **kwargs) -> None:
    tasks.refresh_totals.delay()
