"""Who may do what with an application. Each check answers (allowed, reason) so callers can say why."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import Verdict

from .models import Application


def is_own(user, application: Application) -> bool:
    return user.is_municipal and user.municipality_id == application.municipality_id


def can_apply(user) -> Verdict:
    if not user.is_municipal:
        return False, _("Only municipal users can apply.")
    return True, ""


def can_view(user, application: Application) -> Verdict:
    """In the portal: the applying municipality only. Agency staff read received applications in the back office."""
    if is_own(user, application):
        return True, ""
    return False, _("This application belongs to another municipality.")


def can_edit(user, application: Application) -> Verdict:
    if not is_own(user, application):
        return False, _("Only the applying municipality can change this application.")
    if not application.is_editable:
        return False, _("This application has been submitted and can no longer be changed.")
    return True, ""


def can_submit(user, application: Application) -> Verdict:
    if not is_own(user, application):
        return False, _("Only the applying municipality can submit this application.")
    if user.role != Role.MUNICIPAL_SIGNATORY:
        return False, _("Only a signatory of the municipality may submit an application.")
    return True, ""


def can_ask_signatory(user, application: Application) -> Verdict:
    """Who prepares but may not send an application asks a signatory to send it."""
    if not is_own(user, application):
        return False, _("Only the applying municipality can ask its signatory.")
    if not application.is_editable:
        return False, _("This application has been submitted and can no longer be changed.")
    if user.role == Role.MUNICIPAL_SIGNATORY:
        return False, _("As a signatory you send the application yourself.")
    return True, ""


def can_withdraw(user, application: Application) -> Verdict:
    return can_submit(user, application)


def can_handle(user, application: Application) -> Verdict:
    """Agency work on a submitted application: review, request information, assess."""
    if not user.is_agency:
        return False, _("Only agency staff can handle applications.")
    return True, ""


def can_import_applications(user) -> Verdict:
    if not user.is_agency:
        return False, _("Only agency staff can import applications.")
    return True, ""
