"""Who may allocate, handle objections, waive and withdraw grants. Each check answers (allowed, reason).

Who may read a decision is decided by allocation.selectors.decisions_visible_to.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import Verdict

from .models import AllocationRun, Decision, LotterySeed, ProposalStatus, Withdrawal


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


def can_handle_objections(user) -> Verdict:
    """Register an objection, record a dispatch date, plan the hearing, postpone and decide: agency staff."""
    if not user.is_agency:
        return False, _("Only agency staff can handle objections.")
    return True, ""


def can_be_objection_handler(user, decision: Decision) -> Verdict:
    """Awb 7:5 lid 1: the objection is heard by someone who did not prepare or take the decision objected to."""
    if not user.is_agency:
        return False, _("Only agency staff can handle objections.")
    involved = {decision.decided_by_id}
    if decision.run_id is not None:
        involved |= {decision.run.prepared_by_id, decision.run.approved_by_id}
    if user.pk in involved:
        return False, _("%(user)s took part in the decision objected to; someone else must handle the objection.") % {
            "user": user
        }
    return True, ""


def can_decide_objection(user, *, grants_money: bool) -> Verdict:
    """Agency staff; a decision on objection that grants more than the decision in force needs an approver."""
    if not user.is_agency:
        return False, _("Only agency staff can handle objections.")
    if grants_money and user.role != Role.AGENCY_APPROVER:
        return False, _("Only an agency approver can decide an objection that grants money.")
    return True, ""


def can_waive_grant(user, application) -> Verdict:
    """A municipality gives up (part of) its grant: a signatory of that municipality, who may bind it."""
    if user.role != Role.MUNICIPAL_SIGNATORY or user.municipality_id != application.municipality_id:
        return False, _("Only a signatory of the municipality can waive its grant.")
    return True, ""


def can_prepare_withdrawal(user) -> Verdict:
    if user.role not in (Role.AGENCY_ASSESSOR, Role.AGENCY_APPROVER):
        return False, _("Only an agency assessor or approver can prepare a withdrawal.")
    return True, ""


def can_confirm_withdrawal(user, withdrawal: Withdrawal) -> Verdict:
    """Four eyes: an approver other than the one who prepared the withdrawal."""
    if user.role != Role.AGENCY_APPROVER:
        return False, _("Only an agency approver can confirm a withdrawal.")
    if user.pk == withdrawal.prepared_by_id:
        return False, _("You prepared this withdrawal; another approver must confirm it.")
    if withdrawal.status != ProposalStatus.PREPARED:
        return False, _("This withdrawal has already been confirmed.")
    return True, ""


def can_discard_withdrawal(user, withdrawal: Withdrawal) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can discard a withdrawal.")
    if withdrawal.status != ProposalStatus.PREPARED:
        return False, _("This withdrawal has already been confirmed.")
    return True, ""
