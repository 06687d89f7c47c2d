"""Pages of one's own login: the second factor, re-authentication before a confirmation, and passwords."""

from __future__ import annotations

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.generic import FormView
from django_otp import user_has_device

from .forms import INVALID_TOKEN, ReauthenticationForm, SecondFactorForm
from .models import AuditAction, AuditOutcome
from .security import mark_authenticated
from .services import record_audit


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a login while the username or the address is locked out (AXES_LOCKOUT_CALLABLE)."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


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
