"""Reads for settlement: what a grant settles at from its latest progress report."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from applications.models import ProgressReport, UnitLine

from ..models import Decision


def _cents_down(amount: Fraction) -> Decimal:
    return Decimal(math.floor(amount * 100)).scaleb(-2)


@dataclass(frozen=True)
class ComputedSettlementLine:
    unit_line: UnitLine
    units_granted: int
    units_realised: int
    amount_granted: Decimal
    amount_settled: Decimal


@dataclass(frozen=True)
class ComputedSettlement:
    report: ProgressReport | None
    amount_paid: Decimal
    lines: list[ComputedSettlementLine]

    @property
    def amount_settled(self) -> Decimal:
        return sum((line.amount_settled for line in self.lines), Decimal("0"))

    @property
    def amount_reclaimed(self) -> Decimal:
        return self.amount_paid - self.amount_settled

    @property
    def units_granted(self) -> int:
        return sum(line.units_granted for line in self.lines)

    @property
    def units_realised(self) -> int:
        return sum(line.units_realised for line in self.lines)


def compute_settlement(*, decision: Decision) -> ComputedSettlement:
    """The settlement of a grant from its latest progress report; nothing is realised without one.

    A unit line's share of the grant is its requested amount × amount granted / amount requested (its whole
    request for a full grant). A unit not realised is not funded: the line gets its share × realised / granted
    units. Each line is rounded down to the cent, computed exactly, so the settled total never exceeds the
    grant. The grant is taken to have been paid in full as an advance: the reclaim is the grant less the
    settled total.
    """
    application = decision.application
    report = application.progress_reports.filter(is_latest=True).first()
    realised = dict(report.realised_units.values_list("unit_line_id", "units")) if report else {}
    granted_share = Fraction(decision.amount) / Fraction(decision.requested)
    lines = []
    for line in application.unit_lines.select_related("target_group", "housing_type").order_by("pk"):
        share = Fraction(line.requested_amount) * granted_share
        units_realised = realised.get(line.pk, 0)
        lines.append(
            ComputedSettlementLine(
                unit_line=line,
                units_granted=line.units,
                units_realised=units_realised,
                amount_granted=_cents_down(share),
                amount_settled=_cents_down(share * units_realised / line.units),
            )
        )
    return ComputedSettlement(report=report, amount_paid=decision.amount, lines=lines)
