"""Fictitious applications to the 2023 tranche that reproduce its published outcome.

The ministry's progress letter of June 2024 reports for the 4th tranche (2023): 131 applications from
85 municipalities asking €49,160,354 against a ceiling of €34,705,000; 97 applications from 66
municipalities granted for 4,365 units (1,432 permanent, 2,933 flexible), split over ten target groups.
The projects, amounts per application and receipt instants below are invented (every project name says
"fictief"); only the totals are real. They come out exactly through the real import and allocation:
the 97 applications received before the day the ceiling is exceeded add up to the ceiling to the euro,
so the same-day lottery on that day cannot change who is funded, whatever its seed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

CEILING = 34_705_000
REQUESTED = 49_160_354
GRANTED_APPLICATIONS = 97
GRANTED_MUNICIPALITIES = 66
ALL_APPLICATIONS = 131
ALL_MUNICIPALITIES = 85
UNITS_PERMANENT = 1_432

# Target group code in the 2023 tranche file -> (granted units, applications, housing type, self-contained).
GRANTED_UNITS = {
    "labour_migrants": (175, 6, "regular", True),
    "homeless": (103, 8, "clustered", True),
    "leaving_institution_under_27": (140, 9, "clustered", True),
    "leaving_institution_27_plus": (118, 7, "regular", True),
    "status_holders": (629, 14, "regular", True),
    "students": (1_857, 14, "room", False),
    "caravan_dwellers": (166, 10, "caravan_pitch", True),
    "social_urgency": (671, 14, "regular", True),
    "medical_urgency": (186, 7, "care_suited", True),
    "displaced_ukraine": (320, 8, "regular", True),
}
RATE = 7_950  # euros per unit asked by every granted line; the remainder of the ceiling goes to the first line


def _partition(rng: random.Random, total: int, parts: int) -> list[int]:
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def _instants(rng: random.Random, count: int, first_day: datetime, last_day: datetime) -> list[datetime]:
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    working_days = [day for day in days if day.weekday() < 5]
    instants = [
        rng.choice(working_days).replace(hour=9) + timedelta(seconds=rng.randrange(8 * 3600)) for _ in range(count)
    ]
    return sorted(instants)


def rows(*, municipality_codes: list[str], window: str, seed: int = 2023) -> list[dict[str, str]]:
    """Unit-line rows in the import format of `import_applications`, in receipt order."""
    rng = random.Random(seed)
    chosen = rng.sample(sorted(municipality_codes), ALL_MUNICIPALITIES)
    granted_municipalities = chosen[:GRANTED_MUNICIPALITIES]
    reserve_only = chosen[GRANTED_MUNICIPALITIES:]

    granted = []  # (municipality, [(group, units, housing_type, self_contained)])
    for group, (units, applications, housing_type, self_contained) in GRANTED_UNITS.items():
        for part in _partition(rng, units, applications):
            granted.append([(group, part, housing_type, self_contained)])
    rng.shuffle(granted)
    municipalities = granted_municipalities + [
        rng.choice(granted_municipalities) for _ in range(GRANTED_APPLICATIONS - GRANTED_MUNICIPALITIES)
    ]

    # Permanent until 1,432 units are reached; the application that crosses it gets a flexible second line.
    lines_by_application = []
    permanent_left = UNITS_PERMANENT
    for lines in granted:
        group, units, housing_type, self_contained = lines[0]
        if permanent_left >= units:
            lines_by_application.append([(group, units, housing_type, self_contained, "permanent")])
            permanent_left -= units
        elif permanent_left > 0:
            lines_by_application.append(
                [
                    (group, permanent_left, housing_type, self_contained, "permanent"),
                    (group, units - permanent_left, housing_type, self_contained, "flexible"),
                ]
            )
            permanent_left = 0
        else:
            lines_by_application.append([(group, units, housing_type, self_contained, "flexible")])

    granted_instants = _instants(
        rng, GRANTED_APPLICATIONS, datetime(2023, 5, 30, tzinfo=AMSTERDAM), datetime(2023, 6, 16, tzinfo=AMSTERDAM)
    )
    reserve_count = ALL_APPLICATIONS - GRANTED_APPLICATIONS
    reserve_instants = _instants(
        rng, reserve_count, datetime(2023, 6, 19, tzinfo=AMSTERDAM), datetime(2023, 7, 7, tzinfo=AMSTERDAM)
    )
    reserve_municipalities = reserve_only + rng.sample(granted_municipalities, reserve_count - len(reserve_only))
    rng.shuffle(reserve_municipalities)

    reserve_total = REQUESTED - CEILING
    weights = [rng.randint(50, 150) for _ in range(reserve_count)]
    reserve_amounts = [reserve_total * w // sum(weights) for w in weights]
    reserve_amounts[-1] += reserve_total - sum(reserve_amounts)

    result = []
    remainder = CEILING - RATE * sum(units for lines in granted for _, units, *_ in lines)
    for number, (municipality, lines, instant) in enumerate(
        zip(municipalities, lines_by_application, granted_instants, strict=True), start=1
    ):
        for group, units, housing_type, self_contained, permanence in lines:
            amount = RATE * units + remainder
            remainder = 0
            result.append(
                _row(
                    number,
                    municipality,
                    window,
                    instant,
                    group,
                    housing_type,
                    permanence,
                    self_contained,
                    units,
                    amount,
                )
            )
    reserve_groups = list(GRANTED_UNITS)
    for offset, (municipality, instant, amount) in enumerate(
        zip(reserve_municipalities, reserve_instants, reserve_amounts, strict=True)
    ):
        group = rng.choice(reserve_groups)
        _, _, housing_type, self_contained = GRANTED_UNITS[group]
        units = -(-amount // 8_000)
        permanence = rng.choice(["permanent", "flexible"])
        number = GRANTED_APPLICATIONS + offset + 1
        result.append(
            _row(number, municipality, window, instant, group, housing_type, permanence, self_contained, units, amount)
        )
    return result


def _row(number, municipality, window, instant, group, housing_type, permanence, self_contained, units, amount):
    return {
        "reference": f"RHA-2023-{number:04d}",
        "municipality_code": municipality,
        "window": window,
        "project_name": f"Fictief project {number:03d}",
        "received_at": instant.isoformat(),
        "target_group": group,
        "housing_type": housing_type,
        "permanence": permanence,
        "self_contained": "yes" if self_contained else "no",
        "common_room": "no",
        "units": str(units),
        "requested_amount": str(Decimal(amount)),
    }
