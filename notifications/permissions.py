"""Who may do what with notifications. Each check answers (allowed, reason)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.permissions import Verdict

from .models import Delivery, DeliveryStatus


def can_send_again(user, delivery: Delivery) -> Verdict:
    """Agency staff decide to send a failed e-mail again, or one a crash left unknown, knowing it may arrive twice."""
    if not (user.is_agency or user.is_superuser):
        return False, _("Only agency staff can send an e-mail again.")
    if delivery.status not in (DeliveryStatus.FAILED, DeliveryStatus.SENDING):
        return False, _("Only a failed e-mail, or one whose sending was interrupted, can be sent again.")
    return True, ""
