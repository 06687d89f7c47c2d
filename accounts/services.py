"""Writes on users and their groups, on their second factor, and on the audit log."""

from __future__ import annotations

import logging

from axes.helpers import get_client_ip_address
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Model, Q
from django.http import HttpRequest
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import AuditAction, AuditEntry, AuditOutcome, User

logger = logging.getLogger(__name__)

AGENCY_GROUP = "Agency"

# What agency staff may do in the back office, per app and model. Applications are only read there (adding is the
# tranche's CSV import): their status changes go through the admin actions, which call the application services.
# Allocation runs: add prepares, change confirms, delete discards a preview; allocation.permissions decides who may.
AGENCY_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "grants": {
        "scheme": ("view", "add", "change"),
        "tranche": ("view", "add", "change"),
        # Amendments: add prepares, change confirms, delete discards a prepared one; grants.permissions decides who.
        "trancheamendment": ("view", "add", "change", "delete"),
        "tranchetargetgroup": ("view", "add", "change", "delete"),
        "window": ("view", "add", "change", "delete"),
        "municipality": ("view",),
        "targetgroup": ("view",),
        "housingtype": ("view",),
    },
    "applications": {
        "application": ("view", "add"),
        "unitline": ("view",),
        "attachment": ("view",),
        "statuschange": ("view",),
        "informationrequest": ("view",),
    },
    "allocation": {
        "allocationrun": ("view", "add", "change", "delete"),
        "decision": ("view",),
        # add enters the seed of an external draw, change confirms it; allocation.permissions decides who.
        "lotteryseed": ("view", "add", "change"),
        "allocationevent": ("view",),
        # Waivers, withdrawals, objections and letters change through services called from admin pages.
        "waiver": ("view",),
        "withdrawal": ("view",),
        "objection": ("view",),
        "letter": ("view",),
    },
    "realisation": {
        # Progress reports are the municipality's; settlements are prepared and confirmed through admin actions.
        "progressreport": ("view",),
        "realisedunits": ("view",),
        "grantfollowup": ("view",),
        "settlement": ("view",),
        "settlementline": ("view",),
        "changerequest": ("view",),
        "reclaim": ("view",),
        "accountabilityreport": ("view",),
        "accountabilityunits": ("view",),
    },
    "notifications": {
        "reminder": ("view",),
        "delivery": ("view",),
        "deliveryattempt": ("view",),
        "trancheremindersettings": ("view", "add", "change"),
    },
}


@transaction.atomic
def sync_agency_group() -> Group:
    """Create the Agency group or reset its permissions to AGENCY_PERMISSIONS; safe to run twice."""
    wanted = Q(pk__in=[])
    for app_label, models in AGENCY_PERMISSIONS.items():
        for model, actions in models.items():
            wanted |= Q(
                content_type__app_label=app_label,
                content_type__model=model,
                codename__in=[f"{action}_{model}" for action in actions],
            )
    permissions = list(Permission.objects.filter(wanted))
    expected = sum(len(actions) for models in AGENCY_PERMISSIONS.values() for actions in models.values())
    if len(permissions) != expected:
        raise RuntimeError(f"found {len(permissions)} of {expected} agency permissions; run migrate first")
    group, _ = Group.objects.get_or_create(name=AGENCY_GROUP)
    group.permissions.set(permissions)
    logger.info("agency group synchronised with %s permissions", len(permissions))
    return group


def record_audit(
    *,
    action: AuditAction,
    request: HttpRequest | None = None,
    actor: User | None = None,
    actor_name: str = "",
    target: Model | None = None,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    detail: str = "",
    ip_address: str | None = None,
) -> AuditEntry:
    """Append an entry to the audit log, and write it to the application log too.

    The actor and the address come from `request` unless given. Call it once the outcome is known: inside a
    transaction that is rolled back, the entry is rolled back with it.
    """
    if actor is None and request is not None and getattr(request, "user", None) and request.user.is_authenticated:
        actor = request.user
    if ip_address is None and request is not None:
        ip_address = get_client_ip_address(request)
    entry = AuditEntry.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else actor_name,
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:255] if target is not None else "",
        ip_address=ip_address or None,
        outcome=outcome,
        detail=detail,
    )
    logger.info(
        "audit %s %s by %s from %s on %s %s",
        entry.action,
        entry.outcome,
        entry.actor_name or "-",
        entry.ip_address or "-",
        entry.object_type or "-",
        entry.object_id or "-",
    )
    return entry


def verify_second_factor(*, user: User, token: str) -> Device | None:
    """The device that accepts `token`: six digits from the authenticator app, or else a recovery code.

    A recovery code is used up. Each device slows down guessing by itself (django-otp's throttling).
    """
    token = "".join(token.split()).lower()
    model = TOTPDevice if token.isdigit() and len(token) == 6 else StaticDevice
    with transaction.atomic():
        for device in model.objects.devices_for_user(user).select_for_update():
            if device.verify_token(token):
                return device
    return None
