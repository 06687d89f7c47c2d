"""Reads of budget that comes free and of the reserve list it goes to: what the grants commit, what is left.

A grant commits its amount in force (the current decision), or the amount settled when a confirmed settlement
(vaststelling) set it lower. What is left is the ceiling in force less what the grants commit, per window and
for the tranche, never below 0. A grant on objection may take the grants over the ceiling (its decision
records that over-commitment); budget that comes free first fills that gap, because nothing is left until
the commitments are back under the ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from grants.models import MONEY, Tranche, decimal_text

from .engine import Budget, WindowResult, allocate_window, passing_skipped, transfer_unused
from .models import (
    AllocationLine,
    AllocationReason,
    AllocationRun,
    Decision,
    DecisionOutcome,
    LineOutcome,
    RunKind,
    RunStatus,
)
from .ranking import Candidate, RankedCandidate, Ranking
from .selectors import ComputedAllocation

ZERO = Decimal("0")

# The realisation stage sets a settlement on the decision it settles (related name "settlement"); allocation only
# reads it by that name, so that it never imports the later stage.
SETTLED = "confirmed"


def _committed(decisions: QuerySet[Decision]) -> QuerySet[Decision]:
    settled = Decision.objects.filter(application_id=OuterRef("application_id"), settlement__status=SETTLED).values(
        "settlement__amount_settled"
    )[:1]
    money = DecimalField(**MONEY)
    return decisions.annotate(
        committed=Least(F("amount"), Coalesce(Subquery(settled, output_field=money), F("amount")), output_field=money)
    )


@dataclass(frozen=True)
class Commitments:
    """What the decisions in force of a tranche commit, per window (pk) and per municipality (CBS code)."""

    per_window: dict[int, Decimal]
    per_municipality: dict[str, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.per_window.values(), ZERO)


def commitments(*, tranche: Tranche) -> Commitments:
    rows = (
        _committed(Decision.objects.current().filter(application__tranche=tranche))
        .values("application__window_id", "application__municipality__code")
        .annotate(total=Sum("committed"))
        .order_by()
    )
    per_window: dict[int, Decimal] = {}
    per_municipality: dict[str, Decimal] = {}
    for row in rows:
        window, municipality = row["application__window_id"], row["application__municipality__code"]
        per_window[window] = per_window.get(window, ZERO) + row["total"]
        per_municipality[municipality] = per_municipality.get(municipality, ZERO) + row["total"]
    return Commitments(per_window=per_window, per_municipality=per_municipality)


@dataclass(frozen=True)
class BudgetLeft:
    """What a tranche has left for its reserve list at one instant.

    `per_window`: window pk to what is left of its ceiling (deelplafond); `total`: what is left of the tranche,
    which with transfers between windows is also bounded by the window ceilings together. `over_ceiling`: what
    the grants commit above the ceiling in force, granted on objection, which freed budget fills first.
    """

    ceiling: Decimal
    committed: Decimal
    per_window: dict[int, Decimal]
    total: Decimal
    over_ceiling: Decimal
    committed_per_window: dict[int, Decimal]
    committed_per_municipality: dict[str, Decimal]


def budget_left(*, tranche: Tranche, now: datetime | None = None) -> BudgetLeft:
    """The budget left of the tranche: the ceilings in force at `now` less what the decisions in force commit."""
    now = now or timezone.now()
    tranche = Tranche.objects.prefetch_related("amendments").get(pk=tranche.pk)
    windows = list(tranche.windows.all())
    committed = commitments(tranche=tranche)
    ceiling = tranche.ceiling_at(now)
    per_window = {w.pk: max(ZERO, w.budget_ceiling - committed.per_window.get(w.pk, ZERO)) for w in windows}
    bound = ceiling
    if tranche.transfer_unused_between_windows:
        bound = min(ceiling, sum((w.budget_ceiling for w in windows), ZERO))
    total = max(ZERO, bound - committed.total)
    if not tranche.transfer_unused_between_windows:
        total = min(total, sum(per_window.values(), ZERO))
    return BudgetLeft(
        ceiling=ceiling,
        committed=committed.total,
        per_window=per_window,
        total=total,
        over_ceiling=max(ZERO, committed.total - ceiling),
        committed_per_window=committed.per_window,
        committed_per_municipality=committed.per_municipality,
    )


def reserve_lines(*, tranche: Tranche) -> QuerySet[AllocationLine]:
    """The reserve list: lines of the confirmed initial runs whose application is still refused for lack of budget.

    A line counts when the initial run left it on the reserve list, or refused it because its municipality had
    reached the maximum per municipality (which budget come free may not change, but a lowered grant of the
    same municipality may). In the original order: window by code, then rank.
    """
    refused_now = Decision.objects.current().filter(outcome=DecisionOutcome.REFUSED).values("application_id")
    return (
        AllocationLine.objects.filter(run__tranche=tranche, run__kind=RunKind.INITIAL, run__status=RunStatus.CONFIRMED)
        .filter(Q(outcome=LineOutcome.RESERVE) | Q(outcome=LineOutcome.REFUSED, reason=AllocationReason.MUNICIPAL_CAP))
        .filter(application_id__in=refused_now)
        .select_related("application__municipality", "window")
        .order_by("window__code", "rank")
    )


def allocate_reserve_list(*, rules: dict, ranked: dict[str, list[RankedCandidate]]) -> list[WindowResult]:
    """Allocate the budget left over the reserve list in its original rank order, under the tranche's rules.

    The engine's own steps, but over the ranks the initial runs gave: no new ranking or draw. `rules` as
    allocation.reserve stores them on a supplementary run; `ranked` the reserve list per window code.
    """
    cap = rules["max_per_municipality"]
    budget = Budget(
        tranche_room=Decimal(rules["tranche_room"]),
        rule=rules["last_application_rule"],
        municipal_cap=None if cap is None else Decimal(cap),
        municipal_granted={code: Decimal(amount) for code, amount in rules["granted_before"].items()},
    )
    results = []
    for window in rules["windows"]:
        results.append(
            allocate_window(
                Ranking(ranked.get(window["code"], [])),
                code=window["code"],
                method=window["ranking_method"],
                ceiling=min(Decimal(window["ceiling"]), budget.tranche_room),
                budget=budget,
            )
        )
    if rules["transfer_unused_between_windows"] and len(results) > 1:
        transfer_unused(results, budget=budget)
    for result in results:
        for line, passes in zip(result.lines, passing_skipped(result.lines), strict=True):
            line.passes_skipped = passes
    return results


def ranked_from_inputs(inputs: list[dict]) -> dict[str, list[RankedCandidate]]:
    """The reserve list per window as a supplementary run stored it among its inputs, ranks included."""
    ranked: dict[str, list[RankedCandidate]] = {}
    for item in inputs:
        candidate = Candidate(
            reference=item["reference"],
            receipt_sequence=item["receipt_sequence"],
            municipality=item["municipality"],
            requested=Decimal(item["requested"]),
            ranked_at=datetime.fromisoformat(item["ranked_at"]),
            units=item["units"],
            units_not_self_contained=item["units_not_self_contained"],
            units_with_common_room=item["units_with_common_room"],
        )
        ranked.setdefault(item["window"], []).append(
            RankedCandidate(item["rank"], candidate, item["category"], item["drawn"])
        )
    return ranked


def _initial_snapshots(*, tranche: Tranche, references: set[str]) -> dict[str, dict]:
    """The inputs the confirmed initial runs ranked, for the references asked: the reserve list as it was ranked."""
    snapshots = {}
    runs = AllocationRun.objects.filter(tranche=tranche, kind=RunKind.INITIAL, status=RunStatus.CONFIRMED)
    for inputs in runs.values_list("inputs", flat=True):
        snapshots.update((item["reference"], item) for item in inputs if item["reference"] in references)
    return snapshots


def compute_supplementary(*, tranche: Tranche, seed: int, at: datetime | None = None) -> ComputedAllocation:
    """The budget left allocated over the reserve list of the whole tranche, as a supplementary run would; no writes.

    The reserve list keeps the ranks of the confirmed initial runs; the municipal cap counts what each
    municipality's grants commit now, and the window ceilings what is left of each.
    """
    at = at or timezone.now()
    left = budget_left(tranche=tranche, now=at)
    windows = list(tranche.windows.order_by("code"))
    lines = list(reserve_lines(tranche=tranche))
    snapshots = _initial_snapshots(tranche=tranche, references={line.application.reference for line in lines})
    inputs = [
        {**snapshots[line.application.reference], "rank": line.rank, "category": line.category, "drawn": line.drawn}
        for line in lines
    ]
    rules = {
        "kind": RunKind.SUPPLEMENTARY.value,
        "tranche": tranche.slug,
        "prepared_at": at.isoformat(),
        "seed": seed,
        "ranking_instant": tranche.ranking_instant,
        "last_application_rule": tranche.last_application_rule,
        "max_per_municipality": decimal_text(tranche.max_per_municipality),
        "transfer_unused_between_windows": tranche.transfer_unused_between_windows,
        "tranche_ceiling": decimal_text(left.ceiling),
        "tranche_room": decimal_text(left.total),
        "granted_before": {
            code: decimal_text(amount) for code, amount in sorted(left.committed_per_municipality.items()) if amount
        },
        "windows": [
            {
                "code": w.code,
                "budget_ceiling": decimal_text(w.budget_ceiling),
                "committed": decimal_text(left.committed_per_window.get(w.pk, ZERO)),
                "ceiling": decimal_text(left.per_window[w.pk]),
                "ranking_method": w.ranking_method,
                "tie_break": w.tie_break,
                "category_rule": w.category_rule,
            }
            for w in windows
        ],
    }
    results = allocate_reserve_list(rules=rules, ranked=ranked_from_inputs(inputs))
    for described, result in zip(rules["windows"], results, strict=True):
        described["lottery_day"] = None
        described["pro_rata_fraction"] = str(result.pro_rata_fraction) if result.pro_rata_fraction else None
        described["ceiling_used"] = decimal_text(result.ceiling)
        described["transferred_in"] = decimal_text(result.transferred_in)
    return ComputedAllocation(
        tranche=tranche,
        window=None,
        seed=seed,
        prepared_at=at,
        windows={w.code: w for w in windows},
        results=results,
        application_ids={line.application.reference: line.application_id for line in lines},
        inputs=inputs,
        rules=rules,
        ceiling=left.total,
    )


def reproduce_supplementary(*, run: AllocationRun) -> list[WindowResult]:
    """Redo a supplementary run from its stored inputs (with their original ranks) and rules."""
    return allocate_reserve_list(rules=run.rules, ranked=ranked_from_inputs(run.inputs))


def is_settled(*, application) -> bool:
    """Whether a confirmed settlement (vaststelling) has fixed the grant: from then on it is no longer lowered here."""
    return Decision.objects.filter(application_id=application.pk, settlement__status=SETTLED).exists()
