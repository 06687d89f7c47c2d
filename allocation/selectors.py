"""Reads of allocation runs and decisions: computing a run, reproducing it, its ranked list."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import groupby

from django.db.models import FilteredRelation, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.models import Role
from applications.models import Application, Status
from grants.models import RankingInstant, Tranche, Window, decimal_text

from .engine import WindowInput, WindowResult, allocate, passing_skipped
from .models import AllocationLine, AllocationRun, Decision, LotterySeed, Objection, RunKind, RunStatus
from .ranking import Candidate


@dataclass(frozen=True)
class ComputedAllocation:
    """A run's result before it is stored: what prepare_allocation saves and `allocate` prints."""

    tranche: Tranche
    window: Window | None
    seed: int
    prepared_at: datetime
    windows: dict[str, Window]
    results: list[WindowResult]
    application_ids: dict[str, int]
    inputs: list[dict]
    rules: dict
    ceiling: Decimal

    @property
    def requested(self) -> Decimal:
        return sum((result.requested for result in self.results), Decimal("0"))

    @property
    def proposed(self) -> Decimal:
        return sum((result.proposed for result in self.results), Decimal("0"))

    @property
    def oversubscription(self) -> Decimal:
        return max(Decimal("0"), self.requested - self.ceiling)

    @property
    def ranked_list_sha256(self) -> str:
        return ranked_list_sha256(
            (result.code, line.rank, line.candidate.reference) for result in self.results for line in result.lines
        )


def ranked_list_sha256(lines: Iterable[tuple[str, int, str]]) -> str:
    """The list hash of docs/rules.md (The draw) over (window code, rank, reference) lines.

    The receipt numbers window by window, windows by code in code point order, each window in rank order, joined by
    a newline without one at the end; the SHA-256 of that text in UTF-8, in lowercase hexadecimal. Sorted here
    rather than by the database, whose collation may order codes differently.
    """
    text = "\n".join(reference for _code, _rank, reference in sorted(lines))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Submitted and neither found eligible nor ineligible yet: an allocation waits for these.
AWAITING_ASSESSMENT = (Status.SUBMITTED, Status.IN_REVIEW, Status.INFORMATION_REQUESTED, Status.RESUBMITTED)


def awaiting_assessment(*, tranche: Tranche, window: Window | None = None) -> list[str]:
    """Receipt numbers of the tranche's (or window's) applications still awaiting assessment, in receipt order."""
    waiting = Application.objects.filter(tranche=tranche, status__in=AWAITING_ASSESSMENT)
    if window is not None:
        waiting = waiting.filter(window=window)
    return list(waiting.order_by("receipt_sequence", "reference").values_list("reference", flat=True))


def lottery_seed(*, tranche: Tranche) -> LotterySeed | None:
    """The tranche's lottery seed, sealed or awaiting its second person; None before either."""
    return LotterySeed.objects.select_related("entered_by", "sealed_by").filter(tranche=tranche).first()


def current_decision(*, application: Application) -> Decision | None:
    """The decision in force on the application; None before one was issued."""
    return Decision.objects.current().filter(application=application).first()


def with_current_decision(queryset: QuerySet[Application]) -> QuerySet[Application]:
    """Applications with `decision` as a path to the decision in force, e.g. F("decision__amount")."""
    return queryset.alias(decision=FilteredRelation("decisions", condition=Q(decisions__is_current=True)))


def granted_in_tranche(*, tranche: Tranche) -> dict[str, Decimal]:
    """What each municipality (by CBS code) holds in the tranche by the decisions in force."""
    rows = (
        Decision.objects.current()
        .filter(application__tranche=tranche)
        .values("application__municipality__code")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {row["application__municipality__code"]: row["total"] for row in rows if row["total"]}


def granted_per_window(*, tranche: Tranche) -> dict[int, Decimal]:
    rows = (
        Decision.objects.current()
        .filter(application__tranche=tranche)
        .values("application__window_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {row["application__window_id"]: row["total"] or Decimal("0") for row in rows}


def _candidates(*, tranche: Tranche, windows: list[Window]) -> tuple[dict[int, list[Candidate]], dict[str, int]]:
    """The eligible applications of the windows, with the unit counts the category rules need."""
    rows = (
        Application.objects.filter(tranche=tranche, window__in=windows, status=Status.ELIGIBLE)
        .values("pk", "reference", "receipt_sequence", "municipality__code", "window_id", "received_at", "ranks_at")
        .annotate(
            requested=Sum("unit_lines__requested_amount", default=Decimal("0")),
            units=Sum("unit_lines__units", default=0),
            units_not_self_contained=Sum("unit_lines__units", filter=Q(unit_lines__self_contained=False), default=0),
            units_with_common_room=Sum("unit_lines__units", filter=Q(unit_lines__common_room=True), default=0),
        )
        .order_by()
    )
    by_completion = tranche.ranking_instant == RankingInstant.COMPLETION
    per_window: dict[int, list[Candidate]] = {window.pk: [] for window in windows}
    application_ids = {}
    for row in rows:
        application_ids[row["reference"]] = row["pk"]
        per_window[row["window_id"]].append(
            Candidate(
                reference=row["reference"],
                receipt_sequence=row["receipt_sequence"],
                municipality=row["municipality__code"],
                requested=row["requested"],
                ranked_at=row["ranks_at"] if by_completion else row["received_at"],
                units=row["units"],
                units_not_self_contained=row["units_not_self_contained"],
                units_with_common_room=row["units_with_common_room"],
            )
        )
    return per_window, application_ids


def _candidate_snapshot(window_code: str, candidate: Candidate) -> dict:
    return {
        "window": window_code,
        "reference": candidate.reference,
        "receipt_sequence": candidate.receipt_sequence,
        "municipality": candidate.municipality,
        "requested": decimal_text(candidate.requested),
        "ranked_at": candidate.ranked_at.isoformat(),
        "units": candidate.units,
        "units_not_self_contained": candidate.units_not_self_contained,
        "units_with_common_room": candidate.units_with_common_room,
    }


def _transfer_room(*, tranche: Tranche, window: Window) -> Decimal:
    """Unused budget of the tranche's other windows that already have a confirmed run."""
    confirmed = Window.objects.filter(tranche=tranche, allocation_runs__status=RunStatus.CONFIRMED).exclude(
        pk=window.pk
    )
    granted = granted_per_window(tranche=tranche)
    unused = sum((w.budget_ceiling - granted.get(w.pk, Decimal("0")) for w in confirmed), Decimal("0"))
    return max(Decimal("0"), unused)


def compute_allocation(
    *, tranche: Tranche, window: Window | None = None, seed: int, at: datetime | None = None
) -> ComputedAllocation:
    """Rank and allocate the eligible applications of one window, or of every window of the tranche.

    Uses the tranche's ceiling in force at `at` less what confirmed runs already granted. Writes nothing.
    """
    at = at or timezone.now()
    tranche = Tranche.objects.prefetch_related("amendments").get(pk=tranche.pk)
    windows = [window] if window is not None else list(tranche.windows.order_by("code"))
    per_window, application_ids = _candidates(tranche=tranche, windows=windows)
    granted = granted_in_tranche(tranche=tranche)
    tranche_ceiling = tranche.ceiling_at(at)
    tranche_room = max(Decimal("0"), tranche_ceiling - sum(granted.values(), Decimal("0")))
    transfer_room = (
        _transfer_room(tranche=tranche, window=window)
        if window is not None and tranche.transfer_unused_between_windows
        else Decimal("0")
    )
    inputs = [
        WindowInput(
            code=w.code,
            ceiling=w.budget_ceiling + transfer_room,
            candidates=per_window[w.pk],
            method=w.ranking_method,
            tie_break=w.tie_break,
            category_rule=w.category_rule,
        )
        for w in windows
    ]
    rules = {
        "tranche": tranche.slug,
        "prepared_at": at.isoformat(),
        "seed": seed,
        "ranking_instant": tranche.ranking_instant,
        "last_application_rule": tranche.last_application_rule,
        "max_per_municipality": decimal_text(tranche.max_per_municipality),
        "transfer_unused_between_windows": tranche.transfer_unused_between_windows,
        "tranche_ceiling": decimal_text(tranche_ceiling),
        "tranche_room": decimal_text(tranche_room),
        "granted_before": {code: decimal_text(amount) for code, amount in sorted(granted.items())},
        "windows": [
            {
                "code": w.code,
                "budget_ceiling": decimal_text(w.budget_ceiling),
                "ceiling": decimal_text(item.ceiling),
                "ranking_method": w.ranking_method,
                "tie_break": w.tie_break,
                "category_rule": w.category_rule,
            }
            for w, item in zip(windows, inputs, strict=True)
        ],
    }
    results = allocate_from_rules(rules=rules, inputs=inputs)
    for described, result in zip(rules["windows"], results, strict=True):
        described["lottery_day"] = result.lottery_day.isoformat() if result.lottery_day else None
        described["pro_rata_fraction"] = str(result.pro_rata_fraction) if result.pro_rata_fraction else None
        described["ceiling_used"] = decimal_text(result.ceiling)
        described["transferred_in"] = decimal_text(result.transferred_in)
    snapshot = [_candidate_snapshot(result.code, line.candidate) for result in results for line in result.lines]
    ceiling = min(inputs[0].ceiling, tranche_room) if window is not None else tranche_room
    return ComputedAllocation(
        tranche=tranche,
        window=window,
        seed=seed,
        prepared_at=at,
        windows={w.code: w for w in windows},
        results=results,
        application_ids=application_ids,
        inputs=snapshot,
        rules=rules,
        ceiling=ceiling,
    )


def allocate_from_rules(*, rules: dict, inputs: list[WindowInput]) -> list[WindowResult]:
    def money(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return allocate(
        inputs,
        seed=rules["seed"],
        tranche_room=Decimal(rules["tranche_room"]),
        rule=rules["last_application_rule"],
        municipal_cap=money(rules["max_per_municipality"]),
        municipal_granted={code: Decimal(amount) for code, amount in rules["granted_before"].items()},
        transfer=rules["transfer_unused_between_windows"],
    )


def reproduce_run(*, run: AllocationRun) -> list[WindowResult]:
    """Redo a run from nothing but its stored inputs and rules, as an auditor would."""
    if run.kind == RunKind.SUPPLEMENTARY:
        # Imported here: allocation.budget builds on this module. A supplementary run keeps the initial ranks.
        from .budget import reproduce_supplementary

        return reproduce_supplementary(run=run)
    candidates: dict[str, list[Candidate]] = {}
    for item in run.inputs:
        candidates.setdefault(item["window"], []).append(
            Candidate(
                reference=item["reference"],
                receipt_sequence=item["receipt_sequence"],
                municipality=item["municipality"],
                requested=Decimal(item["requested"]),
                ranked_at=datetime.fromisoformat(item["ranked_at"]),
                units=item["units"],
                units_not_self_contained=item["units_not_self_contained"],
                units_with_common_room=item["units_with_common_room"],
            )
        )
    inputs = [
        WindowInput(
            code=w["code"],
            ceiling=Decimal(w["ceiling"]),
            candidates=candidates.get(w["code"], []),
            method=w["ranking_method"],
            tie_break=w["tie_break"],
            category_rule=w["category_rule"],
        )
        for w in run.rules["windows"]
    ]
    return allocate_from_rules(rules=run.rules, inputs=inputs)


def run_is_reproducible(*, run: AllocationRun) -> bool:
    """True when redoing the run from its snapshot gives exactly the stored lines."""
    stored = list(
        run.lines.order_by("window__code", "rank").values_list(
            "window__code", "rank", "application__reference", "proposed", "outcome", "reason"
        )
    )
    redone = [
        (result.code, line.rank, line.candidate.reference, line.proposed, line.outcome, line.reason)
        for result in sorted(reproduce_run(run=run), key=lambda r: r.code)
        for line in result.lines
    ]
    return stored == redone


def _preview_line(
    rank, reference, municipality, ranked_at: datetime, category, drawn, requested, proposed, outcome, reason
) -> dict:
    return {
        "rank": rank,
        "reference": reference,
        "municipality_code": municipality,
        "ranking_instant": timezone.localtime(ranked_at).isoformat(),
        "category": category,
        "drawn": drawn,
        "requested": decimal_text(requested),
        "proposed": decimal_text(proposed),
        "outcome": str(outcome),
        "reason": str(reason),
    }


def _preview_document(*, tranche: str, seed: int, sha256: str, windows: list[tuple[str, str | None, list]]) -> dict:
    return {
        "tranche": tranche,
        "seed": seed,
        "ranked_list_sha256": sha256,
        "windows": [{"code": code, "lottery_day": day, "lines": lines} for code, day, lines in windows],
    }


def preview_document(*, computed: ComputedAllocation) -> dict:
    """A preview as `allocate --format json` prints it; docs/rules.md (Preview as JSON) describes it."""
    windows = [
        (
            described["code"],
            described["lottery_day"],
            [
                _preview_line(
                    line.rank,
                    line.candidate.reference,
                    line.candidate.municipality,
                    line.candidate.ranked_at,
                    line.category,
                    line.drawn,
                    line.requested,
                    line.proposed,
                    line.outcome,
                    line.reason,
                )
                for line in result.lines
            ],
        )
        for described, result in zip(computed.rules["windows"], computed.results, strict=True)
    ]
    return _preview_document(
        tranche=computed.tranche.slug, seed=computed.seed, sha256=computed.ranked_list_sha256, windows=windows
    )


def run_document(*, run: AllocationRun) -> dict:
    """A stored run in the form of preview_document(), with the ranking instants it stored among its inputs."""
    ranked_at = {item["reference"]: datetime.fromisoformat(item["ranked_at"]) for item in run.inputs}
    lines: dict[str, list[dict]] = {}
    for line in run_lines(run=run):
        reference = line.application.reference
        lines.setdefault(line.window.code, []).append(
            _preview_line(
                line.rank,
                reference,
                line.application.municipality.code,
                ranked_at[reference],
                line.category,
                line.drawn,
                line.requested,
                line.proposed,
                line.outcome,
                line.reason,
            )
        )
    windows = [(w["code"], w["lottery_day"], lines.get(w["code"], [])) for w in run.rules["windows"]]
    return _preview_document(tranche=run.tranche.slug, seed=run.seed, sha256=run.ranked_list_sha256, windows=windows)


def run_lines(*, run: AllocationRun) -> QuerySet[AllocationLine]:
    return run.lines.select_related("application__municipality", "window").order_by("window__code", "rank")


# The ranked list's columns, in the language of the request (gettext_noop marks them for translation).
RANKED_LIST_COLUMNS = (
    gettext_noop("window"),
    gettext_noop("rank"),
    gettext_noop("receipt number"),
    gettext_noop("CBS code"),
    gettext_noop("municipality"),
    gettext_noop("category"),
    gettext_noop("drawn by lot"),
    gettext_noop("requested"),
    gettext_noop("proposed"),
    gettext_noop("cumulative proposed"),
    gettext_noop("outcome"),
    gettext_noop("reason"),
    gettext_noop("funded past a skipped application"),
)


def ranked_list_table(*, run: AllocationRun) -> tuple[list[str], Iterator[list]]:
    """The run's ranked list for its export: the header and the rows, each line with its window's name, amounts as
    Decimal, outcome and reason in words, and yes/no as booleans (accounts.spreadsheets writes them as a cell).

    The last column is true on a line funded past an earlier one of its window left on the reserve list (rule skip):
    there the list has no single cut-off.
    """

    def rows() -> Iterator[list]:
        for _, window_lines in groupby(run_lines(run=run), key=lambda line: line.window_id):
            lines = list(window_lines)
            for line, passes in zip(lines, passing_skipped(lines), strict=True):
                yield [
                    line.window.name,
                    line.rank,
                    line.application.reference,
                    line.application.municipality.code,
                    line.application.municipality.name,
                    line.category,
                    line.drawn,
                    line.requested,
                    line.proposed,
                    line.cumulative,
                    line.get_outcome_display(),
                    line.get_reason_display(),
                    passes,
                ]

    return [gettext(column) for column in RANKED_LIST_COLUMNS], rows()


def decisions_visible_to(*, user) -> QuerySet[Decision]:
    qs = Decision.objects.select_related("application__municipality", "run__tranche")
    if user.is_agency:
        return qs
    if user.is_municipal:
        return qs.filter(application__municipality_id=user.municipality_id)
    return qs.none()


# --- the agency's work ----------------------------------------------------------------------------------


def previews_awaiting_approval(*, user) -> QuerySet[AllocationRun]:
    """The previews this user may confirm: an approver's, and not the ones they prepared (four eyes)."""
    if user.role != Role.AGENCY_APPROVER:
        return AllocationRun.objects.none()
    return (
        AllocationRun.objects.filter(status=RunStatus.PREVIEW)
        .exclude(prepared_by=user)
        .select_related("tranche", "window", "prepared_by")
        .order_by("prepared_at", "pk")
    )


def open_objections() -> QuerySet[Objection]:
    """Objections not yet decided, with `deadline_on`: the day the decision on objection is due (Awb 7:10), as
    extended; the earliest first."""
    return (
        Objection.objects.filter(outcome="")
        .select_related("contested__application__municipality", "contested__application__tranche", "handler")
        .annotate(deadline_on=Coalesce("extended_to", "decide_by"))
        .order_by("deadline_on", "pk")
    )
