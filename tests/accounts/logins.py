"""Helpers for the login tests: logging in through the login page, and the codes of an authenticator app."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "correct-horse-battery"
LOGIN = reverse("login")


def log_in(client: Client, username: str, password: str = PASSWORD, **extra):
    """Log in through the login page, as a person does: the password only, never the second factor."""
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def authenticator(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def code(device: TOTPDevice) -> str:
    """The code the authenticator app shows now."""
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def recovery_codes(user, *codes: str) -> StaticDevice:
    device = StaticDevice.objects.create(user=user, name="backup", confirmed=True)
    for token in codes:
        device.token_set.create(token=token)
    return device
