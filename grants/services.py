"""Writes on schemes, tranches and reference data."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from .models import (
    HousingType,
    Municipality,
    Scheme,
    TargetGroup,
    Tranche,
    TrancheAmendment,
    TrancheTargetGroup,
    Window,
)

DATA_DIR = Path(__file__).resolve().parent / "data"


@transaction.atomic
def load_municipalities(*, path: Path = DATA_DIR / "municipalities-2024.csv") -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        municipality, _ = Municipality.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"], "province": row["province"]}
        )
        municipality.full_clean()
    return len(rows)


@transaction.atomic
def load_reference_data() -> None:
    """Municipalities, national target groups and housing types, idempotently."""
    load_municipalities()
    for item in json.loads((DATA_DIR / "target_groups.json").read_text(encoding="utf-8")):
        TargetGroup.objects.update_or_create(code=item["code"], defaults={"name": item["name"]})
    for item in json.loads((DATA_DIR / "housing_types.json").read_text(encoding="utf-8")):
        HousingType.objects.update_or_create(
            code=item["code"], defaults={"name": item["name"], "is_short_stay": item["is_short_stay"]}
        )


def _instant(value: str, field: str):
    parsed = parse_datetime(value) if value else None
    if parsed is None or parsed.tzinfo is None:
        raise ValidationError({field: f"{value!r} is not an ISO 8601 instant with an offset"})
    return parsed


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


TRANCHE_FIELDS = (
    "number",
    "year",
    "title",
    "source",
    "min_units_per_application",
    "months_to_start",
    "months_to_complete",
    "years_for_target_groups",
    "ranking_instant",
    "last_application_rule",
    "transfer_unused_between_windows",
    "receipt_prefix",
    "required_attachments",
)
MONEY_FIELDS = (
    "budget_ceiling",
    "max_per_permanent_unit",
    "max_per_flexible_unit",
    "max_per_short_stay_unit",
    "max_per_municipality",
)


@transaction.atomic
def load_tranche(*, data: dict) -> Tranche:
    """Create or update a tranche, its target groups, windows and amendments from its file's content.

    The format is documented in README.md ("Tranche files"). Amendments are matched on their
    publication reference and kind, so loading the same file twice changes nothing.
    """
    scheme_data = data["scheme"]
    scheme, _ = Scheme.objects.update_or_create(
        code=scheme_data["code"],
        defaults={"name": scheme_data["name"], "legal_basis": scheme_data.get("legal_basis", "")},
    )
    defaults = {field: data[field] for field in TRANCHE_FIELDS if field in data}
    defaults.update({field: _money(data.get(field)) for field in MONEY_FIELDS if field in data})
    defaults["opens_at"] = _instant(data["opens_at"], "opens_at")
    defaults["closes_at"] = _instant(data["closes_at"], "closes_at")
    tranche, _ = Tranche.objects.update_or_create(scheme=scheme, slug=data["slug"], defaults=defaults)
    tranche.full_clean(exclude=["scheme"])

    groups = {}
    for item in data["target_groups"]:
        groups[item["code"]], _ = TrancheTargetGroup.objects.update_or_create(
            tranche=tranche,
            code=item["code"],
            defaults={
                "name": item["name"],
                "national_group": TargetGroup.objects.get(code=item["national_group"]),
            },
        )
    window_total = Decimal("0")
    for item in data["windows"]:
        window, _ = Window.objects.update_or_create(
            tranche=tranche,
            code=item["code"],
            defaults={
                "name": item["name"],
                "budget_ceiling": _money(item["budget_ceiling"]),
                "ranking_method": item.get("ranking_method", "first_come"),
                "category_rule": item.get("category_rule", ""),
                "tie_break": item.get("tie_break", "receipt"),
            },
        )
        window.eligible_target_groups.set([groups[code] for code in item["target_groups"]])
        window_total += window.budget_ceiling

    for item in data.get("amendments", []):
        kind = item["kind"]
        TrancheAmendment.objects.update_or_create(
            tranche=tranche,
            kind=kind,
            publication_reference=item["publication_reference"],
            defaults={
                "effective_at": _instant(item["effective_at"], "effective_at"),
                "old_ceiling": _money(item.get("old_ceiling")),
                "new_ceiling": _money(item.get("new_ceiling")),
                "old_closes_at": _instant(item["old_closes_at"], "old_closes_at")
                if item.get("old_closes_at")
                else None,
                "new_closes_at": _instant(item["new_closes_at"], "new_closes_at")
                if item.get("new_closes_at")
                else None,
            },
        )
    highest_ceiling = max([tranche.budget_ceiling, *(a.new_ceiling for a in tranche.amendments.all() if a.new_ceiling)])
    if window_total > highest_ceiling:
        raise ValidationError({"windows": f"windows add up to {window_total}, above the ceiling {highest_ceiling}"})
    return tranche
