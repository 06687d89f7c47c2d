"""Logins, failed logins, lockouts and logouts, written to the audit log; a login also starts the session's clocks."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .models import AuditAction, AuditOutcome
from .security import forget_second_factor, mark_authenticated
from .services import record_audit


@receiver(user_logged_in, dispatch_uid="accounts_logged_in")
def logged_in(sender, request, user, **kwargs):
    # Logging in again with the password alone keeps the session's data: the second factor is asked anew, unless
    # the login itself proved it (django-otp sets user.otp_device then).
    if not hasattr(user, "otp_device"):
        forget_second_factor(request)
    mark_authenticated(request)
    # An eHerkenning login says which mandate let the user in (accounts.eherkenning).
    record_audit(action=AuditAction.LOGIN, request=request, actor=user, detail=getattr(user, "login_detail", ""))


@receiver(user_login_failed, dispatch_uid="accounts_login_failed")
def login_failed(sender, credentials, request=None, **kwargs):
    # A refused eHerkenning login has no username; the callback writes it down with its reason (accounts.views).
    if "username" not in credentials:
        return
    record_audit(
        action=AuditAction.LOGIN_FAILED,
        request=request,
        actor_name=str(credentials.get("username", ""))[:150],
        outcome=AuditOutcome.FAILURE,
    )


@receiver(user_locked_out, dispatch_uid="accounts_locked_out")
def locked_out(sender, request, username, ip_address, **kwargs):
    record_audit(
        action=AuditAction.LOCKOUT,
        request=request,
        actor_name=str(username or "")[:150],
        ip_address=ip_address,
        outcome=AuditOutcome.FAILURE,
        detail="too many failed logins for this username or from this address",
    )


@receiver(user_logged_out, dispatch_uid="accounts_logged_out")
def logged_out(sender, request, user, **kwargs):
    if user is not None:
        record_audit(action=AuditAction.LOGOUT, request=request, actor=user)
