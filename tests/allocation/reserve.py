"""Helpers for the tests of the grant's life after the decision: decided tranches, amendments, supplementary runs."""

from __future__ import annotations

from decimal import Decimal
from itertools import count

from django.utils import timezone

from allocation import reserve
from allocation.models import AllocationRun
from grants.amendments import confirm_amendment, prepare_amendment
from grants.models import AmendmentKind, Tranche
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory
from tests.figures import allocate

_publications = count(1)


def assessor():
    return UserFactory(password=None, assessor=True)


def approver():
    return UserFactory(password=None, approver=True)


def apply(tranche: Tranche, units: int, municipality: str = "GM0363", **fields):
    """An eligible application of `units` permanent homeless units at € 7,000 each, received after the ones before."""
    return ApplicationFactory(
        eligible=True,
        tranche=tranche,
        municipality__code=municipality,
        lines=[("homeless", units, "permanent")],
        **fields,
    )


def decided(ceiling: str, *unit_counts: int, **tranche_fields):
    """A closed tranche with one application of Amsterdam per unit count, allocated and confirmed."""
    tranche = closed_tranche(budget_ceiling=Decimal(ceiling), **tranche_fields)
    applications = [apply(tranche, units) for units in unit_counts]
    allocate(tranche)
    return tranche, applications


def amend(tranche: Tranche, kind: str, **values) -> None:
    amendment = prepare_amendment(
        tranche=tranche,
        kind=kind,
        publication_reference=f"Stcrt. 2026, {next(_publications)}",
        effective_at=timezone.now(),
        user=assessor(),
        **values,
    )
    confirm_amendment(amendment=amendment, user=approver())


def raise_ceiling(tranche: Tranche, to: str, *, windows: dict[str, str] | None = None) -> None:
    """Raise the tranche's ceiling by a confirmed amendment, then its windows' (the only window's: to the same)."""
    amend(tranche, AmendmentKind.CEILING, new_ceiling=Decimal(to))
    if windows is None:
        (window,) = tranche.windows.all()
        windows = {window.code: to}
    for code, amount in windows.items():
        amend(tranche, AmendmentKind.WINDOW_CEILING, window=tranche.windows.get(code=code), new_amount=Decimal(amount))


def supplementary(tranche: Tranche) -> AllocationRun:
    """Prepare and confirm a supplementary run of the reserve list by two agency users."""
    run = reserve.prepare_supplementary(tranche=tranche, user=assessor())
    return reserve.confirm_supplementary(run=run, user=approver())
