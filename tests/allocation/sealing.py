"""Helpers for allocation tests: a tranche that has closed, and a seed sealed from an external draw."""

from datetime import timedelta

from django.utils import timezone

from allocation.services import confirm_external_seed, enter_external_seed
from grants.models import Tranche
from tests.factories import TrancheFactory, UserFactory

NOTARY = "Notaris Jansen, Utrecht, akte 2023-0417"


def closed_tranche(**fields) -> Tranche:
    """A tranche that opened sixty days ago and closed a minute ago: allocation may begin."""
    now = timezone.now()
    fields.setdefault("opens_at", now - timedelta(days=60))
    fields.setdefault("closes_at", now - timedelta(minutes=1))
    return TrancheFactory(**fields)


def seal(tranche: Tranche, seed: int, **when) -> None:
    """Seal `seed` as the seed of an external draw: one agency user enters it, another confirms it."""
    enter_external_seed(
        tranche=tranche, user=UserFactory(password=None, assessor=True), seed=seed, reference=NOTARY, **when
    )
    confirm_external_seed(tranche=tranche, user=UserFactory(password=None, approver=True), seed=seed, **when)
