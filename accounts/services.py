"""Writes on users and their groups."""

from __future__ import annotations

import logging

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

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
    },
    "realisation": {
        # Progress reports are the municipality's; settlements are prepared and confirmed through admin actions.
        "progressreport": ("view",),
        "realisedunits": ("view",),
        "grantfollowup": ("view",),
        "settlement": ("view",),
        "settlementline": ("view",),
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
