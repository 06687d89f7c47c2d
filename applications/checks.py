"""What a tranche's rules require of an application: of each unit line, of the whole content, and of the moment.

Read by drafting (each unit line as it is saved), by the ready confirmation and by submission.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from grants.models import HousingType, RentLimit, Tranche, TrancheTargetGroup, Window

from .models import Application, AttachmentKind, Permanence


@dataclass(frozen=True)
class UnitLineData:
    target_group: TrancheTargetGroup
    housing_type: HousingType
    permanence: str
    units: int
    self_contained: bool = True
    common_room: bool = False
    construction: str = "new_build"
    requested_amount: Decimal | None = None
    planned_monthly_rent: Decimal | None = None


def unit_line_errors(*, tranche: Tranche, window: Window, line: UnitLineData) -> dict[str, list[str]]:
    """What is wrong with one unit line under the tranche's rules, by field name."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if line.target_group is None:
        add("target_group", _("Choose a target group."))
    elif line.target_group.tranche_id != tranche.pk:
        add("target_group", _("This target group is not part of the tranche."))
    elif not any(group.pk == line.target_group.pk for group in window.eligible_target_groups.all()):
        add(
            "target_group",
            _("%(group)s is not eligible in %(window)s.") % {"group": line.target_group, "window": window.name},
        )
    if line.housing_type is None:
        add("housing_type", _("Choose a housing type."))
    if line.permanence not in Permanence.values:
        add("permanence", _("Choose permanent or flexible."))
    if line.units is None or line.units <= 0:
        add("units", _("The number of units must be at least 1."))
    if line.planned_monthly_rent is not None:
        # A year without rent limits in the table has nothing to check against: no rent check then.
        limit = RentLimit.objects.filter(year=tranche.year).first()
        if line.planned_monthly_rent < 0:
            add("planned_monthly_rent", _("The planned monthly rent cannot be negative."))
        elif limit is not None and line.planned_monthly_rent > limit.aftoppingsgrens:
            add(
                "planned_monthly_rent",
                _("The planned rent is above the limit of %(year)s: at most € %(limit)s a month (aftoppingsgrens).")
                % {
                    "year": tranche.year,
                    "limit": formats.number_format(limit.aftoppingsgrens, 2, use_l10n=True, force_grouping=True),
                },
            )
    if errors:
        return errors
    maximum_per_unit = tranche.max_per_unit(permanence=line.permanence, housing_type=line.housing_type)
    if maximum_per_unit is None:
        add("housing_type", _("%(type)s units are not eligible in this tranche.") % {"type": line.housing_type})
        return errors
    maximum = maximum_per_unit * line.units
    if line.requested_amount is not None:
        if line.requested_amount < 0:
            add("requested_amount", _("The requested amount cannot be negative."))
        elif line.requested_amount > maximum:
            add(
                "requested_amount",
                _("At most € %(max)s: %(units)s units × € %(per_unit)s per unit.")
                % {
                    "max": formats.number_format(maximum, 2, use_l10n=True, force_grouping=True),
                    "units": line.units,
                    "per_unit": formats.number_format(maximum_per_unit, 2, use_l10n=True, force_grouping=True),
                },
            )
    return errors


def _format_instant(instant: datetime) -> str:
    return formats.date_format(timezone.localtime(instant), "DATETIME_FORMAT")


def submission_errors(application: Application, *, now: datetime) -> list[str]:
    """Everything that stands between this application and a valid submission at `now`."""
    tranche = application.tranche
    problems = []
    if now < tranche.opens_at:
        problems.append(
            _("This tranche opens at %(at)s; you cannot submit before then.")
            % {"at": _format_instant(tranche.opens_at)}
        )
    elif now >= tranche.closes_at_in_force(now):
        problems.append(
            _("The deadline of this tranche was %(at)s; applications can no longer be submitted.")
            % {"at": _format_instant(tranche.closes_at_in_force(now))}
        )
    return problems + content_errors(application)


def content_errors(application: Application) -> list[str]:
    """What is missing or wrong in the content, whatever the moment: checked on submission and on resubmission."""
    tranche, window = application.tranche, application.window
    problems = []
    lines = list(application.unit_lines.select_related("target_group", "housing_type"))
    if not lines:
        problems.append(_("Add at least one unit line."))
    for number, line in enumerate(lines, start=1):
        data = UnitLineData(
            target_group=line.target_group,
            housing_type=line.housing_type,
            permanence=line.permanence,
            units=line.units,
            requested_amount=line.requested_amount,
            planned_monthly_rent=line.planned_monthly_rent,
        )
        for messages in unit_line_errors(tranche=tranche, window=window, line=data).values():
            problems.extend(_("Unit line %(n)s: %(m)s") % {"n": number, "m": m} for m in messages)
    units = sum(line.units for line in lines)
    if lines and units < tranche.min_units_per_application:
        problems.append(
            _("An application needs at least %(min)s units; this one has %(units)s.")
            % {"min": tranche.min_units_per_application, "units": units}
        )
    total = sum((line.requested_amount for line in lines), Decimal("0"))
    if tranche.max_per_municipality is not None and total > tranche.max_per_municipality:
        problems.append(
            _("A municipality can receive at most € %(max)s in this tranche; this application asks € %(total)s.")
            % {
                "max": formats.number_format(tranche.max_per_municipality, 2, use_l10n=True, force_grouping=True),
                "total": formats.number_format(total, 2, use_l10n=True, force_grouping=True),
            }
        )
    present = set(application.attachments.values_list("kind", flat=True))
    for kind in tranche.required_attachments:
        if kind not in present:
            problems.append(_("Attach the %(kind)s.") % {"kind": AttachmentKind(kind).label})
    return problems
