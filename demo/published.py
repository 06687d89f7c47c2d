"""Fictitious applications to the tranches 2021, 2022 and 2023 that reproduce their published outcomes.

One spec per tranche holds the published figures; one generator turns a spec into unit-line rows in the import
format of `import_applications`. The projects, amounts per application and receipt instants are invented (every
project name says "fictief"); only the totals are real. The money rules (maximum per unit and per municipality,
receipt number prefix) come from the tranche's file in grants/tranches/, so the rows keep to the file.

Published figures, with their sources:

- 2021 (RVO, July 2024): 124 projects from 83 municipalities, 8,086 units: 6,335 dwellings and 1,751 short-stay
  units. Neither the split by target group, nor permanent against flexible, nor the amount granted was
  published. The split below is invented; every unit asks the maximum of the tranche file (€ 5,000 per dwelling,
  € 2,500 per short-stay unit), € 36,052,500 in all, so the € 50 M ceiling funds every application, as it did.
- 2022 (RVO, July 2024): 107 projects from 76 municipalities, € 52,135,000 granted (the raised ceiling), 7,725
  units: 2,959 permanent and 4,766 flexible. The split by target group is invented. Only funded applications are
  made: the number of applications received and the amount requested were not published, and reserve
  applications would put an invented oversubscription on the dashboard and in the progress letter. Most arrive
  before the first closing on 24 Oct 2022, the rest after the reopening on 15 Nov 2022.
- 2023 (progress letter, June 2024): 131 applications from 85 municipalities asking € 49,160,354 against a ceiling
  of € 34,705,000; 97 applications from 66 municipalities granted for 4,365 units (1,432 permanent, 2,933
  flexible), split over ten target groups as published.

The funded applications of a tranche add up to its amount granted to the euro, and reserve applications (2023)
arrive only on days after the last funded one, so a same-day lottery cannot change who is funded, whatever its
seed. Reserve applications are not checked against a municipal cap: only 2023 has them, and it has no cap.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
GRANTS_DIR = Path(__file__).resolve().parent.parent / "grants"


@dataclass(frozen=True)
class UnitGroup:
    """Granted units of one target group (its code in the tranche file) and housing type, over some applications."""

    target_group: str
    housing_type: str
    units: int
    applications: int
    self_contained: bool = True


@dataclass(frozen=True)
class ReceiptPeriod:
    """Working days on which some applications arrive, between 09:00 and 17:00 Europe/Amsterdam."""

    first_day: date
    last_day: date
    applications: int


@dataclass(frozen=True)
class Reserve:
    """Applications received after the day the ceiling is reached, left unfunded; counts include the funded ones."""

    applications_received: int
    municipalities_applied: int
    requested: int
    first_day: date
    last_day: date
    asked_per_unit: int


@dataclass(frozen=True)
class PublishedTranche:
    slug: str
    seed: int
    granted_applications: int
    granted_municipalities: int
    granted_amount: int
    units_permanent: int
    unit_groups: tuple[UnitGroup, ...]
    receipt_periods: tuple[ReceiptPeriod, ...]
    reserve: Reserve | None = None
    window: str = "all"

    def __post_init__(self) -> None:
        made = {
            sum(group.applications for group in self.unit_groups),
            sum(p.applications for p in self.receipt_periods),
        }
        if made != {self.granted_applications}:
            raise ValueError(f"{self.slug}: unit groups and receipt periods must each make {self.granted_applications}")

    @property
    def units(self) -> int:
        return sum(group.units for group in self.unit_groups)


# RVO, results of the tranches (July 2024): 124 projects, 83 municipalities, 6,335 dwellings + 1,751 short-stay
# units. Invented: the split by target group and housing type, 4,350 permanent units, the amount (the maxima).
TRANCHE_2021 = PublishedTranche(
    slug="rha-2021",
    seed=2021,
    granted_applications=124,
    granted_municipalities=83,
    granted_amount=6_335 * 5_000 + 1_751 * 2_500,
    units_permanent=4_350,
    unit_groups=(
        UnitGroup("labour_migrants", "short_stay", 1_751, 14, self_contained=False),
        UnitGroup("labour_migrants", "regular", 450, 6),
        UnitGroup("status_holders", "regular", 1_700, 22),
        UnitGroup("students", "room", 1_200, 16, self_contained=False),
        UnitGroup("urgency", "regular", 1_250, 20),
        UnitGroup("homeless", "clustered", 750, 18),
        UnitGroup("leaving_institution", "clustered", 700, 16),
        UnitGroup("caravan_dwellers", "caravan_pitch", 285, 12),
    ),
    receipt_periods=(ReceiptPeriod(date(2021, 10, 28), date(2021, 12, 17), 124),),
)

# RVO, results of the tranches (July 2024): 107 projects, 76 municipalities, € 52,135,000, 2,959 permanent +
# 4,766 flexible units. Invented: the split by target group and housing type, the receipt days.
TRANCHE_2022 = PublishedTranche(
    slug="rha-2022",
    seed=2022,
    granted_applications=107,
    granted_municipalities=76,
    granted_amount=52_135_000,
    units_permanent=2_959,
    unit_groups=(
        UnitGroup("status_holders", "regular", 2_350, 24),
        UnitGroup("students", "room", 1_650, 16, self_contained=False),
        UnitGroup("urgency", "regular", 1_300, 18),
        UnitGroup("labour_migrants", "regular", 905, 12),
        UnitGroup("leaving_institution", "clustered", 700, 13),
        UnitGroup("homeless", "clustered", 620, 14),
        UnitGroup("caravan_dwellers", "caravan_pitch", 200, 10),
    ),
    receipt_periods=(
        ReceiptPeriod(date(2022, 9, 19), date(2022, 10, 21), 92),
        ReceiptPeriod(date(2022, 11, 15), date(2022, 11, 25), 15),
    ),
)

# Progress letter "Een thuis voor iedereen", June 2024: the 4th tranche as published, units by target group too.
# Invented: the housing types and the receipt days.
TRANCHE_2023 = PublishedTranche(
    slug="rha-2023",
    seed=2023,
    granted_applications=97,
    granted_municipalities=66,
    granted_amount=34_705_000,
    units_permanent=1_432,
    unit_groups=(
        UnitGroup("labour_migrants", "regular", 175, 6),
        UnitGroup("homeless", "clustered", 103, 8),
        UnitGroup("leaving_institution_under_27", "clustered", 140, 9),
        UnitGroup("leaving_institution_27_plus", "regular", 118, 7),
        UnitGroup("status_holders", "regular", 629, 14),
        UnitGroup("students", "room", 1_857, 14, self_contained=False),
        UnitGroup("caravan_dwellers", "caravan_pitch", 166, 10),
        UnitGroup("social_urgency", "regular", 671, 14),
        UnitGroup("medical_urgency", "care_suited", 186, 7),
        UnitGroup("displaced_ukraine", "regular", 320, 8),
    ),
    receipt_periods=(ReceiptPeriod(date(2023, 5, 30), date(2023, 6, 16), 97),),
    reserve=Reserve(
        applications_received=131,
        municipalities_applied=85,
        requested=49_160_354,
        first_day=date(2023, 6, 19),
        last_day=date(2023, 7, 7),
        asked_per_unit=8_000,
    ),
)

PUBLISHED_TRANCHES = {spec.slug: spec for spec in (TRANCHE_2021, TRANCHE_2022, TRANCHE_2023)}


@dataclass(frozen=True)
class MoneyRules:
    """What the tranche file says an application may ask: euros per unit by kind, and per municipality."""

    receipt_prefix: str
    per_permanent_unit: int
    per_flexible_unit: int
    per_short_stay_unit: int | None
    per_municipality: int | None

    def per_unit(self, *, housing_type: str, permanence: str) -> int:
        if housing_type in _short_stay_types():
            if self.per_short_stay_unit is None:
                raise ValueError(f"short-stay units ({housing_type}) are not eligible in this tranche")
            return self.per_short_stay_unit
        return self.per_permanent_unit if permanence == "permanent" else self.per_flexible_unit

    def most_units(self, housing_type: str) -> int | None:
        """The most units of this housing type one application has: it asks at most half the municipal cap, so
        every municipality has room for a second application."""
        if self.per_municipality is None:
            return None
        per_unit = max(self.per_unit(housing_type=housing_type, permanence=p) for p in ("permanent", "flexible"))
        return self.per_municipality // 2 // per_unit


def _euros(value: str | None) -> int | None:
    return None if value is None else int(Decimal(value))


@cache
def _short_stay_types() -> frozenset[str]:
    housing_types = json.loads((GRANTS_DIR / "data" / "housing_types.json").read_text(encoding="utf-8"))
    return frozenset(item["code"] for item in housing_types if item["is_short_stay"])


def money_rules(slug: str) -> MoneyRules:
    data = json.loads((GRANTS_DIR / "tranches" / f"{slug}.json").read_text(encoding="utf-8"))
    return MoneyRules(
        receipt_prefix=data["receipt_prefix"],
        per_permanent_unit=_euros(data["max_per_permanent_unit"]),
        per_flexible_unit=_euros(data["max_per_flexible_unit"]),
        per_short_stay_unit=_euros(data.get("max_per_short_stay_unit")),
        per_municipality=_euros(data["max_per_municipality"]),
    )


def _partition(rng: random.Random, total: int, parts: int, largest: int | None = None) -> list[int]:
    """`total` cut at random into `parts` positive parts; parts above `largest` give their excess to the smallest."""
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    if largest is None:
        return sizes
    if total > largest * parts:
        raise ValueError(f"{total} units do not fit in {parts} applications of at most {largest}")
    while (biggest := max(sizes)) > largest:
        big, small = sizes.index(biggest), sizes.index(min(sizes))
        moved = min(biggest - largest, largest - sizes[small])
        sizes[big] -= moved
        sizes[small] += moved
    return sizes


def _instants(rng: random.Random, period: ReceiptPeriod) -> list[datetime]:
    first = datetime.combine(period.first_day, datetime.min.time(), tzinfo=AMSTERDAM)
    days = [first + timedelta(days=n) for n in range((period.last_day - period.first_day).days + 1)]
    working_days = [day for day in days if day.weekday() < 5]
    instants = [
        rng.choice(working_days).replace(hour=9) + timedelta(seconds=rng.randrange(8 * 3600))
        for _ in range(period.applications)
    ]
    return sorted(instants)


# Stages of a granted application's unit lines: (unit group, units), then with permanent or flexible, then with
# the euros the line asks.
Sized = tuple[UnitGroup, int]
Unpriced = tuple[UnitGroup, int, str]
Line = tuple[UnitGroup, int, str, int]


def _with_permanence(applications: list[Sized], units_permanent: int) -> list[list[Unpriced]]:
    """Permanent until `units_permanent` is reached; the application that crosses it gets a flexible second line."""
    result = []
    permanent_left = units_permanent
    for group, units in applications:
        if permanent_left >= units:
            result.append([(group, units, "permanent")])
            permanent_left -= units
        elif permanent_left > 0:
            result.append([(group, permanent_left, "permanent"), (group, units - permanent_left, "flexible")])
            permanent_left = 0
        else:
            result.append([(group, units, "flexible")])
    return result


def _with_amounts(applications: list[list[Unpriced]], *, granted: int, rules: MoneyRules) -> list[list[Line]]:
    """Every unit asks the same share of its maximum, rounded down to the euro; the euros left over go to the
    first lines, each up to its maximum, so that the lines add up to `granted` exactly."""
    with_maxima = [
        [
            (group, units, permanence, rules.per_unit(housing_type=group.housing_type, permanence=permanence))
            for group, units, permanence in lines
        ]
        for lines in applications
    ]
    every_line = [line for lines in with_maxima for line in lines]
    most = sum(units * maximum for _, units, _, maximum in every_line)
    if granted > most:
        raise ValueError(f"€ {granted} is more than these units may ask (€ {most})")
    left = granted - sum(units * (granted * maximum // most) for _, units, _, maximum in every_line)
    result = []
    for lines in with_maxima:
        priced = []
        for group, units, permanence, maximum in lines:
            rate = granted * maximum // most
            extra = min(left, (maximum - rate) * units)
            left -= extra
            priced.append((group, units, permanence, rate * units + extra))
        result.append(priced)
    return result


def _municipalities(rng: random.Random, amounts: list[int], distinct: list[str], *, cap: int | None) -> list[str]:
    """The first applications each get one of `distinct`; the others one of those with room under the cap."""
    chosen = distinct[: len(amounts)]
    asked: Counter[str] = Counter()
    for code, amount in zip(chosen, amounts[: len(chosen)], strict=True):
        asked[code] += amount
    for amount in amounts[len(distinct) :]:
        room = distinct if cap is None else [code for code in distinct if asked[code] + amount <= cap]
        if not room:
            raise ValueError(f"no municipality has room for € {amount} under the cap of € {cap}")
        code = rng.choice(room)
        asked[code] += amount
        chosen.append(code)
    return chosen


def rows(spec: PublishedTranche, *, municipality_codes: list[str]) -> list[dict[str, str]]:
    """Unit-line rows in the import format of `import_applications`, in receipt order; the same every time."""
    rules = money_rules(spec.slug)
    rng = random.Random(spec.seed)
    reserve = spec.reserve
    applied = reserve.municipalities_applied if reserve else spec.granted_municipalities
    chosen = rng.sample(sorted(municipality_codes), applied)
    granted_municipalities = chosen[: spec.granted_municipalities]

    sizes: list[Sized] = []
    for group in spec.unit_groups:
        largest = rules.most_units(group.housing_type)
        sizes.extend((group, units) for units in _partition(rng, group.units, group.applications, largest))
    rng.shuffle(sizes)
    granted = _with_amounts(_with_permanence(sizes, spec.units_permanent), granted=spec.granted_amount, rules=rules)
    municipalities = _municipalities(
        rng,
        [sum(amount for *_, amount in lines) for lines in granted],
        granted_municipalities,
        cap=rules.per_municipality,
    )
    instants = [instant for period in spec.receipt_periods for instant in _instants(rng, period)]

    result = []
    for number, (municipality, lines, instant) in enumerate(zip(municipalities, granted, instants, strict=True), 1):
        for group, units, permanence, amount in lines:
            result.append(_row(rules, number, municipality, spec.window, instant, group, permanence, units, amount))
    if reserve:
        result.extend(_reserve_rows(rng, spec, rules, granted_municipalities, chosen[spec.granted_municipalities :]))
    return result


def _reserve_rows(
    rng: random.Random,
    spec: PublishedTranche,
    rules: MoneyRules,
    granted_municipalities: list[str],
    reserve_only: list[str],
) -> list[dict[str, str]]:
    reserve = spec.reserve
    count = reserve.applications_received - spec.granted_applications
    instants = _instants(rng, ReceiptPeriod(reserve.first_day, reserve.last_day, count))
    municipalities = reserve_only + rng.sample(granted_municipalities, count - len(reserve_only))
    rng.shuffle(municipalities)
    total = reserve.requested - spec.granted_amount
    weights = [rng.randint(50, 150) for _ in range(count)]
    amounts = [total * weight // sum(weights) for weight in weights]
    amounts[-1] += total - sum(amounts)
    result = []
    for number, (municipality, instant, amount) in enumerate(
        zip(municipalities, instants, amounts, strict=True), start=spec.granted_applications + 1
    ):
        group = rng.choice(spec.unit_groups)
        units = -(-amount // reserve.asked_per_unit)
        permanence = rng.choice(["permanent", "flexible"])
        result.append(_row(rules, number, municipality, spec.window, instant, group, permanence, units, amount))
    return result


def _row(
    rules: MoneyRules,
    number: int,
    municipality: str,
    window: str,
    instant: datetime,
    group: UnitGroup,
    permanence: str,
    units: int,
    amount: int,
) -> dict[str, str]:
    return {
        "reference": f"{rules.receipt_prefix}-{number:04d}",
        "municipality_code": municipality,
        "window": window,
        "project_name": f"Fictief project {number:03d}",
        "received_at": instant.isoformat(),
        "target_group": group.target_group,
        "housing_type": group.housing_type,
        "permanence": permanence,
        "self_contained": "yes" if group.self_contained else "no",
        "common_room": "no",
        "units": str(units),
        "requested_amount": str(Decimal(amount)),
    }
