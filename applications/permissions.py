"""Who may do what with an application. Each check answers (allowed, reason) so callers can say why."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import Role

from .models import Application, Status

Verdict = tuple[bool, str]


def _own(user, application: Application) -> bool:
    return user.is_municipal and user.municipality_id == application.municipality_id


def can_apply(user) -> Verdict:
    if not user.is_municipal:
        return False, _("Only municipal users can apply.")
    return True, ""


def can_view(user, application: Application) -> Verdict:
    if _own(user, application) or user.is_agency or user.is_ministry:
        return True, ""
    return False, _("This application belongs to another municipality.")


def can_edit(user, application: Application) -> Verdict:
    if not _own(user, application):
        return False, _("Only the applying municipality can change this application.")
    if not application.is_editable:
        return False, _("This application has been submitted and can no longer be changed.")
    return True, ""


def can_submit(user, application: Application) -> Verdict:
    if not _own(user, application):
        return False, _("Only the applying municipality can submit this application.")
    if user.role != Role.MUNICIPAL_SIGNATORY:
        return False, _("Only a signatory of the municipality may submit an application.")
    return True, ""


def can_withdraw(user, application: Application) -> Verdict:
    return can_submit(user, application)


def can_handle(user, application: Application) -> Verdict:
    """Agency work on a submitted application: review, request information, assess."""
    if not user.is_agency:
        return False, _("Only agency staff can handle applications.")
    return True, ""


def _granted(application: Application) -> bool:
    return application.status in (Status.GRANTED, Status.PARTIALLY_GRANTED)


def can_report_progress(user, application: Application) -> Verdict:
    """Prepare a progress report: any user of the municipality that received the grant."""
    if not _own(user, application):
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
