"""Who may allocate, settle and read the totals. Each check answers (allowed, reason).

Who may read a decision is decided by grants.selectors.decisions_visible_to.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import Role

from .models import AllocationRun, Settlement

Verdict = tuple[bool, str]


def can_prepare_allocation(user) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can prepare an allocation.")
    return True, ""


def can_import_applications(user) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can import applications.")
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


def can_view_totals(user) -> Verdict:
    """The scheme's totals, dashboard and exports: for the ministry and the agency, not for municipalities."""
    if not (user.is_ministry or user.is_agency):
        return False, _("Only the ministry and the agency can see the totals of the scheme.")
    return True, ""


def can_prepare_settlement(user) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can prepare a settlement.")
    return True, ""


def can_confirm_settlement(user, settlement: Settlement) -> Verdict:
    """Four eyes: an approver other than the one who prepared the settlement."""
    if user.role != Role.AGENCY_APPROVER:
        return False, _("Only an agency approver can confirm a settlement.")
    if user.pk == settlement.prepared_by_id:
        return False, _("You prepared this settlement; another approver must confirm it.")
    if settlement.is_confirmed:
        return False, _("This settlement has already been confirmed and can no longer be changed.")
    return True, ""


def can_discard_settlement(user, settlement: Settlement) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can discard a prepared settlement.")
    if settlement.is_confirmed:
        return False, _("This settlement has already been confirmed and can no longer be changed.")
    return True, ""
