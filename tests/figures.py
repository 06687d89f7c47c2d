"""Helpers for the ministry's totals, dashboard, letter and API tests: a varied set of decided applications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from allocation.services import confirm_allocation, prepare_allocation
from applications.models import Status
from applications.services import withdraw_application
from grants.models import AmendmentKind, HousingType, TargetGroup, Tranche, TrancheAmendment, TrancheTargetGroup
from tests.factories import ApplicationFactory, TrancheFactory, UnitLineFactory, UserFactory
from tests.portal import client_for as client_for


def user(**traits):
    """A user who logs in with force_login only: no password, because hashing one takes half a second."""
    return UserFactory(password=None, **traits)


def close(tranche: Tranche) -> None:
    """Close the tranche now: allocation waits for the closing."""
    Tranche.objects.filter(pk=tranche.pk).update(closes_at=timezone.now())
    tranche.refresh_from_db(fields=["closes_at"])


def allocate(tranche: Tranche) -> None:
    """Close the tranche, then prepare and confirm an allocation of every window by two agency users.

    The first preview seals a seed the system draws; the helpers' applications are never drawn by lot. Letters are
    made when first downloaded, as the service does without a worker: a test that needs them all at once makes them.
    """
    close(tranche)
    run = prepare_allocation(tranche=tranche, user=user(assessor=True))
    confirm_allocation(run=run, user=user(approver=True), generate_letters=False)


def application(tranche: Tranche, municipality: str, lines: list[tuple], *, minutes: int, status=Status.ELIGIBLE):
    """An application with lines (tranche group code, units, permanence, housing type code), received in order."""
    received_at = timezone.now() - timedelta(days=1) + timedelta(minutes=minutes)
    if status == Status.DRAFT:
        made = ApplicationFactory(tranche=tranche, municipality__code=municipality, lines=[])
    else:
        made = ApplicationFactory(
            eligible=True,
            status=status,
            tranche=tranche,
            municipality__code=municipality,
            received_at=received_at,
            completed_at=received_at,
            lines=[],
        )
    for group, units, permanence, housing_type in lines:
        UnitLineFactory(
            application=made,
            group_code=group,
            units=units,
            permanence=permanence,
            housing_type=HousingType.objects.get(code=housing_type),
        )
    return made


@dataclass(frozen=True)
class VariedData:
    older: Tranche
    newer: Tranche
    empty: Tranche


def varied_data(*, older_slug: str | None = None) -> VariedData:
    """Two allocated tranches and one without applications; every number below is checked by hand in tests.

    Older tranche (number 4, 2023), window ceiling € 100.000, raised to € 120.000 after allocating:
      1. GM0344 Utrecht: 5 permanent homeless (regular) + 3 flexible students (room)  € 56.000  granted
      2. GM0363 Amsterdam: 10 flexible social urgency (clustered)                   € 70.000  partially € 44.000
      3. GM0344 Utrecht: 2 permanent medical urgency (care-suited)                   € 14.000  refused (reserve)
      4. GM0599 Rotterdam: withdrawn; 5. GM0599 Rotterdam: draft — neither counts.
    Newer tranche (number 5, 2024), ceiling € 1.000.000:
      6. GM0363 Amsterdam: 4 permanent homeless (regular)                            € 28.000  granted
      7. GM0014 Groningen: 2 permanent caravan dwellers (caravan pitch)              € 14.000  granted
    """
    slug = {"slug": older_slug} if older_slug else {}
    older = TrancheFactory(number=4, year=2023, budget_ceiling=Decimal("100000.00"), **slug)
    urgency = TargetGroup.objects.get(code="urgency")
    for code, name in [("social_urgency", "Sociale urgentie"), ("medical_urgency", "Medische urgentie")]:
        group = TrancheTargetGroup.objects.create(tranche=older, code=code, name=name, national_group=urgency)
        older.windows.get().eligible_target_groups.add(group)
    application(
        older,
        "GM0344",
        [("homeless", 5, "permanent", "regular"), ("students", 3, "flexible", "room")],
        minutes=1,
    )
    application(older, "GM0363", [("social_urgency", 10, "flexible", "clustered")], minutes=2)
    application(older, "GM0344", [("medical_urgency", 2, "permanent", "care_suited")], minutes=3)
    withdrawn = application(older, "GM0599", [("homeless", 7, "permanent", "regular")], minutes=4)
    withdraw_application(application=withdrawn, user=user(signatory=True, municipality__code="GM0599"), reason="x")
    application(older, "GM0599", [("homeless", 9, "permanent", "regular")], minutes=5, status=Status.DRAFT)
    allocate(older)
    TrancheAmendment.objects.create(
        tranche=older,
        kind=AmendmentKind.CEILING,
        publication_reference="Stcrt. 2023, 1",
        effective_at=timezone.now() - timedelta(hours=1),
        old_ceiling=Decimal("100000.00"),
        new_ceiling=Decimal("120000.00"),
    )

    newer = TrancheFactory(number=5, year=2024, budget_ceiling=Decimal("1000000.00"))
    application(newer, "GM0363", [("homeless", 4, "permanent", "regular")], minutes=6)
    application(newer, "GM0014", [("caravan_dwellers", 2, "permanent", "caravan_pitch")], minutes=7)
    allocate(newer)

    empty = TrancheFactory(number=6, year=2025, budget_ceiling=Decimal("500000.00"))
    return VariedData(older=older, newer=newer, empty=empty)


def more_data() -> Tranche:
    """One more allocated tranche with applications of four municipalities, to show reads do not grow with data."""
    tranche = TrancheFactory(number=7, year=2026)
    for minutes, municipality in enumerate(["GM0344", "GM0363", "GM0014", "GM0599"], start=10):
        lines = [("homeless", 3, "permanent", "regular"), ("students", 2, "flexible", "room")]
        application(tranche, municipality, lines, minutes=minutes)
    allocate(tranche)
    return tranche
