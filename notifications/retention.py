"""Retention of reminders (docs/privacy.md): each e-mail's record, with its address, goes after two years."""

from __future__ import annotations

from datetime import datetime

from accounts.retention import delete_counted, retention_rule, years_before

from .models import Delivery


@retention_rule("emails", action="deleted")
def delete_old_deliveries(now: datetime) -> int:
    """E-mails of reminders made before the period, with their attempts (which may quote the address).

    The reminder itself stays, so that it is never decided and sent again.
    """
    return delete_counted(Delivery.objects.filter(created_at__lt=years_before(now, "email")))
