"""Writes on schemes, tranches, reference data, imported applications, allocation runs and decisions."""

from __future__ import annotations

import calendar
import csv
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from applications.models import Application, Permanence, Status, StatusChange, UnitLine
from applications.services import UnitLineData, record_decision, unit_line_errors

from . import permissions, tasks
from .models import (
    AllocationLine,
    AllocationReason,
    AllocationRun,
    AmendmentKind,
    Decision,
    DecisionOutcome,
    FixedAllocation,
    HousingType,
    LineOutcome,
    Municipality,
    PublishedFigure,
    RentLimit,
    RunStatus,
    Scheme,
    Settlement,
    SettlementLine,
    SettlementStatus,
    TargetGroup,
    Tranche,
    TrancheAmendment,
    TrancheTargetGroup,
    Window,
)
from .selectors import EXCHANGE_COLUMNS, compute_allocation, compute_settlement, granted_per_window

DATA_DIR = Path(__file__).resolve().parent / "data"

logger = logging.getLogger(__name__)


@transaction.atomic
def load_municipalities(*, path: Path = DATA_DIR / "municipalities-2024.csv") -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # Reloaded on every start of the demo: rows already stored as they are cost no queries.
    stored = {
        code: (name, province) for code, name, province in Municipality.objects.values_list("code", "name", "province")
    }
    for row in rows:
        if stored.get(row["code"]) == (row["name"], row["province"]):
            continue
        municipality, _ = Municipality.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"], "province": row["province"]}
        )
        municipality.full_clean()
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
    load_published_figures()


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


@transaction.atomic
def load_published_figures(*, path: Path = DATA_DIR / "published_figures.json") -> int:
    """Create or update the published reference figures (shown beside computed totals) from the data file."""
    items = json.loads(path.read_text(encoding="utf-8"))
    for item in items:
        PublishedFigure.objects.update_or_create(
            code=item["code"],
            defaults={
                "label": item["label"],
                "value": item["value"],
                "definition": item["definition"],
                "source": item["source"],
                "as_of": item["as_of"],
            },
        )
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


def _tranche_created_at(tranche: Tranche) -> datetime | None:
    return (
        tranche.history.filter(history_type="+").order_by("history_date").values_list("history_date", flat=True).first()
    )


def amendment_errors(
    *,
    tranche: Tranche,
    kind: str,
    new_ceiling: Decimal | None,
    new_closes_at: datetime | None,
    effective_at: datetime | None = None,
    publication_reference: str = "",
) -> dict[str, list[str]]:
    """What is wrong with a new amendment of this tranche, by field name.

    A form whose own field validation failed has no instant or reference to give: the checks that need them
    wait until it has. record_amendment always gives both.
    """
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if kind not in AmendmentKind.values:
        add("kind", gettext("Choose what the amendment changes."))
        return errors
    if kind == AmendmentKind.CEILING and (new_ceiling is None or new_ceiling <= 0):
        add("new_ceiling", gettext("Give the new ceiling, in euros."))
    if kind == AmendmentKind.CLOSING:
        if new_closes_at is None:
            add("new_closes_at", gettext("Give the new closing instant."))
        elif new_closes_at <= tranche.opens_at:
            add("new_closes_at", gettext("The new closing must be after the opening."))
    same_kind = [a for a in tranche.amendments.all() if a.kind == kind]
    if publication_reference.strip() in {a.publication_reference for a in same_kind}:
        add(
            "publication_reference",
            gettext("An amendment of this kind from this publication has already been recorded."),
        )
    if effective_at is None:
        return errors
    created_at = _tranche_created_at(tranche)
    if created_at is not None and effective_at < created_at:
        add(
            "effective_at",
            gettext("An amendment cannot take effect before the tranche was created (%(at)s).")
            % {"at": _instant_text(created_at)},
        )
    if any(a.effective_at == effective_at for a in same_kind):
        add("effective_at", gettext("Another amendment of this kind takes effect at the same instant."))
    if kind == AmendmentKind.CLOSING:
        closing = tranche.closes_at_in_force(effective_at)
        if effective_at >= closing:
            add(
                "effective_at",
                gettext("The tranche closed at %(at)s, before this amendment would take effect.")
                % {"at": _instant_text(closing)},
            )
        elif new_closes_at is not None and new_closes_at <= effective_at:
            add("new_closes_at", gettext("The new closing must be after the amendment takes effect."))
    return errors


@transaction.atomic
def record_amendment(
    *,
    tranche: Tranche,
    kind: str,
    publication_reference: str,
    effective_at: datetime,
    new_ceiling: Decimal | None = None,
    new_closes_at: datetime | None = None,
    user,
) -> TrancheAmendment:
    """Record a published change of the ceiling or closing, with the value it replaces.

    The tranche row stays locked until commit, so two amendments recorded at once are checked one after the
    other. A ceiling may not be lowered below what has been granted: grants are not recorded yet, so only a
    positive ceiling is required for now.
    """
    if timezone.is_naive(effective_at):
        raise ValueError("effective_at must be an aware datetime")
    tranche = Tranche.objects.select_for_update().get(pk=tranche.pk)
    if kind == AmendmentKind.CEILING:
        new_closes_at = None
    elif kind == AmendmentKind.CLOSING:
        new_ceiling = None
    publication_reference = publication_reference.strip()
    errors = amendment_errors(
        tranche=tranche,
        kind=kind,
        new_ceiling=new_ceiling,
        new_closes_at=new_closes_at,
        effective_at=effective_at,
        publication_reference=publication_reference,
    )
    if errors:
        raise ValidationError(errors)
    # No other amendment of this kind takes effect at the same instant, so what is in force at effective_at,
    # without this one, is the value just before it.
    amendment = TrancheAmendment(
        tranche=tranche,
        kind=kind,
        publication_reference=publication_reference,
        effective_at=effective_at,
        old_ceiling=tranche.ceiling_at(effective_at) if kind == AmendmentKind.CEILING else None,
        new_ceiling=new_ceiling,
        old_closes_at=tranche.closes_at_in_force(effective_at) if kind == AmendmentKind.CLOSING else None,
        new_closes_at=new_closes_at,
        recorded_by=user,
    )
    amendment.full_clean()
    amendment.save()
    logger.info(
        "tranche %s: %s amendment %s takes effect at %s, recorded by %s",
        tranche.slug,
        kind,
        publication_reference,
        effective_at.isoformat(),
        user,
    )
    return amendment


def _instant_text(instant: datetime) -> str:
    return formats.date_format(timezone.localtime(instant), "DATETIME_FORMAT")


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


# --- importing applications -----------------------------------------------------------------------------

YES_NO = {"yes": True, "no": False}


@dataclass
class _ImportedApplication:
    reference: str
    municipality_id: int
    window: Window
    project_name: str
    received_at: datetime
    first_row: int
    lines: list[UnitLineData]


def _parse_import_row(row: dict, *, tranche: Tranche, lookups: dict) -> tuple[list[str], dict]:
    problems: list[str] = []
    parsed: dict = {}
    reference = (row["reference"] or "").strip()
    if not reference or len(reference) > 30:
        problems.append(gettext("reference must be 1 to 30 characters"))
    parsed["reference"] = reference
    code = (row["municipality_code"] or "").strip()
    parsed["municipality_id"] = lookups["municipalities"].get(code)
    if parsed["municipality_id"] is None:
        problems.append(gettext("unknown municipality code %(code)r") % {"code": code})
    parsed["window"] = lookups["windows"].get((row["window"] or "").strip())
    if parsed["window"] is None:
        problems.append(gettext("unknown window %(code)r in this tranche") % {"code": row["window"]})
    parsed["project_name"] = (row["project_name"] or "").strip()
    if not parsed["project_name"] or len(parsed["project_name"]) > 200:
        problems.append(gettext("project_name must be 1 to 200 characters"))
    received_at = parse_datetime((row["received_at"] or "").strip())
    if received_at is None or received_at.tzinfo is None:
        problems.append(
            gettext("received_at %(value)r is not an ISO 8601 instant with an offset") % {"value": row["received_at"]}
        )
    elif not tranche.is_open_at(received_at):
        problems.append(gettext("received_at %(value)s is outside the tranche's opening") % {"value": received_at})
    parsed["received_at"] = received_at
    group = lookups["groups"].get((row["target_group"] or "").strip())
    if group is None:
        problems.append(gettext("unknown target group %(code)r in this tranche") % {"code": row["target_group"]})
    housing_type = lookups["housing_types"].get((row["housing_type"] or "").strip())
    if housing_type is None:
        problems.append(gettext("unknown housing type %(code)r") % {"code": row["housing_type"]})
    permanence = (row["permanence"] or "").strip()
    if permanence not in Permanence.values:
        problems.append(gettext("permanence must be permanent or flexible, not %(value)r") % {"value": permanence})
    flags = {}
    for column in ("self_contained", "common_room"):
        flags[column] = YES_NO.get((row[column] or "").strip())
        if flags[column] is None:
            problems.append(gettext("%(column)s must be yes or no") % {"column": column})
    try:
        units = int(row["units"])
    except (TypeError, ValueError):
        units = None
    if units is None or units <= 0:
        problems.append(gettext("units must be a whole number of at least 1, not %(value)r") % {"value": row["units"]})
    try:
        amount = Decimal((row["requested_amount"] or "").strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount.as_tuple().exponent < -2:
        problems.append(
            gettext("requested_amount must be an amount in euros such as 7000.00, not %(value)r")
            % {"value": row["requested_amount"]}
        )
        amount = None
    if problems:
        return problems, parsed
    parsed["line"] = UnitLineData(
        target_group=group,
        housing_type=housing_type,
        permanence=permanence,
        units=units,
        self_contained=flags["self_contained"],
        common_room=flags["common_room"],
        requested_amount=amount,
    )
    for messages in unit_line_errors(tranche=tranche, window=parsed["window"], line=parsed["line"]).values():
        problems.extend(messages)
    return problems, parsed


def _application_problems(application: _ImportedApplication, *, tranche: Tranche) -> list[str]:
    problems = []
    units = sum(line.units for line in application.lines)
    if units < tranche.min_units_per_application:
        problems.append(
            gettext("an application needs at least %(min)s units; %(reference)s has %(units)s")
            % {"min": tranche.min_units_per_application, "reference": application.reference, "units": units}
        )
    total = sum((line.requested_amount for line in application.lines), Decimal("0"))
    if tranche.max_per_municipality is not None and total > tranche.max_per_municipality:
        problems.append(
            gettext("%(reference)s asks %(total)s, above the maximum per municipality of %(max)s")
            % {"reference": application.reference, "total": total, "max": tranche.max_per_municipality}
        )
    return problems


def _existing_references(references: list[str]) -> set[str]:
    found: set[str] = set()
    # Chunks keep each query under SQLite's limit on bound parameters.
    for start in range(0, len(references), 900):
        chunk = references[start : start + 900]
        found.update(Application.objects.filter(reference__in=chunk).values_list("reference", flat=True))
    return found


@transaction.atomic
def import_applications(*, tranche: Tranche, stream: TextIO, source: str = "") -> int:
    """Import submitted applications from CSV (one row per unit line) as eligible; all rows or none.

    Rows sharing a reference form one application and must agree on its columns. Receipt and completion
    are both the file's received_at; receipt sequences continue the tranche's, in order of received_at
    and then reference. Raises ValidationError with one "row N: ..." message per problem.
    Returns the number of applications imported.
    """
    tranche = Tranche.objects.prefetch_related("amendments").get(pk=tranche.pk)
    reader = csv.DictReader(stream)
    missing = [column for column in EXCHANGE_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(gettext("The header lacks the columns: %(columns)s.") % {"columns": ", ".join(missing)})
    lookups = {
        "municipalities": dict(Municipality.objects.values_list("code", "pk")),
        "windows": {w.code: w for w in tranche.windows.prefetch_related("eligible_target_groups")},
        "groups": {g.code: g for g in tranche.target_groups.all()},
        "housing_types": {h.code: h for h in HousingType.objects.all()},
    }
    errors: list[str] = []
    applications: dict[str, _ImportedApplication] = {}
    for number, row in enumerate(reader, start=2):
        if None in row or None in row.values():
            errors.append(gettext("row %(row)s: expected %(n)s columns") % {"row": number, "n": len(EXCHANGE_COLUMNS)})
            continue
        problems, parsed = _parse_import_row(row, tranche=tranche, lookups=lookups)
        application = applications.get(parsed["reference"])
        if application is None and not problems:
            application = applications[parsed["reference"]] = _ImportedApplication(
                reference=parsed["reference"],
                municipality_id=parsed["municipality_id"],
                window=parsed["window"],
                project_name=parsed["project_name"],
                received_at=parsed["received_at"],
                first_row=number,
                lines=[],
            )
        elif application is not None:
            for column, key, ours in (
                ("municipality_code", "municipality_id", application.municipality_id),
                ("window", "window", application.window),
                ("project_name", "project_name", application.project_name),
                ("received_at", "received_at", application.received_at),
            ):
                if parsed.get(key) is not None and parsed[key] != ours:
                    problems.append(
                        gettext("%(column)s differs from row %(first)s of %(reference)s")
                        % {"column": column, "first": application.first_row, "reference": application.reference}
                    )
        errors.extend(gettext("row %(row)s: %(problem)s") % {"row": number, "problem": p} for p in problems)
        if not problems:
            application.lines.append(parsed["line"])
    if not applications and not errors:
        errors.append(gettext("The file has no applications."))
    for application in applications.values():
        errors.extend(
            gettext("row %(row)s: %(problem)s") % {"row": application.first_row, "problem": problem}
            for problem in _application_problems(application, tranche=tranche)
        )
    for reference in sorted(_existing_references(list(applications))):
        errors.append(
            gettext("row %(row)s: reference %(reference)s already exists")
            % {"row": applications[reference].first_row, "reference": reference}
        )
    if errors:
        raise ValidationError(errors)
    return _create_imported(tranche=tranche, applications=list(applications.values()), source=source)


def _create_imported(*, tranche: Tranche, applications: list[_ImportedApplication], source: str) -> int:
    locked = Tranche.objects.select_for_update().get(pk=tranche.pk)
    applications.sort(key=lambda a: (a.received_at, a.reference))
    first = locked.last_receipt_number + 1
    now = timezone.now()
    created = Application.objects.bulk_create(
        [
            Application(
                reference=item.reference,
                receipt_sequence=sequence,
                municipality_id=item.municipality_id,
                tranche=tranche,
                window=item.window,
                project_name=item.project_name,
                status=Status.ELIGIBLE,
                received_at=item.received_at,
                completed_at=item.received_at,
            )
            for sequence, item in enumerate(applications, start=first)
        ],
        batch_size=2000,
    )
    UnitLine.objects.bulk_create(
        (
            UnitLine(
                application=application,
                target_group=line.target_group,
                housing_type=line.housing_type,
                permanence=line.permanence,
                self_contained=line.self_contained,
                common_room=line.common_room,
                units=line.units,
                requested_amount=line.requested_amount,
            )
            for application, item in zip(created, applications, strict=True)
            for line in item.lines
        ),
        batch_size=2000,
    )
    reason = gettext("Imported from %(source)s.") % {"source": source or "CSV"}
    StatusChange.objects.bulk_create(
        (
            change
            for application in created
            for change in (
                StatusChange(
                    application=application, to_status=Status.SUBMITTED, at=application.received_at, reason=reason
                ),
                StatusChange(
                    application=application,
                    from_status=Status.SUBMITTED,
                    to_status=Status.ELIGIBLE,
                    at=now,
                    reason=reason,
                ),
            )
        ),
        batch_size=2000,
    )
    Tranche.objects.filter(pk=tranche.pk).update(last_receipt_number=first + len(created) - 1)
    logger.info("imported %s applications into %s from %s", len(created), tranche.slug, source or "CSV")
    return len(created)


# --- allocation and decisions ---------------------------------------------------------------------------


def _deny(verdict: tuple[bool, str]) -> None:
    allowed, reason = verdict
    if not allowed:
        raise PermissionDenied(reason)


def _refuse_if_confirmed(*, tranche: Tranche, window: Window | None) -> None:
    confirmed = AllocationRun.objects.filter(tranche=tranche, status=RunStatus.CONFIRMED)
    if window is not None:
        confirmed = confirmed.filter(Q(window__isnull=True) | Q(window=window))
    if confirmed.exists():
        raise ValidationError(gettext("This window already has a confirmed allocation."))


@transaction.atomic
def prepare_allocation(
    *, tranche: Tranche, user, window: Window | None = None, seed: int | None = None, now: datetime | None = None
) -> AllocationRun:
    """Rank and allocate as a preview and store it, with its inputs and rules, for a second user to confirm.

    Without a seed a random one is drawn and recorded; window=None allocates every window of the tranche.
    """
    _deny(permissions.can_prepare_allocation(user))
    if window is not None and window.tranche_id != tranche.pk:
        raise ValidationError({"window": gettext("This window is not part of the tranche.")})
    _refuse_if_confirmed(tranche=tranche, window=window)
    now = now or timezone.now()
    seed = secrets.randbelow(10**9) if seed is None else seed
    computed = compute_allocation(tranche=tranche, window=window, seed=seed, at=now)
    run = AllocationRun.objects.create(
        tranche=tranche,
        window=window,
        seed=seed,
        prepared_by=user,
        prepared_at=now,
        ceiling=computed.ceiling,
        requested_total=computed.requested,
        proposed_total=computed.proposed,
        oversubscription=computed.oversubscription,
        inputs=computed.inputs,
        rules=computed.rules,
    )
    AllocationLine.objects.bulk_create(
        (
            AllocationLine(
                run=run,
                application_id=computed.application_ids[line.candidate.reference],
                window=computed.windows[result.code],
                rank=line.rank,
                category=line.category,
                drawn=line.drawn,
                requested=line.requested,
                proposed=line.proposed,
                cumulative=line.cumulative,
                outcome=line.outcome,
                reason=line.reason,
            )
            for result in computed.results
            for line in result.lines
        ),
        batch_size=2000,
    )
    logger.info("allocation run %s prepared by %s for %s (seed %s)", run.public_id, user, tranche.slug, seed)
    return run


@transaction.atomic
def discard_allocation(*, run: AllocationRun, user) -> None:
    _deny(permissions.can_discard_allocation(user, run))
    run = AllocationRun.objects.select_for_update().get(pk=run.pk)
    _deny(permissions.can_discard_allocation(user, run))
    run.delete()


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


DECISION_OUTCOMES = {
    LineOutcome.FUNDED: DecisionOutcome.GRANTED,
    LineOutcome.PARTIAL: DecisionOutcome.PARTIALLY_GRANTED,
    LineOutcome.RESERVE: DecisionOutcome.REFUSED,
    LineOutcome.REFUSED: DecisionOutcome.REFUSED,
}


def _decision(line: AllocationLine, *, tranche: Tranche, decided_on: date) -> Decision:
    decision = Decision(
        application=line.application,
        run=line.run,
        outcome=DECISION_OUTCOMES[line.outcome],
        requested=line.requested,
        amount=line.proposed,
        reason=line.reason,
        decision_date=decided_on,
    )
    if decision.outcome != DecisionOutcome.REFUSED:
        decision.start_construction_by = add_months(decided_on, tranche.months_to_start)
        decision.complete_by = add_months(decided_on, tranche.months_to_complete)
        decision.units_available_until = add_months(decision.complete_by, 12 * tranche.years_for_target_groups)
    return decision


def _check_ceilings(*, tranche: Tranche, lines: list[AllocationLine], now: datetime) -> None:
    """With this run's grants added, no window and not the tranche may go over its ceiling."""
    totals = granted_per_window(tranche=tranche)
    for line in lines:
        totals[line.window_id] = totals.get(line.window_id, Decimal("0")) + line.proposed
    windows = list(tranche.windows.all())
    tranche_total = sum(totals.values(), Decimal("0"))
    ceiling = tranche.ceiling_at(now)
    over = tranche_total > ceiling
    if tranche.transfer_unused_between_windows:
        over = over or tranche_total > sum((w.budget_ceiling for w in windows), Decimal("0"))
    else:
        over = over or any(totals.get(w.pk, Decimal("0")) > w.budget_ceiling for w in windows)
    if over:
        raise ValidationError(
            gettext("Confirming would take the grants over a budget ceiling; prepare a new allocation.")
        )


@transaction.atomic
def confirm_allocation(
    *, run: AllocationRun, user, now: datetime | None = None, generate_letters: bool = True
) -> AllocationRun:
    """Four-eyes confirmation: issue the run's decisions and move every application to its decided status.

    The tranche row is locked for the whole transaction, so confirmations of one tranche happen one at a
    time and each sees the grants of the one before. Decision letters follow after commit; with
    generate_letters=False each letter is made when it is first downloaded instead.
    """
    _deny(permissions.can_confirm_allocation(user, run))
    now = now or timezone.now()
    tranche = Tranche.objects.select_for_update().prefetch_related("amendments").get(pk=run.tranche_id)
    run = AllocationRun.objects.select_for_update().get(pk=run.pk)
    _deny(permissions.can_confirm_allocation(user, run))
    _refuse_if_confirmed(tranche=tranche, window=run.window)
    lines = list(run.lines.select_related("application", "run"))
    in_scope = Application.objects.filter(tranche=tranche, status=Status.ELIGIBLE)
    if run.window_id is not None:
        in_scope = in_scope.filter(window_id=run.window_id)
    if set(in_scope.values_list("pk", flat=True)) != {line.application_id for line in lines}:
        raise ValidationError(
            gettext("The eligible applications have changed since this preview was prepared; prepare a new one.")
        )
    _check_ceilings(tranche=tranche, lines=lines, now=now)
    run.status, run.approved_by, run.confirmed_at = RunStatus.CONFIRMED, user, now
    run.save(update_fields=["status", "approved_by", "confirmed_at"])
    decided_on = timezone.localdate(now)
    Decision.objects.bulk_create(
        [_decision(line, tranche=tranche, decided_on=decided_on) for line in lines], batch_size=2000
    )
    with translation.override(settings.LANGUAGE_CODE):
        for line in lines:
            record_decision(
                application=line.application,
                user=user,
                status=DECISION_OUTCOMES[line.outcome],
                reason=str(AllocationReason(line.reason).label),
            )
    logger.info("allocation run %s confirmed by %s: %s decisions", run.public_id, user, len(lines))
    if generate_letters:
        transaction.on_commit(partial(tasks.generate_decision_letters.delay, run.pk))
    transaction.on_commit(tasks.refresh_totals.delay)
    return run


def render_decision_letter(*, decision: Decision) -> str:
    """The decision letter (beschikking) as HTML, in Dutch."""
    application = decision.application
    lines = application.unit_lines.select_related("target_group", "housing_type")
    with translation.override("nl"):
        return render_to_string(
            "grants/decision_letter.html",
            {
                "decision": decision,
                "application": application,
                "municipality": application.municipality,
                "tranche": decision.run.tranche,
                "scheme": decision.run.tranche.scheme,
                "lines": lines,
                "units": sum(line.units for line in lines),
                "reason": AllocationReason(decision.reason).label,
            },
        )


def generate_decision_letter(*, decision_id: int) -> bool:
    """Render and store one decision letter as HTML and PDF; False when it already exists."""
    with transaction.atomic():
        decision = (
            Decision.objects.select_for_update(of=("self",))
            .select_related("application__municipality", "run__tranche__scheme")
            .get(pk=decision_id)
        )
        if decision.letter_pdf:
            return False
        # WeasyPrint takes half a second to import; only letter generation needs it.
        from weasyprint import HTML

        html = render_decision_letter(decision=decision)
        name = f"beschikking-{decision.application.reference}"
        decision.letter_html.save(f"{name}.html", ContentFile(html.encode("utf-8")), save=False)
        decision.letter_pdf.save(f"{name}.pdf", ContentFile(HTML(string=html).write_pdf()), save=False)
        decision.save(update_fields=["letter_html", "letter_pdf"])
    return True


def generate_decision_letters(*, run: AllocationRun) -> int:
    """Letters for every decision of a run that has none yet; returns how many were made."""
    pending = run.decisions.filter(letter_pdf="").values_list("pk", flat=True)
    return sum(generate_decision_letter(decision_id=pk) for pk in list(pending))


# --- settlement -----------------------------------------------------------------------------------------


def _settlement_errors(*, decision: Decision, completed: bool, today: date) -> list[str]:
    problems = []
    if decision.outcome == DecisionOutcome.REFUSED or decision.amount <= 0:
        problems.append(gettext("Only a grant can be settled; this application was refused."))
    elif Settlement.objects.filter(decision=decision).exists():
        problems.append(gettext("This grant already has a settlement; discard a prepared one to prepare it again."))
    elif not completed and today <= decision.complete_by:
        problems.append(
            gettext("A grant is settled once its project is reported complete or its completion deadline has passed.")
        )
    return problems


@transaction.atomic
def prepare_settlement(*, decision: Decision, user, now: datetime | None = None) -> Settlement:
    """Settle a grant from its latest progress report, for a second user with the approver role to confirm."""
    _deny(permissions.can_prepare_settlement(user))
    decision = Decision.objects.select_for_update().select_related("application").get(pk=decision.pk)
    now = now or timezone.now()
    computed = compute_settlement(decision=decision)
    completed = computed.report is not None and computed.report.completed_on is not None
    problems = _settlement_errors(decision=decision, completed=completed, today=timezone.localdate(now))
    if problems:
        raise ValidationError(problems)
    settlement = Settlement.objects.create(
        decision=decision,
        progress_report=computed.report,
        units_granted=computed.units_granted,
        units_realised=computed.units_realised,
        amount_paid=computed.amount_paid,
        amount_settled=computed.amount_settled,
        amount_reclaimed=computed.amount_reclaimed,
        prepared_by=user,
        prepared_at=now,
    )
    SettlementLine.objects.bulk_create(
        SettlementLine(
            settlement=settlement,
            unit_line=line.unit_line,
            units_granted=line.units_granted,
            units_realised=line.units_realised,
            amount_granted=line.amount_granted,
            amount_settled=line.amount_settled,
        )
        for line in computed.lines
    )
    logger.info(
        "settlement %s of %s prepared by %s: settled %s, reclaim %s",
        settlement.public_id,
        decision.application.reference,
        user,
        settlement.amount_settled,
        settlement.amount_reclaimed,
    )
    return settlement


@transaction.atomic
def confirm_settlement(*, settlement: Settlement, user, now: datetime | None = None) -> Settlement:
    """Four-eyes confirmation; a confirmed settlement is final and the totals are refreshed after commit."""
    _deny(permissions.can_confirm_settlement(user, settlement))
    settlement = Settlement.objects.select_for_update().select_related("decision__application").get(pk=settlement.pk)
    _deny(permissions.can_confirm_settlement(user, settlement))
    latest = settlement.decision.application.progress_reports.filter(is_latest=True).values_list("pk", flat=True)
    if settlement.progress_report_id != next(iter(latest), None):
        raise ValidationError(
            gettext("A newer progress report has come in since this settlement was prepared; prepare it again.")
        )
    settlement.status = SettlementStatus.CONFIRMED
    settlement.approved_by = user
    settlement.confirmed_at = now or timezone.now()
    settlement.save(update_fields=["status", "approved_by", "confirmed_at"])
    logger.info("settlement %s confirmed by %s", settlement.public_id, user)
    transaction.on_commit(tasks.refresh_totals.delay)
    return settlement


@transaction.atomic
def discard_settlement(*, settlement: Settlement, user) -> None:
    _deny(permissions.can_discard_settlement(user, settlement))
    settlement = Settlement.objects.select_for_update().get(pk=settlement.pk)
    _deny(permissions.can_discard_settlement(user, settlement))
    settlement.delete()
