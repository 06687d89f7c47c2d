"""Pages of one's own login: eHerkenning, the second factor, re-authentication before a confirmation, passwords."""

from __future__ import annotations

import django_otp
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import SuspiciousOperation
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from django_otp import user_has_device
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .eherkenning import MANDATE_NAMES, LoginRefused, Refusal
from .forms import INVALID_TOKEN, LoginForm, ReauthenticationForm, SecondFactorForm
from .models import AuditAction, AuditOutcome
from .security import mark_authenticated
from .services import record_audit


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a login while the username or the address is locked out (AXES_LOCKOUT_CALLABLE)."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


class LoginView(auth_views.LoginView):
    """eHerkenning for municipalities, when configured, and the password form for staff."""

    authentication_form = LoginForm

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "eherkenning_enabled": settings.EHERKENNING_ENABLED,
            "eherkenning_minimum": settings.EHERKENNING_MIN_ASSURANCE,
            "municipal_password_login": settings.MUNICIPAL_PASSWORD_LOGIN,
        }


class _ReturnToNext(auth_views.RedirectURLMixin):
    next_page = "portal:home"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "next": self.get_redirect_url()}


def _record_wrong_token(request, form) -> None:
    if form.has_error("token", INVALID_TOKEN):
        record_audit(action=AuditAction.SECOND_FACTOR, request=request, outcome=AuditOutcome.FAILURE)


class SecondFactorView(LoginRequiredMixin, _ReturnToNext, FormView):
    """After the password, staff give a code of their authenticator app or a recovery code."""

    template_name = "accounts/second_factor.html"
    form_class = SecondFactorForm

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and (not user.needs_second_factor or user.is_verified()):
            return redirect(self.get_success_url())
        if user.is_authenticated and not user_has_device(user):
            return redirect("two_factor:setup")
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        django_otp.login(self.request, form.device)
        record_audit(action=AuditAction.SECOND_FACTOR, request=self.request, detail=form.device._meta.model_name)
        return redirect(self.get_success_url())

    def form_invalid(self, form):
        _record_wrong_token(self.request, form)
        return super().form_invalid(form)


class ReauthenticateView(LoginRequiredMixin, _ReturnToNext, FormView):
    """The password again (and for staff a code) before a confirmation, when the last one is too old."""

    template_name = "accounts/reauthenticate.html"
    form_class = ReauthenticationForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        mark_authenticated(self.request)
        record_audit(action=AuditAction.REAUTHENTICATION, request=self.request)
        messages.success(self.request, _("Identity confirmed. If your last step was not carried out, repeat it."))
        return redirect(self.get_success_url())

    def form_invalid(self, form):
        _record_wrong_token(self.request, form)
        return super().form_invalid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        record_audit(action=AuditAction.PASSWORD_CHANGE, request=self.request)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        record_audit(action=AuditAction.PASSWORD_RESET, request=self.request, actor=form.user)
        return response


# --- eHerkenning (accounts.eherkenning) -------------------------------------------------------------------

REFUSALS = {
    Refusal.CANCELLED: gettext_lazy("The login with eHerkenning was cancelled or did not succeed."),
    Refusal.INVALID_RESPONSE: gettext_lazy(
        "The answer from eHerkenning could not be checked, or the login took too long. Start again."
    ),
    Refusal.ASSURANCE_TOO_LOW: gettext_lazy(
        "Your eHerkenning means has too low a level. Thuisfonds asks for level %(minimum)s or higher."
    ),
    Refusal.UNKNOWN_ORGANISATION: gettext_lazy(
        "You logged in for an organisation that is not a municipality. Only municipalities apply in Thuisfonds."
    ),
    Refusal.NO_MANDATE: gettext_lazy(
        "You have no mandate for Thuisfonds for your municipality. Ask the eHerkenning administrator of your "
        "municipality for one of these mandates:"
    ),
    Refusal.NOT_MUNICIPAL: gettext_lazy(
        "This account belongs to staff of the agency or the ministry. Log in with your username and password."
    ),
    Refusal.INACTIVE: gettext_lazy("Your account has been switched off. Contact the agency."),
}


class EHerkenningLoginView(OIDCAuthenticationRequestView):
    """Sends the browser to the broker, with state, nonce and PKCE kept in the session (mozilla-django-oidc)."""

    def get(self, request):
        if not settings.EHERKENNING_ENABLED:
            raise Http404("eHerkenning is not configured")
        return super().get(request)


class EHerkenningCallbackView(OIDCAuthenticationCallbackView):
    """The broker's answer: logs the user in (accounts.eherkenning), or says why not and writes that down."""

    def get(self, request):
        try:
            return super().get(request)
        except (SuspiciousOperation, requests.RequestException) as error:
            request.eherkenning_refusal = LoginRefused(Refusal.INVALID_RESPONSE, str(error)[:500])
            return self.login_failure()

    def login_failure(self):
        request = self.request
        refusal = getattr(request, "eherkenning_refusal", None)
        if refusal is None:
            error = request.GET.get("error")
            reason = Refusal.CANCELLED if error else Refusal.INVALID_RESPONSE
            refusal = LoginRefused(reason, error or "no state for this answer in the session")
        record_audit(
            action=AuditAction.LOGIN_FAILED,
            request=request,
            actor_name=refusal.username,
            outcome=AuditOutcome.FAILURE,
            detail=f"eHerkenning {refusal.reason}: {refusal.detail}",
        )
        context = {
            "reason": refusal.reason,
            "message": REFUSALS[refusal.reason] % {"minimum": settings.EHERKENNING_MIN_ASSURANCE},
            "mandates": MANDATE_NAMES.values() if refusal.reason == Refusal.NO_MANDATE else (),
        }
        return render(request, "accounts/eherkenning_refused.html", context, status=403)
