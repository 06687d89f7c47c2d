"""What a login leaves in the session, and the checks that read it (docs/security.md).

The session is server-side, so what it records can be trusted: when the user last gave their password, when they
were last active, and (django-otp's key) which device proved their second factor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

AUTHENTICATED_AT = "accounts_authenticated_at"
LAST_ACTIVITY = "accounts_last_activity"


def mark_authenticated(request: HttpRequest) -> None:
    """The user has just given their password: at login or on the re-authentication page."""
    now = int(time.time())
    request.session[AUTHENTICATED_AT] = now
    request.session[LAST_ACTIVITY] = now


def recently_authenticated(request: HttpRequest, *, max_age: int | None = None) -> bool:
    """Whether the password was given at most `max_age` seconds ago (REAUTHENTICATION_AGE by default)."""
    given = request.session.get(AUTHENTICATED_AT)
    limit = settings.REAUTHENTICATION_AGE if max_age is None else max_age
    return given is not None and time.time() - given <= limit


def second_factor_verified(request: HttpRequest) -> bool:
    return bool(request.session.get(DEVICE_ID_SESSION_KEY))


def forget_second_factor(request: HttpRequest) -> None:
    request.session.pop(DEVICE_ID_SESSION_KEY, None)


def reauthentication_required(view: Callable) -> Callable:
    """For a view or an admin action: when the password is older than REAUTHENTICATION_AGE, ask for it first.

    The re-authentication page returns to the current address; a POST is not replayed, so the user repeats it.
    """

    @wraps(view)
    def checked(*args, **kwargs):
        request = next(arg for arg in args if isinstance(arg, HttpRequest))
        if recently_authenticated(request):
            return view(*args, **kwargs)
        return redirect_to_login(request.get_full_path(), reverse("accounts:reauthenticate"))

    return checked
