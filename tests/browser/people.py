"""The demo's people and open tranche, made as `load_demo` makes them, and the code of the demo authenticator.

The journeys log in as the README's demo users do: with the demo password, and for staff with a code of the demo
authenticator key. Each journey adds only the applications it needs: a live-server test's database is emptied
after it, so whatever a test needs is built anew for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AGENCY_ROLES, User
from accounts.services import sync_agency_group
from demo.loading import DEMO_PASSWORD, DEMO_TOTP_SECRET, DEMO_USERS, demo_tranche_data
from grants.models import Municipality, Tranche
from grants.services import load_tranche


def demo_user(username: str) -> User:
    """The demo user of that name, with the demo password, and for staff the demo authenticator."""
    spec = next(spec for spec in DEMO_USERS if spec.username == username)
    is_agency = spec.role in AGENCY_ROLES
    user = User.objects.create(
        username=spec.username,
        role=spec.role,
        municipality=Municipality.objects.get(code=spec.municipality_code) if spec.municipality_code else None,
        first_name="Demo",
        last_name=spec.description,
        email=f"{spec.username}@demo.thuisfonds.example",
        is_staff=is_agency,
    )
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password"])
    if is_agency:
        user.groups.add(sync_agency_group())
    if user.needs_second_factor:
        TOTPDevice.objects.create(
            user=user, name="default", key=base64.b32decode(DEMO_TOTP_SECRET).hex(), confirmed=True
        )
    return user


def demo_tranche() -> Tranche:
    """The demo tranche as `load_demo` opens it: since yesterday 09:00, for six weeks, one window for every group."""
    return load_tranche(data=demo_tranche_data(now=timezone.now(), existing=None))


def totp_code(secret: str, at: float | None = None) -> str:
    """The code an authenticator app shows for a base32 key now (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits)."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"
