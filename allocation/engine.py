"""Allocation of a tranche's budget over ranked applications.

Pure functions over plain dataclasses (see ranking.py for the order). Money is Decimal throughout.

For each window, in window order, the applications are offered money in rank order:

1. The municipal cap (``Tranche.max_per_municipality``) counts everything the municipality already
   has in the tranche, from earlier runs and from earlier windows of this run. A request above the
   municipality's room is cut to the room when the tranche's rule for the last application is
   ``partial`` (reason ``municipal_cap_partial``), otherwise refused (reason ``municipal_cap``).
2. What is available is the smaller of the window's room and the tranche's room (the ceiling in force
   when the run is prepared, less what other runs granted).
3. A request that fits is funded. The first one that does not fit is handled by the tranche's rule:
   ``partial`` grants what is left (reason ``budget_remainder``), ``skip`` leaves it unfunded and offers
   the money to the next ones, ``stop`` leaves it and every later one unfunded. Unfunded applications
   form the reserve list, in rank order (reason ``budget_exhausted``). Under ``skip`` a later
   application can be funded past one on the reserve list, so a window has no single cut-off: each
   such line is marked ``passes_skipped`` (see :func:`passing_skipped`).
4. When the tranche allows transfers and every window has been allocated, the unused parts of all
   windows are pooled and offered, window by window in window order, to the applications that were
   short of budget, in rank order and under the same rule (reason ``transfer`` when that completes a
   request). A pro rata window gives its unused cents but takes nothing.

Pro rata windows: after the municipal cap, every application receives the same fraction
``available / total requested`` (at most 1) of its request, computed in whole cents and rounded down
to the cent: ``floor(request_cents × available_cents / requested_cents)``. The sum therefore never
exceeds the ceiling; the few cents left over stay unused.

Oversubscription is the requested total less the ceiling, and 0 when the requests fit.

A same-day lottery window finds its lottery day after the municipal cap, as step 1 applies it, counting
what each municipality has from earlier runs and earlier windows (see ranking.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from .ranking import Candidate, Method, MunicipalCap, Ranking, TieBreak, rank

ZERO = Decimal("0")
CENT = Decimal("0.01")


class Outcome(StrEnum):
    FUNDED = "funded"
    PARTIAL = "partial"
    RESERVE = "reserve"
    REFUSED = "refused"


class Reason(StrEnum):
    FITS = "fits"
    BUDGET_REMAINDER = "budget_remainder"
    BUDGET_EXHAUSTED = "budget_exhausted"
    MUNICIPAL_CAP_PARTIAL = "municipal_cap_partial"
    MUNICIPAL_CAP = "municipal_cap"
    PRO_RATA = "pro_rata"
    TRANSFER = "transfer"


class LastApplicationRule(StrEnum):
    """The values of grants.models.LastApplicationRule, without importing Django."""

    PARTIAL = "partial"
    SKIP = "skip"
    STOP = "stop"


SHORT_OF_BUDGET = (Reason.BUDGET_REMAINDER, Reason.BUDGET_EXHAUSTED)


@dataclass(slots=True)
class Line:
    rank: int
    candidate: Candidate
    requested: Decimal
    category: str = ""
    drawn: bool = False
    proposed: Decimal = ZERO
    cumulative: Decimal = ZERO
    outcome: Outcome = Outcome.RESERVE
    reason: Reason = Reason.BUDGET_EXHAUSTED
    passes_skipped: bool = False


class AllocatedLine(Protocol):
    """What passing_skipped reads: a Line, or a line of a stored run."""

    proposed: Decimal
    outcome: str
    reason: str


def passing_skipped(lines: Iterable[AllocatedLine]) -> list[bool]:
    """Per line of one window, in rank order: whether it received money though an earlier line is on the reserve list.

    Only the skip rule does that: under partial a line stays on the reserve list only when nothing is left, and
    stop funds nobody after it. A pro rata share passes nobody: every line gets the same fraction.
    """
    passes = []
    skipped = False
    for line in lines:
        passes.append(skipped and line.proposed > ZERO and line.reason != Reason.PRO_RATA)
        skipped = skipped or line.outcome == Outcome.RESERVE
    return passes


@dataclass(slots=True)
class WindowResult:
    code: str
    method: str
    ceiling: Decimal
    lines: list[Line]
    lottery_day: date | None = None
    pro_rata_fraction: Decimal | None = None
    requested: Decimal = ZERO
    proposed: Decimal = ZERO

    @property
    def unused(self) -> Decimal:
        return max(ZERO, self.ceiling - self.proposed)

    @property
    def transferred_in(self) -> Decimal:
        return max(ZERO, self.proposed - self.ceiling)

    @property
    def oversubscription(self) -> Decimal:
        return max(ZERO, self.requested - self.ceiling)

    @property
    def cutoff_rank(self) -> int | None:
        """Rank of the first application the budget could not fully fund; None when all fitted."""
        return next((line.rank for line in self.lines if line.reason in SHORT_OF_BUDGET), None)

    @property
    def reserve(self) -> list[Line]:
        return [line for line in self.lines if line.outcome == Outcome.RESERVE]


@dataclass(frozen=True, slots=True)
class WindowInput:
    code: str
    ceiling: Decimal
    candidates: Sequence[Candidate]
    method: str = Method.FIRST_COME
    tie_break: str = TieBreak.RECEIPT
    category_rule: str = ""


@dataclass(slots=True)
class Budget:
    """What is left for the tranche and for each municipality, shared by all windows of a run."""

    tranche_room: Decimal
    rule: str
    municipal_cap: Decimal | None = None
    municipal_granted: dict[str, Decimal] = field(default_factory=dict)

    def cap_room(self, municipality: str) -> Decimal | None:
        if self.municipal_cap is None:
            return None
        return max(ZERO, self.municipal_cap - self.municipal_granted.get(municipality, ZERO))

    def spend(self, municipality: str, amount: Decimal) -> None:
        self.tranche_room -= amount
        self.municipal_granted[municipality] = self.municipal_granted.get(municipality, ZERO) + amount


def _grant(line: Line, amount: Decimal, *, budget: Budget, full_reason: Reason, short_reason: Reason) -> None:
    line.proposed += amount
    budget.spend(line.candidate.municipality, amount)
    if line.proposed == line.requested:
        line.outcome, line.reason = Outcome.FUNDED, full_reason
    else:
        line.outcome, line.reason = Outcome.PARTIAL, short_reason


def _offer_in_rank_order(lines: list[Line], *, room: Decimal, budget: Budget, full_reason: Reason) -> Decimal:
    """Offer up to `room` to the lines in order under the tranche's rule; returns what was granted."""
    granted = ZERO
    partial_rule = budget.rule == LastApplicationRule.PARTIAL
    stop_rule = budget.rule == LastApplicationRule.STOP
    has_cap = budget.municipal_cap is not None
    for line in lines:
        want = line.requested - line.proposed
        capped = False
        if has_cap:
            cap_room = budget.cap_room(line.candidate.municipality)
            if want > cap_room:
                if not (partial_rule and cap_room > ZERO):
                    if line.proposed == ZERO:
                        line.outcome, line.reason = Outcome.REFUSED, Reason.MUNICIPAL_CAP
                    continue
                want, capped = cap_room, True
        available = min(room - granted, budget.tranche_room)
        if want <= available:
            short = Reason.MUNICIPAL_CAP_PARTIAL if capped else Reason.BUDGET_REMAINDER
            _grant(line, want, budget=budget, full_reason=full_reason, short_reason=short)
            granted += want
        elif partial_rule and available > ZERO:
            _grant(line, available, budget=budget, full_reason=full_reason, short_reason=Reason.BUDGET_REMAINDER)
            granted += available
        elif stop_rule:
            break
    return granted


def _to_cents(amount: Decimal) -> int:
    return int(amount.quantize(CENT) * 100)


def _pro_rata(result: WindowResult, *, budget: Budget) -> None:
    claims: dict[str, Decimal] = {}
    wanted: list[tuple[Line, Decimal]] = []
    for line in result.lines:
        municipality = line.candidate.municipality
        want = line.requested
        cap_room = budget.cap_room(municipality)
        room = None if cap_room is None else cap_room - claims.get(municipality, ZERO)
        if room is not None and want > room:
            if not (budget.rule == LastApplicationRule.PARTIAL and room > ZERO):
                line.outcome, line.reason = Outcome.REFUSED, Reason.MUNICIPAL_CAP
                continue
            want = room
        claims[municipality] = claims.get(municipality, ZERO) + want
        wanted.append((line, want))
    total = sum((want for _, want in wanted), ZERO)
    available = min(result.ceiling, budget.tranche_room)
    if total <= available:
        result.pro_rata_fraction = Decimal("1")
        for line, want in wanted:
            _grant(line, want, budget=budget, full_reason=Reason.FITS, short_reason=Reason.MUNICIPAL_CAP_PARTIAL)
        return
    result.pro_rata_fraction = available / total
    available_cents, total_cents = _to_cents(available), _to_cents(total)
    for line, want in wanted:
        share = Decimal(_to_cents(want) * available_cents // total_cents) / 100
        if share > ZERO:
            _grant(line, share, budget=budget, full_reason=Reason.PRO_RATA, short_reason=Reason.PRO_RATA)


def _recount(result: WindowResult) -> None:
    cumulative = ZERO
    for line in result.lines:
        cumulative += line.proposed
        line.cumulative = cumulative
    result.proposed = cumulative


def allocate_window(ranking: Ranking, *, code: str, method: str, ceiling: Decimal, budget: Budget) -> WindowResult:
    """Allocate one window's ceiling over its ranking; `budget` is updated with what was granted."""
    lines = [Line(rc.rank, rc.candidate, rc.candidate.requested, rc.category, rc.drawn) for rc in ranking.candidates]
    result = WindowResult(
        code=code,
        method=method,
        ceiling=ceiling,
        lines=lines,
        lottery_day=ranking.lottery_day,
        requested=sum((line.requested for line in lines), ZERO),
    )
    if method == Method.PRO_RATA:
        _pro_rata(result, budget=budget)
    else:
        _offer_in_rank_order(lines, room=ceiling, budget=budget, full_reason=Reason.FITS)
    _recount(result)
    return result


def transfer_unused(results: list[WindowResult], *, budget: Budget) -> None:
    """Pool the unused parts of all windows and offer them to those short of budget, window by window."""
    pool = sum((result.unused for result in results), ZERO)
    for result in results:
        if pool <= ZERO:
            break
        if result.method == Method.PRO_RATA:
            continue
        short = [line for line in result.lines if line.reason in SHORT_OF_BUDGET]
        pool -= _offer_in_rank_order(short, room=pool, budget=budget, full_reason=Reason.TRANSFER)
        _recount(result)


def allocate(
    windows: Sequence[WindowInput],
    *,
    seed: int,
    tranche_room: Decimal,
    rule: str,
    municipal_cap: Decimal | None = None,
    municipal_granted: dict[str, Decimal] | None = None,
    transfer: bool = False,
) -> list[WindowResult]:
    """Rank and allocate every window of a run; the same arguments always give the same result.

    `tranche_room` is the tranche's ceiling in force less what earlier runs granted;
    `municipal_granted` what each municipality (by code) already has in the tranche.
    """
    budget = Budget(
        tranche_room=tranche_room,
        rule=rule,
        municipal_cap=municipal_cap,
        municipal_granted=dict(municipal_granted or {}),
    )
    results = []
    for window in windows:
        ceiling = min(window.ceiling, budget.tranche_room)
        cap = (
            None
            if municipal_cap is None
            else MunicipalCap(
                maximum=municipal_cap,
                granted=dict(budget.municipal_granted),
                cut_to_room=rule == LastApplicationRule.PARTIAL,
            )
        )
        ranking = rank(
            window.candidates,
            method=window.method,
            seed=seed,
            ceiling=ceiling,
            tie_break=window.tie_break,
            category_rule=window.category_rule,
            municipal_cap=cap,
        )
        results.append(allocate_window(ranking, code=window.code, method=window.method, ceiling=ceiling, budget=budget))
    if transfer and len(results) > 1:
        transfer_unused(results, budget=budget)
    # Marked only now: a transfer can still fund a line that the first pass skipped.
    for result in results:
        for line, passes in zip(result.lines, passing_skipped(result.lines), strict=True):
            line.passes_skipped = passes
    return results
