"""Who may allocate. Each check answers (allowed, reason).

Who may read a decision is decided by allocation.selectors.decisions_visible_to.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import Verdict

from .models import AllocationRun, LotterySeed


def can_prepare_allocation(user) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can prepare an allocation.")
    return True, ""


def can_confirm_allocation(user, run: AllocationRun) -> Verdict:
    """Four eyes: an approver other than the one who prepared the preview."""
    if user.role != Role.AGENCY_APPROVER:
        return False, _("Only an agency approver can confirm an allocation.")
    if user.pk == run.prepared_by_id:
        return False, _("You prepared this allocation; another approver must confirm it.")
    if run.is_confirmed:
        return False, _("This allocation has already been confirmed and can no longer be changed.")
    return True, ""


def can_discard_allocation(user, run: AllocationRun) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can discard an allocation preview.")
    if run.is_confirmed:
        return False, _("This allocation has already been confirmed and can no longer be changed.")
    return True, ""


def can_enter_seed(user) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can enter a lottery seed.")
    return True, ""


def can_confirm_seed(user, lottery_seed: LotterySeed) -> Verdict:
    """Four eyes: an agency user other than the one who entered the external seed."""
    if not user.is_agency:
        return False, _("Only agency staff can confirm a lottery seed.")
    if lottery_seed.is_sealed:
        return False, _("The lottery seed of this tranche is sealed and can no longer be changed.")
    if user.pk == lottery_seed.entered_by_id:
        return False, _("You entered this seed; a second person must confirm it.")
    return True, ""
