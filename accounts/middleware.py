"""The second factor of staff on every page, and sessions that end when they are left idle (docs/security.md)."""

from __future__ import annotations

import time
from functools import partial

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django_otp import user_has_device

from .security import LAST_ACTIVITY, second_factor_verified

# What a logged-in user who still owes their second factor may open: leaving, the language, and the pages that
# take the second factor. Password reset links arrive by e-mail and log nobody in.
OPEN_BEFORE_SECOND_FACTOR = frozenset(
    {
        "login",
        "logout",
        "set_language",
        "accounts:second_factor",
        "accounts:password_reset",
        "accounts:password_reset_done",
        "accounts:password_reset_confirm",
        "accounts:password_reset_complete",
    }
)
# The health checks (config.health) answer load balancers, which have no session: neither middleware reads one there.
WITHOUT_SESSION_PATHS = ("/health/",)
# Enrolling an authenticator is open only to those who have none: otherwise a stolen password would be enough to
# add the thief's own.
OPEN_FOR_ENROLMENT = frozenset({"two_factor:setup", "two_factor:qr"})
# Moving the end of an active session on writes the session; once a minute is precise enough.
ACTIVITY_RESOLUTION = 60


class SecondFactorMiddleware:
    """Sends staff who have not yet given their second factor to the page that asks it, whatever they open.

    Takes the place of django-otp's OTPMiddleware: `user.is_verified()` reads the session, where django-otp notes
    the device that verified the user, instead of loading that device on every request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user = SimpleLazyObject(partial(_with_verification, request, request.user))
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(WITHOUT_SESSION_PATHS):
            return None
        user = request.user
        if not user.is_authenticated or not user.needs_second_factor or user.is_verified():
            return None
        view_name = request.resolver_match.view_name
        if view_name in OPEN_BEFORE_SECOND_FACTOR:
            return None
        if user_has_device(user):
            return redirect_to_login(request.get_full_path(), reverse("accounts:second_factor"))
        if view_name in OPEN_FOR_ENROLMENT:
            return None
        # Without `next`: the set-up ends on the page that offers recovery codes.
        return redirect("two_factor:setup")


def _with_verification(request, user):
    user.is_verified = partial(second_factor_verified, request)
    return user


class SessionActivityMiddleware:
    """Keeps a logged-in session alive while it is used; SESSION_COOKIE_AGE of idleness ends it.

    Rather than saving the session on every request (SESSION_SAVE_EVERY_REQUEST), this saves it when the last
    save is a minute old: a session then ends between SESSION_COOKIE_AGE and one minute less after the last use.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(WITHOUT_SESSION_PATHS) and SESSION_KEY in request.session:
            now = int(time.time())
            if now - request.session.get(LAST_ACTIVITY, 0) >= ACTIVITY_RESOLUTION:
                request.session[LAST_ACTIVITY] = now
        return self.get_response(request)
