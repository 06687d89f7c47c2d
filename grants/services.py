"""Writes on the tranche rules: reference data, tranche files, back-office edits and fixed allocations.

Amendments (prepare, confirm, discard) are written by grants.amendments.

The first stage: it reads and writes grants models only, never applications or allocation runs.
"""

from __future__ import annotations

import csv
import json
import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from .models import (
    WRITTEN_KINDS,
    AmendmentKind,
    AmendmentStatus,
    FixedAllocation,
    HousingType,
    Municipality,
    RentLimit,
    Scheme,
    TargetGroup,
    Tranche,
    TrancheAmendment,
    TrancheTargetGroup,
    Window,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
# The tranche files: one JSON file per call, as published (grants/tranches/README.md).
TRANCHES_DIR = Path(__file__).resolve().parent / "tranches"

logger = logging.getLogger(__name__)


@transaction.atomic
def load_municipalities(*, path: Path = DATA_DIR / "municipalities-2024.csv") -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # Reloaded on every start of the demo and after every test that empties the tables: rows already stored as
    # they are cost no queries, and the others are written in two statements.
    stored = {municipality.code: municipality for municipality in Municipality.objects.all()}
    new, changed = [], []
    for row in rows:
        municipality = stored.get(row["code"])
        if municipality is None:
            municipality = Municipality(code=row["code"])
            new.append(municipality)
        elif (municipality.name, municipality.province) == (row["name"], row["province"]):
            continue
        else:
            changed.append(municipality)
        municipality.name, municipality.province = row["name"], row["province"]
        # The code's uniqueness and format are the database's to enforce as well, in the statements below.
        municipality.full_clean(validate_unique=False, validate_constraints=False)
    Municipality.objects.bulk_create(new)
    Municipality.objects.bulk_update(changed, ["name", "province"])
    return len(rows)


@transaction.atomic
def load_reference_data() -> None:
    """Municipalities, national target groups, housing types and rent limits, idempotently."""
    load_municipalities()
    for item in json.loads((DATA_DIR / "target_groups.json").read_text(encoding="utf-8")):
        TargetGroup.objects.update_or_create(code=item["code"], defaults={"name": item["name"]})
    for item in json.loads((DATA_DIR / "housing_types.json").read_text(encoding="utf-8")):
        HousingType.objects.update_or_create(
            code=item["code"], defaults={"name": item["name"], "is_short_stay": item["is_short_stay"]}
        )
    load_rent_limits()


@transaction.atomic
def load_rent_limits(*, path: Path = DATA_DIR / "rent_limits.json") -> int:
    """Create or update the rent limits per year from the data file; years not in the file are left alone."""
    items = json.loads(path.read_text(encoding="utf-8"))
    for item in items:
        limit = RentLimit.objects.filter(year=item["year"]).first() or RentLimit(year=item["year"])
        limit.aftoppingsgrens = Decimal(item["aftoppingsgrens"])
        limit.max_starting_rent = Decimal(item["max_starting_rent"])
        limit.max_yearly_increase_percent = Decimal(item["max_yearly_increase_percent"])
        limit.source = item["source"]
        # Checked before saving, so that a wrong value reads as a message rather than a database error.
        limit.full_clean()
        limit.save()
    return len(items)


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
    "information_term_days",
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


def _refuse_taken(tranche: Tranche, field: str, **lookup) -> None:
    other = Tranche.objects.filter(**lookup).exclude(slug=tranche.slug).first()
    if other is not None:
        raise ValidationError({field: f"{getattr(tranche, field)!r} is already used by tranche {other.slug}"})


def _written_by_amendments(tranche: Tranche) -> tuple[dict[str, Decimal | None], dict[str, Decimal]]:
    """Tranche fields, and window ceilings by window code, as the tranche's confirmed amendments last wrote them."""
    fields, window_ceilings = {}, {}
    if tranche.pk is None:
        return fields, window_ceilings
    amendments = (
        TrancheAmendment.objects.filter(tranche=tranche, kind__in=WRITTEN_KINDS)
        .select_related("window")
        .order_by("confirmed_at", "pk")
    )
    for amendment in amendments:
        if amendment.kind == AmendmentKind.WINDOW_CEILING:
            window_ceilings[amendment.window.code] = amendment.new_amount
        else:
            fields[amendment.unit_kind or "max_per_municipality"] = amendment.new_amount
    return fields, window_ceilings


@transaction.atomic
def load_tranche(*, data: dict) -> Tranche:
    """Create or update a tranche, its target groups, windows and amendments from its file's content.

    The format is documented in docs/rules.md ("Tranche files"). Amendments are matched on their
    publication reference and kind, so loading the same file twice changes nothing. A window ceiling or maximum
    that a confirmed amendment changed keeps its amended value: the file holds it as first published.
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
    tranche = Tranche.objects.filter(slug=data["slug"]).first() or Tranche(slug=data["slug"])
    amended_fields, amended_window_ceilings = _written_by_amendments(tranche)
    defaults.update(amended_fields)
    tranche.scheme = scheme
    for field, value in defaults.items():
        setattr(tranche, field, value)
    _refuse_taken(tranche, "number", scheme=scheme, number=tranche.number)
    _refuse_taken(tranche, "receipt_prefix", receipt_prefix=tranche.receipt_prefix)
    # Checked before saving, so that a bad file reads as a message naming the field, not as a database error.
    tranche.full_clean()
    tranche.save()

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
                "budget_ceiling": amended_window_ceilings.get(item["code"], _money(item["budget_ceiling"])),
                "ranking_method": item.get("ranking_method", "first_come"),
                "category_rule": item.get("category_rule", ""),
                "tie_break": item.get("tie_break", "receipt"),
            },
        )
        window.eligible_target_groups.set([groups[code] for code in item["target_groups"]])
        window_total += window.budget_ceiling

    for item in data.get("amendments", []):
        kind = item["kind"]
        if kind not in (AmendmentKind.CEILING, AmendmentKind.CLOSING):
            raise ValidationError({"amendments": f"{kind!r}: a file records only ceiling and closing amendments"})
        # Published facts: confirmed as loaded, also when the back office had prepared the same one.
        TrancheAmendment.all_objects.exclude(status=AmendmentStatus.DISCARDED).update_or_create(
            tranche=tranche,
            kind=kind,
            publication_reference=item["publication_reference"],
            defaults={
                "status": AmendmentStatus.CONFIRMED,
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


# Once a tranche has opened, these change only by a confirmed amendment (grants.amendments); its opening no
# longer changes at all, or moving it later would lift this guard.
AMENDED_TRANCHE_FIELDS = (
    "opens_at",
    "closes_at",
    "budget_ceiling",
    "max_per_permanent_unit",
    "max_per_flexible_unit",
    "max_per_short_stay_unit",
    "max_per_municipality",
)
AMENDED_WINDOW_FIELDS = ("budget_ceiling",)


def _direct_change_errors(row: Tranche | Window, changes: dict, guarded: tuple[str, ...]) -> dict[str, list[str]]:
    errors = {}
    for field in guarded:
        if field not in changes or changes[field] == getattr(row, field):
            continue
        if field == "opens_at":
            errors[field] = [gettext("The tranche has opened: its opening can no longer be changed.")]
        else:
            errors[field] = [
                gettext("The tranche has opened: %(field)s can no longer be changed directly; record an amendment.")
                % {"field": row._meta.get_field(field).verbose_name}
            ]
    return errors


def tranche_change_errors(*, tranche: Tranche, changes: dict, now: datetime | None = None) -> dict[str, list[str]]:
    """The direct changes of a tranche's fields that are refused: those an amendment makes, once it has opened."""
    if not tranche.has_opened(now or timezone.now()):
        return {}
    return _direct_change_errors(tranche, changes, AMENDED_TRANCHE_FIELDS)


def window_change_errors(*, window: Window, changes: dict, now: datetime | None = None) -> dict[str, list[str]]:
    """As tranche_change_errors, for a window: its ceiling (deelplafond) changes only by an amendment."""
    if not window.tranche.has_opened(now or timezone.now()):
        return {}
    return _direct_change_errors(window, changes, AMENDED_WINDOW_FIELDS)


def _editable(model: type[Tranche] | type[Window], changes: dict) -> None:
    editable = {f.name for f in model._meta.concrete_fields if f.editable and not f.primary_key}
    if not set(changes) <= editable:
        raise TypeError(f"not editable on a {model._meta.model_name}: {sorted(set(changes) - editable)}")


@transaction.atomic
def update_tranche(*, tranche: Tranche, user, **changes) -> Tranche:
    """Change a tranche's own fields from the back office; refused for what only an amendment may change."""
    _editable(Tranche, changes)
    tranche = Tranche.objects.select_for_update().get(pk=tranche.pk)
    errors = tranche_change_errors(tranche=tranche, changes=changes)
    if errors:
        raise ValidationError(errors)
    for field, value in changes.items():
        setattr(tranche, field, value)
    tranche.full_clean()
    tranche._history_user = user
    # Only the changed fields: never a stale receipt counter, which submissions increment meanwhile.
    tranche.save(update_fields=list(changes))
    logger.info("tranche %s: %s changed by %s", tranche.slug, ", ".join(sorted(changes)), user)
    return tranche


@transaction.atomic
def update_window(*, window: Window, user, **changes) -> Window:
    """Change a window's own fields from the back office; its ceiling, once the tranche opened, only by amendment."""
    _editable(Window, changes)
    window = Window.objects.select_for_update().select_related("tranche").get(pk=window.pk)
    errors = window_change_errors(window=window, changes=changes)
    if errors:
        raise ValidationError(errors)
    for field, value in changes.items():
        setattr(window, field, value)
    window.full_clean()
    window._history_user = user
    window.save(update_fields=list(changes))
    logger.info("window %s of %s: %s changed by %s", window.code, window.tranche.slug, ", ".join(sorted(changes)), user)
    return window


# Money columns hold 14 digits, two of them cents.
MAX_AMOUNT = Decimal("1000000000000")


def _money_text(amount: Decimal) -> str:
    return formats.number_format(amount, 2, use_l10n=True, force_grouping=True)


def _fixed_allocation_row_errors(row: dict, municipalities: dict[str, Municipality]) -> tuple[list[str], dict]:
    errors, values = [], {}
    code = (row.get("municipality_code") or "").strip()
    values["municipality"] = municipalities.get(code)
    if values["municipality"] is None:
        errors.append(gettext("unknown municipality code %(code)r") % {"code": code})
    try:
        values["amount"] = Decimal((row.get("amount") or "").strip())
    except InvalidOperation:
        values["amount"] = None
    if values["amount"] is None or not values["amount"].is_finite():
        errors.append(gettext("the amount %(amount)r is not a number like 125000.00") % {"amount": row.get("amount")})
    elif values["amount"] <= 0 or values["amount"] >= MAX_AMOUNT or values["amount"] != round(values["amount"], 2):
        errors.append(gettext("the amount must be more than zero and less than a trillion, in whole cents"))
    units = (row.get("units") or "").strip()
    values["units"] = int(units) if units.isdigit() and int(units) > 0 else None
    if units and values["units"] is None:
        errors.append(gettext("the number of units %(units)r is not a whole number above zero") % {"units": units})
    return errors, values


@transaction.atomic
def import_fixed_allocation(*, tranche: Tranche, rows: list[dict], publication_reference: str) -> list[FixedAllocation]:
    """Store the amounts per municipality of a published annex: every row, or none if any row is wrong.

    Rows are dicts with municipality_code, amount and optionally units, numbered in error messages as in the
    CSV file (the header is row 1). A municipality already allocated in this tranche gets the new amount, so
    importing the same file twice changes nothing.
    """
    if not publication_reference.strip():
        raise ValidationError({"publication_reference": gettext("Give the publication reference of the annex.")})
    tranche = Tranche.objects.select_for_update().get(pk=tranche.pk)
    municipalities = {m.code: m for m in Municipality.objects.all()}
    errors, parsed, first_row_of = [], [], {}
    for number, row in enumerate(rows, start=2):
        row_errors, values = _fixed_allocation_row_errors(row, municipalities)
        municipality = values["municipality"]
        if municipality is not None:
            if municipality.code in first_row_of:
                row_errors.append(
                    gettext("%(code)s is already on row %(row)s")
                    % {"code": municipality.code, "row": first_row_of[municipality.code]}
                )
            else:
                first_row_of[municipality.code] = number
        errors.extend(gettext("Row %(row)s: %(error)s") % {"row": number, "error": error} for error in row_errors)
        parsed.append(values)
    if not parsed and not errors:
        errors.append(gettext("The file has no rows."))
    if errors:
        raise ValidationError(errors)
    allocations = [
        FixedAllocation.objects.update_or_create(
            tranche=tranche,
            municipality=values["municipality"],
            defaults={
                "amount": values["amount"],
                "units": values["units"],
                "publication_reference": publication_reference.strip(),
            },
        )[0]
        for values in parsed
    ]
    total = sum(tranche.fixed_allocations.values_list("amount", flat=True), Decimal("0"))
    ceiling = tranche.ceiling_at(timezone.now())
    if total > ceiling:
        raise ValidationError(
            gettext("The allocations add up to € %(total)s, above the ceiling of € %(ceiling)s.")
            % {"total": _money_text(total), "ceiling": _money_text(ceiling)}
        )
    logger.info(
        "fixed allocation %s imported for %s: %d rows, total %s",
        publication_reference,
        tranche.slug,
        len(parsed),
        total,
    )
    return allocations
