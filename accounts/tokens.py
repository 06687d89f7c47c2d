"""API tokens: issued to their owner from a logged-in session, used by machines, expiring, revocable (docs/api.md).

A token is `thf_` and 43 random characters. Only its SHA-256 is stored, so a copy of the database holds no usable
token; the owner sees the token once, when it is issued. Looking a token up by its hash leaks nothing through timing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ApiToken, AuditAction, User
from .services import record_audit

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "thf_"
SHOWN_PREFIX_LENGTH = 12
DEFAULT_DAYS = 90
MAX_DAYS = 365
# Writing the last use on every request would make each API call a write; once a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@transaction.atomic
def issue_api_token(
    *, user: User, name: str, days: int = DEFAULT_DAYS, request=None, now: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for `user`, valid for `days` days; returns the row and the key, which is not kept."""
    if not name.strip():
        raise ValidationError({"name": _("Give the token a name, such as the system that will use it.")})
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError({"days": _("A token is valid for 1 to %(max)s days.") % {"max": MAX_DAYS}})
    now = now or timezone.now()
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=key[:SHOWN_PREFIX_LENGTH],
        key_hash=_hash(key),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    record_audit(action=AuditAction.API_TOKEN, request=request, actor=user, target=token, detail="issued")
    return token, key


@transaction.atomic
def revoke_api_token(*, token: ApiToken, user: User, request=None, now: datetime | None = None) -> ApiToken:
    """End a token at once. Only its owner revokes it; revoking twice changes nothing."""
    if token.user_id != user.pk:
        raise ValueError("only the owner revokes a token")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = now or timezone.now()
        token.save(update_fields=["revoked_at"])
        record_audit(action=AuditAction.API_TOKEN, request=request, actor=user, target=token, detail="revoked")
    return token


def token_for_key(key: str, *, now: datetime | None = None) -> ApiToken | None:
    """The usable token with this key, its active owner loaded; None when unknown, expired or revoked."""
    now = now or timezone.now()
    token = (
        ApiToken.objects.usable(now)
        .select_related("user", "user__municipality")
        .filter(key_hash=_hash(key), user__is_active=True)
        .first()
    )
    if token is not None and (token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
