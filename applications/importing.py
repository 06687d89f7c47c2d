"""Writes on applications in the exchange format: importing submitted applications from CSV."""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TextIO

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from accounts.models import AuditAction
from accounts.permissions import enforce
from accounts.services import record_audit
from accounts.spreadsheets import unquoted_cell
from grants.models import HousingType, Municipality, Tranche, Window

from . import permissions
from .models import Application, InformationRequest, Permanence, Status, StatusChange, UnitLine
from .selectors import EXCHANGE_COLUMNS, INFORMATION_COLUMNS, INSTANT_SEPARATOR, own_completion_time
from .services import UnitLineData, unit_line_errors
from .validators import (
    validate_ascii_digits,
    validate_plausible_date,
    validate_single_line_text,
    without_control_characters,
)

logger = logging.getLogger(__name__)

YES_NO = {"yes": True, "no": False}
# Euros with a decimal point, digits 0 to 9 only: Decimal would also read 7_000, 7e3 and ٧٠٠٠.
AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")
# Who the audit log names for an import that no agency user ran (the command without --imported-by, the demo).
SYSTEM_ACTOR = "import"


def _is_valid(validator, value) -> bool:
    try:
        validator(value)
    except ValidationError:
        return False
    return True


@dataclass
class _ImportedApplication:
    reference: str
    municipality_id: int
    window: Window
    project_name: str
    received_at: datetime
    first_row: int
    lines: list[UnitLineData]
    # Answered information requests as (requested, answered) instants, in order.
    information: list[tuple[datetime, datetime]] = field(default_factory=list)


def _parse_instant(text: str) -> datetime | None:
    """An ISO 8601 instant, or None; also None for a well-formed impossible one such as 2023-02-30."""
    try:
        return parse_datetime(text)
    except ValueError:
        return None


def _parse_import_row(row: dict, *, tranche: Tranche, lookups: dict) -> tuple[list[str], dict]:
    problems: list[str] = []
    parsed: dict = {}
    reference = (row["reference"] or "").strip()
    if not reference or len(reference) > 30:
        problems.append(gettext("reference must be 1 to 30 characters"))
    elif not _is_valid(validate_single_line_text, reference):
        problems.append(gettext("reference contains control characters (such as a NUL character)"))
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
    elif not _is_valid(validate_single_line_text, parsed["project_name"]):
        problems.append(gettext("project_name contains control characters (such as a NUL character)"))
    received_at = _parse_instant((row["received_at"] or "").strip())
    if received_at is None or received_at.tzinfo is None:
        problems.append(
            gettext("received_at %(value)r is not an ISO 8601 instant with an offset") % {"value": row["received_at"]}
        )
    elif not tranche.is_open_at(received_at):
        problems.append(gettext("received_at %(value)s is outside the tranche's opening") % {"value": received_at})
    parsed["received_at"] = received_at
    information_problems, parsed["information"] = _parse_information(row, received_at=parsed["received_at"])
    problems.extend(information_problems)
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
    units_text = (row["units"] or "").strip()
    units = int(units_text) if _is_valid(validate_ascii_digits, units_text) else None
    if units is None or units <= 0:
        problems.append(gettext("units must be a whole number of at least 1, not %(value)r") % {"value": row["units"]})
    amount_text = (row["requested_amount"] or "").strip()
    amount = Decimal(amount_text) if AMOUNT.fullmatch(amount_text) else None
    if amount is None:
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


def _parse_instants(row: dict, column: str) -> tuple[list[str], list[datetime]]:
    problems, instants = [], []
    for text in (row.get(column) or "").split(INSTANT_SEPARATOR):
        instant = _parse_instant(text.strip())
        if instant is None or instant.tzinfo is None:
            problems.append(
                gettext("%(column)s %(value)r is not an ISO 8601 instant with an offset")
                % {"column": column, "value": text.strip()}
            )
        elif not _is_valid(validate_plausible_date, instant):
            problems.append(
                gettext("%(column)s %(value)s is not between 2000 and 2100") % {"column": column, "value": instant}
            )
        else:
            instants.append(instant)
    return problems, instants


def _parse_information(
    row: dict, *, received_at: datetime | None
) -> tuple[list[str], list[tuple[datetime, datetime]] | None]:
    """The answered information requests of the optional columns, each after receipt and the previous answer."""
    given = [bool((row.get(column) or "").strip()) for column in INFORMATION_COLUMNS]
    if not any(given):
        return [], []
    if not all(given):
        return [gettext("information_requested_at and information_received_at are both given or both empty")], None
    requested_problems, requested = _parse_instants(row, "information_requested_at")
    received_problems, received = _parse_instants(row, "information_received_at")
    if requested_problems or received_problems:
        return requested_problems + received_problems, None
    if len(requested) != len(received):
        return [
            gettext("information_requested_at has %(requested)s instants but information_received_at %(received)s")
            % {"requested": len(requested), "received": len(received)}
        ], None
    pairs = list(zip(requested, received, strict=True))
    problems = []
    for index, (asked, answered) in enumerate(pairs):
        if index == 0:
            if received_at is not None and asked <= received_at:
                problems.append(
                    gettext("information_requested_at %(value)s is not after received_at") % {"value": asked}
                )
        elif asked <= pairs[index - 1][1]:
            problems.append(
                gettext("information_requested_at %(value)s is not after the previous information_received_at")
                % {"value": asked}
            )
        if answered <= asked:
            problems.append(
                gettext("information_received_at %(value)s is not after its information_requested_at")
                % {"value": answered}
            )
    return problems, None if problems else pairs


def _header_problems(columns: list[str]) -> list[str]:
    """Every required column, the information columns both or neither, nothing unknown and nothing twice."""
    problems = []
    missing = [column for column in EXCHANGE_COLUMNS if column not in columns]
    if missing:
        problems.append(gettext("The header lacks the columns: %(columns)s.") % {"columns": ", ".join(missing)})
    header_problems = [
        gettext("unknown column %(column)r") % {"column": column}
        for column in columns
        if column not in EXCHANGE_COLUMNS + INFORMATION_COLUMNS
    ]
    header_problems.extend(
        gettext("column %(column)r appears more than once") % {"column": column}
        for column in sorted({column for column in columns if columns.count(column) > 1})
    )
    if sum(column in columns for column in INFORMATION_COLUMNS) == 1:
        header_problems.append(
            gettext("information_requested_at and information_received_at are both columns or neither")
        )
    problems.extend(gettext("row %(row)s: %(problem)s") % {"row": 1, "problem": p} for p in header_problems)
    return problems


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


def _unreadable(reader: csv.DictReader, error: csv.Error) -> ValidationError:
    # line_num counts the lines read whole; the one that failed is the next.
    row = reader.line_num + 1
    return ValidationError(
        gettext("row %(row)s: the file cannot be read as CSV (%(error)s)") % {"row": row, "error": error}
    )


def _rows(reader: csv.DictReader) -> Iterator[dict]:
    """The reader's rows; one the csv module cannot read, such as a field above its size limit, rejects the file."""
    try:
        yield from reader
    except csv.Error as error:
        raise _unreadable(reader, error) from None


@transaction.atomic
def import_applications(*, tranche: Tranche, stream: TextIO, source: str = "", user=None) -> int:
    """Import submitted applications from CSV (one row per unit line) as eligible; all rows or none.

    Rows sharing a reference form one application and must agree on its columns. Receipt is the file's
    received_at; the optional information columns give answered information requests, which set completion
    (the last answer) and the ranking instant (receipt plus the municipality's own time). Receipt sequences
    continue the tranche's, in order of received_at and then reference. Raises ValidationError with one
    "row N: ..." message per problem. Returns the number of applications imported.

    `user` is the agency user who imports: the status changes and the audit log name them. Without one the status
    changes have no actor and the audit log names the system actor SYSTEM_ACTOR.
    """
    if user is not None:
        enforce(permissions.can_import_applications(user))
    tranche = Tranche.objects.prefetch_related("amendments").get(pk=tranche.pk)
    # The file's name goes into the audit trail.
    source = without_control_characters(source)
    reader = csv.DictReader(stream)
    try:
        columns = list(reader.fieldnames or [])
    except csv.Error as error:
        raise _unreadable(reader, error) from None
    header_problems = _header_problems(columns)
    if header_problems:
        raise ValidationError(header_problems)
    lookups = {
        "municipalities": dict(Municipality.objects.values_list("code", "pk")),
        "windows": {w.code: w for w in tranche.windows.prefetch_related("eligible_target_groups")},
        "groups": {g.code: g for g in tranche.target_groups.all()},
        "housing_types": {h.code: h for h in HousingType.objects.all()},
    }
    errors: list[str] = []
    applications: dict[str, _ImportedApplication] = {}
    for number, row in enumerate(_rows(reader), start=2):
        if None in row or None in row.values():
            errors.append(gettext("row %(row)s: expected %(n)s columns") % {"row": number, "n": len(columns)})
            continue
        # Text our export quoted against spreadsheet formulas (accounts.spreadsheets) reads back as it was.
        row = {column: unquoted_cell(value) for column, value in row.items()}
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
                information=parsed["information"],
            )
        elif application is not None:
            for column, key, ours in (
                ("municipality_code", "municipality_id", application.municipality_id),
                ("window", "window", application.window),
                ("project_name", "project_name", application.project_name),
                ("received_at", "received_at", application.received_at),
                ("information_requested_at", "information", application.information),
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
    return _create_imported(tranche=tranche, applications=list(applications.values()), source=source, user=user)


def _portal_number(reference: str, *, prefix: str) -> int | None:
    """The receipt number in a reference of the portal's form PREFIX-NNNN, else None."""
    head, _, digits = reference.rpartition("-")
    return int(digits) if head == prefix and digits.isascii() and digits.isdigit() else None


def _create_imported(*, tranche: Tranche, applications: list[_ImportedApplication], source: str, user) -> int:
    locked = Tranche.objects.select_for_update().get(pk=tranche.pk)
    applications.sort(key=lambda a: (a.received_at, a.reference))
    first = locked.last_receipt_number + 1
    now = timezone.now()
    # Imported requests have no one who asked or answered, and no term: the file does not say.
    requests = {
        item.reference: [
            InformationRequest(requested_at=asked, answered_at=answered) for asked, answered in item.information
        ]
        for item in applications
    }
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
                completed_at=item.information[-1][1] if item.information else item.received_at,
                ranks_at=item.received_at + own_completion_time(requests[item.reference]),
            )
            for sequence, item in enumerate(applications, start=first)
        ],
        batch_size=2000,
    )
    for application in created:
        for request in requests[application.reference]:
            request.application = application
    InformationRequest.objects.bulk_create(
        (request for application in created for request in requests[application.reference]), batch_size=2000
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
                    application=application,
                    to_status=Status.SUBMITTED,
                    actor=user,
                    at=application.received_at,
                    reason=reason,
                ),
                StatusChange(
                    application=application,
                    from_status=Status.SUBMITTED,
                    to_status=Status.ELIGIBLE,
                    actor=user,
                    at=now,
                    reason=reason,
                ),
            )
        ),
        batch_size=2000,
    )
    # Imported applications keep the reference of the file. Where one has the form the portal gives out
    # (PREFIX-NNNN), the counter moves past it, so that no later submission is numbered the same.
    numbered = [_portal_number(item.reference, prefix=locked.receipt_prefix) for item in applications]
    last = max([first + len(created) - 1, *(number for number in numbered if number is not None)])
    Tranche.objects.filter(pk=tranche.pk).update(last_receipt_number=last)
    record_audit(
        action=AuditAction.CONFIRMATION,
        actor=user,
        actor_name=SYSTEM_ACTOR,
        target=tranche,
        detail=f"applications imported as eligible from {source or 'CSV'}: {len(created)}",
    )
    logger.info("imported %s applications into %s from %s", len(created), tranche.slug, source or "CSV")
    return len(created)
