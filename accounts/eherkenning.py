"""Organisation login: eHerkenning through an OpenID Connect broker (docs/security.md, "eHerkenning").

The one place that turns the broker's verified claims into a user. mozilla-django-oidc does the protocol: state,
nonce and PKCE, the exchange of the code at the token endpoint, the ID token's signature against the broker's keys.
EHerkenningBackend then reads the ID token's claims, and the mandate (machtiging) decides municipality and role:

- `sub`, the acting person's pseudonym at the broker: the username is derived from it, so that a person's later
  logins find the same user.
- EHERKENNING_ORGANISATION_CLAIM, the organisation acted for: a CBS code (GM0344) is taken as it is, any other
  identifier (a KvK number, an OIN) is looked up in EHERKENNING_ORGANISATIONS.
- EHERKENNING_SERVICE_CLAIM, the service the mandate is for: EHERKENNING_SERVICES maps it to a municipal role.
- EHERKENNING_ASSURANCE_CLAIM: at least EHERKENNING_MIN_ASSURANCE (EH3), which stands in for the second factor
  that staff give after their password.

Every refusal says why (Refusal); accounts.views shows it and writes it to the audit log.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import absolutify

from .models import MUNICIPAL_ROLES, Role, User

logger = logging.getLogger(__name__)

USERNAME_PREFIX = "eh-"
# eHerkenning's levels from low to high, and the names the broker gives them (urn:etoegang:core:assurance-class:…).
ASSURANCE_LEVELS = ("EH1", "EH2", "EH2+", "EH3", "EH4")
LOA_NAMES = {"loa1": "EH1", "loa2": "EH2", "loa2plus": "EH2+", "loa3": "EH3", "loa4": "EH4"}
# The mandate each role needs, as the pages name it; EHERKENNING_SERVICES says which service id gives which role.
MANDATE_NAMES = {
    Role.MUNICIPAL_EDITOR: _("Prepare applications (editor)"),
    Role.MUNICIPAL_SIGNATORY: _("Submit applications (signatory)"),
    Role.MUNICIPAL_FINANCIAL_OFFICER: _("Certify accountability reports (financial officer)"),
}


class Refusal(StrEnum):
    CANCELLED = "cancelled"
    INVALID_RESPONSE = "invalid_response"
    ASSURANCE_TOO_LOW = "assurance_too_low"
    UNKNOWN_ORGANISATION = "unknown_organisation"
    NO_MANDATE = "no_mandate"
    NOT_MUNICIPAL = "not_municipal"
    INACTIVE = "inactive"


class LoginRefused(PermissionDenied):
    """Ends the login: Django's authenticate() stops at a PermissionDenied and tries no other backend."""

    def __init__(self, reason: Refusal, detail: str = "", *, username: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.username = username


@dataclass(frozen=True)
class Mandate:
    """What a verified eHerkenning login says: who acts, for which municipality, in which role, how surely."""

    username: str
    municipality: Model
    role: Role
    service: str
    assurance: str
    first_name: str
    last_name: str
    email: str

    def describe(self) -> str:
        return f"eHerkenning {self.assurance}, {self.municipality.code}, {self.role.value} ({self.service})"


def assurance_level(value: object) -> str | None:
    """EH1 … EH4 for a claim such as urn:etoegang:core:assurance-class:loa3 (or EH3 itself); None if unknown."""
    name = str(value or "").rsplit(":", 1)[-1]
    level = LOA_NAMES.get(name.lower(), name.upper())
    return level if level in ASSURANCE_LEVELS else None


def username_for(subject: str) -> str:
    # A pseudonym may be long and hold any character; its digest is short, stable and says nothing.
    return USERNAME_PREFIX + hashlib.sha256(subject.encode()).hexdigest()[:40]


def _single(value: object) -> str:
    """A claim's value as text; a list counts only when it holds one value."""
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else ""
    return str(value or "").strip()


def read_mandate(claims: dict) -> Mandate:
    """The mandate in verified claims, or LoginRefused saying what is missing."""
    subject = _single(claims.get("sub"))
    if not subject:
        raise LoginRefused(Refusal.INVALID_RESPONSE, "no subject (sub) in the ID token")
    username = username_for(subject)

    minimum = assurance_level(settings.EHERKENNING_MIN_ASSURANCE) or "EH3"
    level = assurance_level(_single(claims.get(settings.EHERKENNING_ASSURANCE_CLAIM)))
    if level is None or ASSURANCE_LEVELS.index(level) < ASSURANCE_LEVELS.index(minimum):
        raise LoginRefused(Refusal.ASSURANCE_TOO_LOW, f"level {level or 'unknown'}, needs {minimum}", username=username)

    organisation = _single(claims.get(settings.EHERKENNING_ORGANISATION_CLAIM))
    code = settings.EHERKENNING_ORGANISATIONS.get(organisation, organisation)
    # accounts comes before grants: the municipality is reached through the user's own relation.
    municipality = User.municipality.field.related_model.objects.filter(code=code).first()
    if municipality is None:
        raise LoginRefused(Refusal.UNKNOWN_ORGANISATION, f"organisation {organisation or '-'}", username=username)

    service = _single(claims.get(settings.EHERKENNING_SERVICE_CLAIM))
    role = settings.EHERKENNING_SERVICES.get(service)
    if role not in MUNICIPAL_ROLES:
        raise LoginRefused(Refusal.NO_MANDATE, f"service {service or '-'} for {code}", username=username)

    return Mandate(
        username=username,
        municipality=municipality,
        role=Role(role),
        service=service,
        assurance=level,
        first_name=_single(claims.get("given_name"))[:150],
        last_name=_single(claims.get("family_name"))[:150],
        email=_single(claims.get("email"))[:254],
    )


@transaction.atomic
def user_for_mandate(mandate: Mandate) -> User:
    """The user of the mandate's person: made at the first login, given the mandate's role and municipality at each.

    A user of that name who is not a municipal user (staff, the back office) is refused: eHerkenning carries no
    staff role, and staff log in with password and second factor.
    """
    fields = {"role": mandate.role, "municipality": mandate.municipality}
    # What the broker leaves out is kept as it was.
    given = {"first_name": mandate.first_name, "last_name": mandate.last_name, "email": mandate.email}
    fields.update((name, value) for name, value in given.items() if value)
    user, created = User.objects.select_for_update().get_or_create(username=mandate.username, defaults=fields)
    if created:
        # Nobody knows a password of this user: there is none.
        user.set_unusable_password()
        user.save(update_fields=["password"])
        logger.info("eherkenning user %s created for %s", user.username, mandate.municipality.code)
        return user
    if not user.is_municipal or user.is_staff or user.is_superuser:
        raise LoginRefused(Refusal.NOT_MUNICIPAL, f"user with role {user.role or '-'}", username=user.username)
    if not user.is_active:
        raise LoginRefused(Refusal.INACTIVE, "the user is deactivated", username=user.username)
    for name, value in fields.items():
        setattr(user, name, value)
    user.save(update_fields=list(fields))
    return user


class EHerkenningBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code flow, with the claims read as a mandate (read_mandate, user_for_mandate)."""

    def authenticate(self, request: HttpRequest | None, **kwargs):
        # Only the callback view passes the nonce: a password login never gets here.
        if request is None or "nonce" not in kwargs:
            return None
        self.OIDC_OP_TOKEN_ENDPOINT = absolutify(request, self.OIDC_OP_TOKEN_ENDPOINT)
        self.OIDC_OP_JWKS_ENDPOINT = absolutify(request, self.OIDC_OP_JWKS_ENDPOINT)
        return super().authenticate(request, **kwargs)

    def verify_token(self, token: str, **kwargs) -> dict:
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        if self.OIDC_RP_CLIENT_ID not in (audience if isinstance(audience, list) else [audience]):
            raise SuspiciousOperation("the ID token is meant for another client")
        return payload

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict) -> User:
        try:
            mandate = read_mandate(payload)
            user = user_for_mandate(mandate)
        except LoginRefused as refusal:
            self.request.eherkenning_refusal = refusal
            raise
        # The audit entry of the login (accounts.receivers) says how the user got in.
        user.login_detail = mandate.describe()
        return user

    def get_user(self, user_id):
        # Django's check of the session's user, which mozilla-django-oidc leaves out: a deactivated user is out.
        return ModelBackend.get_user(self, user_id)


class PasswordBackend(ModelBackend):
    """Passwords, for staff; for municipal users only while MUNICIPAL_PASSWORD_LOGIN is on (the demo's users)."""

    def user_can_authenticate(self, user) -> bool:
        if user.is_municipal and not settings.MUNICIPAL_PASSWORD_LOGIN:
            return False
        return super().user_can_authenticate(user)


def is_eherkenning_attempt(request: HttpRequest, credentials: dict | None) -> bool:
    """For django-axes (AXES_WHITELIST_CALLABLE): an eHerkenning callback is not counted towards a lockout."""
    return bool(credentials) and "nonce" in credentials
