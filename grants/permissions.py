"""Who may amend a tranche. Each check answers (allowed, reason), so callers can say why not."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import Verdict

from .models import AmendmentStatus, TrancheAmendment


def can_prepare_amendment(user) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can record an amendment.")
    return True, ""


def can_confirm_amendment(user, amendment: TrancheAmendment) -> Verdict:
    """Four eyes: an approver other than the one who prepared the amendment."""
    if user.role != Role.AGENCY_APPROVER:
        return False, _("Only an agency approver can confirm an amendment.")
    if user.pk == amendment.prepared_by_id:
        return False, _("You prepared this amendment; another approver must confirm it.")
    if amendment.status != AmendmentStatus.PREPARED:
        return False, _("This amendment has already been confirmed or discarded and can no longer be changed.")
    return True, ""


def can_discard_amendment(user, amendment: TrancheAmendment) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can discard a prepared amendment.")
    if amendment.status != AmendmentStatus.PREPARED:
        return False, _("This amendment has already been confirmed or discarded and can no longer be changed.")
    return True, ""
