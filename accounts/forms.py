"""The login, second factor and re-authentication forms; the password forms are Django's own."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from . import services

INVALID_TOKEN = "invalid_token"


class LoginForm(AuthenticationForm):
    """Django's login form, with the text fields of the design system."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "utrecht-textbox"


class SecondFactorForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        help_text=_("The six digits your authenticator app shows now, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.device = None

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        self.device = services.verify_second_factor(user=self.user, token=token)
        if self.device is None:
            raise forms.ValidationError(
                _("This code is not right, or it was used already. Wait for a new code and try again."),
                code=INVALID_TOKEN,
            )
        return token


class ReauthenticationForm(SecondFactorForm):
    """The password again, and for staff a code of the second factor too."""

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    field_order = ("password", "token")

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, user=request.user, **kwargs)
        self.request = request
        self.fields["token"].widget.attrs.pop("autofocus")
        if not request.user.needs_second_factor:
            del self.fields["token"]

    def clean_token(self) -> str:
        # A wrong password ends the attempt before a recovery code is used up.
        if self.has_error("password"):
            return self.cleaned_data["token"]
        return super().clean_token()

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        # Through authenticate(), so that django-axes counts a wrong password as a failed login.
        if authenticate(self.request, username=self.user.get_username(), password=password) is None:
            raise forms.ValidationError(_("This password is not right."), code="invalid_password")
        return password


class AuditPeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start: date | None = cleaned.get("start")
        end: date | None = cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end lies before the start."))
        return cleaned
