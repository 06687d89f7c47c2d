"""Who may report progress and settle a grant. Each check answers (allowed, reason)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import Verdict
from applications.models import Application, Status
from applications.permissions import is_own

from .models import AccountabilityReport, AccountabilityStatus, Settlement


def _granted(application: Application) -> bool:
    return application.status in (Status.GRANTED, Status.PARTIALLY_GRANTED)


def can_report_progress(user, application: Application) -> Verdict:
    """Prepare a progress report: any user of the municipality that received the grant."""
    if not is_own(user, application):
        return False, _("Only the municipality that received the grant can report its progress.")
    if not _granted(application):
        return False, _("Progress is reported only on a granted application.")
    return True, ""


def can_submit_progress(user, application: Application) -> Verdict:
    allowed, reason = can_report_progress(user, application)
    if not allowed:
        return allowed, reason
    if user.role != Role.MUNICIPAL_SIGNATORY:
        return False, _("Only a signatory of the municipality may submit a progress report.")
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


# --- accountability (SiSa) ------------------------------------------------------------------------------

ACCOUNTABILITY_PREPARERS = (Role.MUNICIPAL_EDITOR, Role.MUNICIPAL_SIGNATORY)


def can_prepare_accountability(user, application: Application) -> Verdict:
    """Prepare a grant's yearly accountability report: an editor or signatory of the municipality that holds it."""
    if not is_own(user, application):
        return False, _("Only the municipality that received the grant can account for it.")
    if not _granted(application):
        return False, _("Only a grant in force is accounted for.")
    if user.role not in ACCOUNTABILITY_PREPARERS:
        return False, _(
            "An editor or signatory prepares the accountability report; the financial officer certifies it."
        )
    return True, ""


def can_certify_accountability(user, report: AccountabilityReport) -> Verdict:
    """Certify a prepared report: the financial officer of the same municipality, not the one who prepared it."""
    if not is_own(user, report.application):
        return False, _("Only the municipality that received the grant can account for it.")
    if user.role != Role.MUNICIPAL_FINANCIAL_OFFICER:
        return False, _("Only the financial officer of the municipality can certify an accountability report.")
    if user.pk == report.prepared_by_id:
        return False, _("You prepared this report; another person, the financial officer, must certify it.")
    if report.status == AccountabilityStatus.CERTIFIED:
        return False, _("This report has been certified and can no longer be changed.")
    return True, ""
