"""Ranking of eligible applications inside one window, as the window's settings say.

Pure functions over plain dataclasses: no database, no Django, so that an auditor can rerun a ranking
from the snapshot stored with an allocation run, and so that 100,000 applications rank in well under a
second.

Methods (``Window.ranking_method``):

- ``first_come``: by ranking instant (the tranche says whether that is the first receipt or the
  receipt of the complete application), then by receipt number.
- ``first_come_same_day_lottery``: as ``first_come``, except on the lottery day: the first calendar
  day (Europe/Amsterdam) on which the requests, in receipt order and after the maximum per
  municipality, no longer fit the ceiling. The order among that day's applications is drawn by lot.
  Days before keep receipt order, days after come later, in receipt order. When the requests never
  exceed the ceiling there is no draw. The maximum per municipality (:class:`MunicipalCap`) is applied
  as the allocation applies it, so that the draw falls on the day the money really runs out: it counts
  what the municipality already has in the tranche and what its earlier applications in receipt order
  would get, and a request above what is left of it counts for that rest (rule ``partial``) or for
  nothing (it would be refused).
- ``category``: by the category a named rule derives from the unit mix (``Window.category_rule``:
  ``student_2025`` or ``non_self_contained_first``, see CATEGORY_RULES), categories in alphabetical
  order, then by the tie-break
  (``Window.tie_break``: ``receipt`` or ``lottery``).
- ``lottery``: the whole window by lot.
- ``pro_rata``: receipt order; every application receives the same fraction (see allocation.py).

The draw (:func:`draw_lots`) is reproducible with nothing but the seed and the receipt numbers:

1. sort the applications by receipt number (the sequence within the tranche);
2. for each, compute the SHA-256 digest of the UTF-8 text ``f"{seed}:{reference}"``, written in
   lowercase hexadecimal; for seed 20230707 and RHA-2023-0001 that is the digest of
   ``20230707:RHA-2023-0001`` (``printf '%s' '20230707:RHA-2023-0001' | sha256sum``);
3. order them by that digest, ascending as text; equal digests (never seen in practice) keep the
   order of step 1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ZERO = Decimal("0")


class Method(StrEnum):
    """The values of grants.models.RankingMethod, without importing Django."""

    FIRST_COME = "first_come"
    FIRST_COME_SAME_DAY_LOTTERY = "first_come_same_day_lottery"
    CATEGORY = "category"
    LOTTERY = "lottery"
    PRO_RATA = "pro_rata"


class TieBreak(StrEnum):
    RECEIPT = "receipt"
    LOTTERY = "lottery"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One eligible application, reduced to what ranking and allocation need."""

    reference: str
    receipt_sequence: int
    municipality: str
    requested: Decimal
    ranked_at: datetime
    units: int = 0
    units_not_self_contained: int = 0
    units_with_common_room: int = 0


@dataclass(frozen=True, slots=True)
class RankedCandidate:
    rank: int
    candidate: Candidate
    category: str = ""
    drawn: bool = False


@dataclass(frozen=True, slots=True)
class Ranking:
    candidates: list[RankedCandidate]
    lottery_day: date | None = None


@dataclass(frozen=True, slots=True)
class MunicipalCap:
    """The maximum per municipality as the allocation will apply it, to find the lottery day.

    `granted`: what each municipality (by code) already has in the tranche before this window;
    `cut_to_room`: a request above what is left is cut to it (rule ``partial``) rather than refused.
    """

    maximum: Decimal
    granted: Mapping[str, Decimal] = field(default_factory=dict)
    cut_to_room: bool = True


def student_2025_category(candidate: Candidate) -> str:
    """Categories of the 2025 student window, by share of units (not of lines or amounts).

    A: only non-self-contained units; B: mixed, at least 25% non-self-contained; C: mixed, less than
    25% non-self-contained; D: all self-contained, at least 25% with access to a shared common room;
    E: other self-contained.
    """
    total, shared = candidate.units, candidate.units_not_self_contained
    if total <= 0:
        raise ValueError(f"{candidate.reference} has no units to categorise")
    if shared == total:
        return "A"
    if shared > 0:
        return "B" if 4 * shared >= total else "C"
    return "D" if 4 * candidate.units_with_common_room >= total else "E"


def non_self_contained_first_category(candidate: Candidate) -> str:
    """2024 student window: applications with non-self-contained units go first.

    A: only non-self-contained units; B: mixed; C: only self-contained. The published rule only says that
    non-self-contained units get priority; the order between mixed and self-contained is assumed.
    """
    if candidate.units <= 0:
        raise ValueError(f"{candidate.reference} has no units to categorise")
    if candidate.units_not_self_contained == candidate.units:
        return "A"
    return "B" if candidate.units_not_self_contained > 0 else "C"


CATEGORY_RULES: dict[str, Callable[[Candidate], str]] = {
    "student_2025": student_2025_category,
    "non_self_contained_first": non_self_contained_first_category,
}


def receipt_key(candidate: Candidate) -> tuple[datetime, int]:
    return candidate.ranked_at, candidate.receipt_sequence


def lottery_digest(seed: int, reference: str) -> str:
    return hashlib.sha256(f"{seed}:{reference}".encode()).hexdigest()


def draw_lots(candidates: Iterable[Candidate], *, seed: int) -> list[Candidate]:
    """The documented draw: receipt-number order, then ascending SHA-256 of "seed:reference"."""
    by_receipt = sorted(candidates, key=lambda c: c.receipt_sequence)
    return sorted(by_receipt, key=lambda c: lottery_digest(seed, c.reference))


def local_day(instant: datetime) -> date:
    return instant.astimezone(AMSTERDAM).date()


def _lottery_day(ordered: list[Candidate], *, ceiling: Decimal, cap: MunicipalCap | None) -> date | None:
    """The day of the first candidate, in receipt order, whose grantable amount takes the total over the ceiling."""
    granted = dict(cap.granted) if cap is not None else {}
    cumulative = ZERO
    for candidate in ordered:
        amount = candidate.requested
        if cap is not None:
            room = max(ZERO, cap.maximum - granted.get(candidate.municipality, ZERO))
            if amount > room:
                amount = room if cap.cut_to_room else ZERO
            granted[candidate.municipality] = granted.get(candidate.municipality, ZERO) + amount
        cumulative += amount
        if cumulative > ceiling:
            return local_day(candidate.ranked_at)
    return None


def _same_day_lottery(candidates: list[Candidate], *, seed: int, ceiling: Decimal, cap: MunicipalCap | None) -> Ranking:
    ordered = sorted(candidates, key=receipt_key)
    day = _lottery_day(ordered, ceiling=ceiling, cap=cap)
    if day is None:
        return Ranking([RankedCandidate(rank, c) for rank, c in enumerate(ordered, start=1)])
    days = [local_day(c.ranked_at) for c in ordered]
    first = days.index(day)
    end = first + days.count(day)
    drawn = draw_lots(ordered[first:end], seed=seed)
    result = [RankedCandidate(rank, c) for rank, c in enumerate(ordered[:first], start=1)]
    result += [RankedCandidate(rank, c, drawn=True) for rank, c in enumerate(drawn, start=first + 1)]
    result += [RankedCandidate(rank, c) for rank, c in enumerate(ordered[end:], start=end + 1)]
    return Ranking(result, lottery_day=day)


def _by_category(candidates: list[Candidate], *, seed: int, rule: str, tie_break: str) -> Ranking:
    try:
        categorise = CATEGORY_RULES[rule]
    except KeyError:
        raise ValueError(f"unknown category rule {rule!r}; known: {sorted(CATEGORY_RULES)}") from None
    categories = {c.reference: categorise(c) for c in candidates}
    if tie_break == TieBreak.LOTTERY:
        ordered = draw_lots(candidates, seed=seed)
    elif tie_break == TieBreak.RECEIPT:
        ordered = sorted(candidates, key=receipt_key)
    else:
        raise ValueError(f"unknown tie-break {tie_break!r}")
    # sorted() is stable: within a category the tie-break order above is kept.
    ordered.sort(key=lambda c: categories[c.reference])
    drawn = tie_break == TieBreak.LOTTERY
    return Ranking(
        [RankedCandidate(rank, c, categories[c.reference], drawn) for rank, c in enumerate(ordered, start=1)]
    )


def rank(
    candidates: Sequence[Candidate],
    *,
    method: str,
    seed: int,
    ceiling: Decimal,
    tie_break: str = TieBreak.RECEIPT,
    category_rule: str = "",
    municipal_cap: MunicipalCap | None = None,
) -> Ranking:
    """Order the candidates of one window; rank 1 is funded first. Same input and seed, same order.

    `ceiling` is what the window can spend and `municipal_cap` the maximum per municipality (None: no
    maximum); only the same-day lottery uses them, to find its day.
    """
    candidates = list(candidates)
    if method in (Method.FIRST_COME, Method.PRO_RATA):
        ordered = sorted(candidates, key=receipt_key)
        return Ranking([RankedCandidate(rank, c) for rank, c in enumerate(ordered, start=1)])
    if method == Method.FIRST_COME_SAME_DAY_LOTTERY:
        return _same_day_lottery(candidates, seed=seed, ceiling=ceiling, cap=municipal_cap)
    if method == Method.CATEGORY:
        return _by_category(candidates, seed=seed, rule=category_rule, tie_break=tie_break)
    if method == Method.LOTTERY:
        drawn = draw_lots(candidates, seed=seed)
        return Ranking([RankedCandidate(rank, c, drawn=True) for rank, c in enumerate(drawn, start=1)])
    raise ValueError(f"unknown ranking method {method!r}")
