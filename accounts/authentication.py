"""The classes REST_FRAMEWORK names in config/settings.py: token authentication, throttles and pages (docs/api.md).

A module of their own: DRF imports them while it defines its views, so they may not import rest_framework.views.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from .tokens import token_for_key

# --- authentication -------------------------------------------------------------------------------------


class TokenRefused(exceptions.AuthenticationFailed):
    default_code = "invalid_token"


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` with a token of accounts.tokens.

    A staff user's second factor guards their browser session; a token is issued only from such a session, so
    it carries that check with it (docs/api.md).
    """

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise TokenRefused(_("Send the token as: Authorization: Bearer <token>."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            key = ""
        token = token_for_key(key) if key else None
        if token is None:
            raise TokenRefused(_("The token is unknown, has expired or has been revoked."))
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


# --- throttles and pages --------------------------------------------------------------------------------


class UserThrottle(UserRateThrottle):
    """Requests per user; the rate is read from REST_FRAMEWORK on every request, so that settings can change it.

    Every endpoint asks for a login first, so a request without one is refused before it could be counted.
    """

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200
