"""Reads of tranches: which are open, and their amendments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Role

from .models import AmendmentStatus, Tranche, TrancheAmendment


def open_tranches(now: datetime | None = None) -> list[Tranche]:
    """Tranches taking applications at `now`, earliest deadline first, with amendments and windows loaded.

    The database narrows the candidates; Tranche.is_open_at decides, so amendments are applied by one rule.
    """
    now = now or timezone.now()
    candidates = (
        Tranche.objects.filter(opens_at__lte=now)
        .filter(Q(closes_at__gt=now) | Q(amendments__new_closes_at__gt=now))
        .distinct()
        .prefetch_related("amendments", "windows")
    )
    return sorted(
        (tranche for tranche in candidates if tranche.is_open_at(now)), key=lambda t: t.closes_at_in_force(now)
    )


@dataclass(frozen=True)
class TrancheHistory:
    """A tranche's ceiling and closing as first published, and every amendment since, in the order they took effect.

    Only confirmed amendments: prepared and discarded ones never counted.
    """

    original_ceiling: Decimal
    original_closes_at: datetime
    amendments: list[TrancheAmendment]


def tranche_history(tranche: Tranche) -> TrancheHistory:
    amendments = tranche.amendments.select_related("window", "prepared_by", "confirmed_by").order_by(
        "effective_at", "kind", "id"
    )
    return TrancheHistory(
        original_ceiling=tranche.budget_ceiling, original_closes_at=tranche.closes_at, amendments=list(amendments)
    )


def amendments_awaiting_confirmation(*, user) -> QuerySet[TrancheAmendment]:
    """The prepared amendments this user may confirm: an approver's, not the ones they prepared (four eyes)."""
    if user.role != Role.AGENCY_APPROVER:
        return TrancheAmendment.all_objects.none()
    return (
        TrancheAmendment.all_objects.filter(status=AmendmentStatus.PREPARED)
        .exclude(prepared_by=user)
        .select_related("tranche", "window", "prepared_by")
        .order_by("effective_at", "pk")
    )
