"""Writes on allocation: seal the lottery seed, preview, prepare, confirm and discard a run; later decisions.

Every step on a run leaves an AllocationEvent (who, when, what); a decision on one case (issue_decision) leaves
the decision chain and the application's StatusChange. The letters are made in allocation.decision_letters.

A preview is possible only after the tranche has closed and every application in it has been assessed, and only
with the tranche's sealed seed: the first preview seals one the system draws, unless the seed of an external draw
was entered and confirmed before.
"""

from __future__ import annotations

import calendar
import logging
import secrets
from datetime import date, datetime
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, gettext_noop, ngettext

from accounts.models import AuditAction
from accounts.permissions import enforce
from accounts.services import record_audit
from applications.models import Application, Status
from applications.services import record_decision
from grants.models import Tranche, Window

from . import permissions, signals
from .models import (
    MAX_SEED,
    AllocationEvent,
    AllocationLine,
    AllocationReason,
    AllocationRun,
    Decision,
    DecisionKind,
    DecisionOutcome,
    EventKind,
    LineOutcome,
    LotterySeed,
    RunKind,
    RunStatus,
    SeedSource,
)
from .selectors import ComputedAllocation, awaiting_assessment, compute_allocation, granted_per_window

logger = logging.getLogger(__name__)


def audit_text(message: str, **values) -> str:
    """An audit detail in the site's language, whoever's language the request had, so the trail reads as one."""
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(message) % values


def record_event(
    kind: str, *, tranche: Tranche, at: datetime, actor=None, window: Window | None = None, **fields
) -> None:
    AllocationEvent.objects.create(kind=kind, tranche=tranche, window=window, actor=actor, at=at, **fields)


def lock_tranche(tranche_id: int) -> Tranche:
    # The tranche row is the lock of everything allocation writes for it: seals, previews and confirmations of one
    # tranche happen one at a time.
    return Tranche.objects.select_for_update().prefetch_related("amendments").get(pk=tranche_id)


@transaction.atomic
def enter_external_seed(
    *, tranche: Tranche, user, seed: int, reference: str, now: datetime | None = None
) -> LotterySeed:
    """Record the seed of an external draw (e.g. a notary's) for a second person to seal.

    Replaces an external seed not yet sealed, e.g. one entered with a typing error; a sealed seed never changes.
    """
    enforce(permissions.can_enter_seed(user))
    reference = reference.strip()
    if not reference:
        raise ValidationError({"external_reference": gettext("Say where the seed was drawn.")})
    if not 0 <= seed <= MAX_SEED:
        raise ValidationError({"seed": gettext("A seed is a whole number from 0 to %(max)s.") % {"max": MAX_SEED}})
    now = now or timezone.now()
    tranche = lock_tranche(tranche.pk)
    current = LotterySeed.objects.filter(tranche=tranche).first()
    if current is not None and current.is_sealed:
        raise ValidationError(gettext("The lottery seed of this tranche is sealed and can no longer be changed."))
    lottery_seed, _ = LotterySeed.objects.update_or_create(
        tranche=tranche,
        defaults={
            "seed": seed,
            "source": SeedSource.EXTERNAL,
            "external_reference": reference,
            "entered_by": user,
            "entered_at": now,
            "sealed_by": None,
            "sealed_at": None,
        },
    )
    detail = audit_text(gettext_noop("External draw: %(reference)s"), reference=reference)
    record_event(EventKind.SEED_ENTERED, tranche=tranche, at=now, actor=user, seed=seed, detail=detail)
    logger.info("external seed entered for %s by %s", tranche.slug, user)
    return lottery_seed


@transaction.atomic
def confirm_external_seed(*, tranche: Tranche, user, seed: int, now: datetime | None = None) -> LotterySeed:
    """Four eyes: a second agency user seals the external seed, typing it again from the draw's record."""
    now = now or timezone.now()
    tranche = lock_tranche(tranche.pk)
    lottery_seed = LotterySeed.objects.filter(tranche=tranche).first()
    if lottery_seed is None:
        raise ValidationError(gettext("No seed of an external draw has been entered for this tranche."))
    enforce(permissions.can_confirm_seed(user, lottery_seed))
    if seed != lottery_seed.seed:
        raise ValidationError({"seed": gettext("This is not the seed that was entered; check the record of the draw.")})
    lottery_seed.sealed_by, lottery_seed.sealed_at = user, now
    lottery_seed.save(update_fields=["sealed_by", "sealed_at"])
    detail = audit_text(
        gettext_noop("External draw: %(reference)s; entered by %(user)s."),
        reference=lottery_seed.external_reference,
        user=lottery_seed.entered_by,
    )
    record_event(EventKind.SEED_SEALED, tranche=tranche, at=now, actor=user, seed=seed, detail=detail)
    record_audit(
        action=AuditAction.CONFIRMATION,
        actor=user,
        target=lottery_seed,
        detail=f"external seed of {tranche.slug} sealed; entered by {lottery_seed.entered_by}",
    )
    logger.info("external seed of %s sealed by %s", tranche.slug, user)
    return lottery_seed


def _sealed_seed(*, tranche: Tranche, user, now: datetime) -> int:
    """The tranche's sealed seed; without one the system draws and seals it now, before the list is made."""
    lottery_seed = LotterySeed.objects.filter(tranche=tranche).first()
    if lottery_seed is None:
        lottery_seed = LotterySeed.objects.create(
            tranche=tranche,
            seed=secrets.randbelow(10**9),
            source=SeedSource.SYSTEM,
            entered_at=now,
            sealed_by=user,
            sealed_at=now,
        )
        detail = audit_text(gettext_noop("Drawn by the system at the first preview."))
        record_event(EventKind.SEED_SEALED, tranche=tranche, at=now, actor=user, seed=lottery_seed.seed, detail=detail)
        detail = f"seed of {tranche.slug} drawn by the system and sealed at the first preview"
        record_audit(action=AuditAction.CONFIRMATION, actor=user, target=lottery_seed, detail=detail)
        logger.info("seed of %s drawn and sealed at the first preview", tranche.slug)
    elif not lottery_seed.is_sealed:
        raise ValidationError(
            gettext("The seed of an external draw awaits confirmation by a second person; previews wait for it.")
        )
    return lottery_seed.seed


def _refuse_unless_closed_and_assessed(*, tranche: Tranche, window: Window | None, now: datetime) -> None:
    closing = tranche.closes_at_in_force(now)
    if now < closing:
        raise ValidationError(
            gettext("The tranche is open until %(closing)s; allocation waits until it has closed.")
            % {"closing": f"{timezone.localtime(closing):%d-%m-%Y %H:%M}"}
        )
    waiting = awaiting_assessment(tranche=tranche, window=window)
    if waiting:
        raise ValidationError(
            ngettext(
                "%(count)s application is still awaiting assessment: %(references)s.",
                "%(count)s applications are still awaiting assessment: %(references)s.",
                len(waiting),
            )
            % {"count": len(waiting), "references": ", ".join(waiting)}
        )


def _refuse_if_confirmed(*, tranche: Tranche, window: Window | None) -> None:
    confirmed = AllocationRun.objects.filter(tranche=tranche, status=RunStatus.CONFIRMED, kind=RunKind.INITIAL)
    if window is not None:
        confirmed = confirmed.filter(Q(window__isnull=True) | Q(window=window))
    if confirmed.exists():
        raise ValidationError(gettext("This window already has a confirmed allocation."))


def _preview(*, tranche: Tranche, window: Window | None, user, now: datetime) -> ComputedAllocation:
    """Rank and allocate with the sealed seed once the tranche has closed and its applications are assessed."""
    if window is not None and window.tranche_id != tranche.pk:
        raise ValidationError({"window": gettext("This window is not part of the tranche.")})
    tranche = lock_tranche(tranche.pk)
    _refuse_if_confirmed(tranche=tranche, window=window)
    _refuse_unless_closed_and_assessed(tranche=tranche, window=window, now=now)
    seed = _sealed_seed(tranche=tranche, user=user, now=now)
    return compute_allocation(tranche=tranche, window=window, seed=seed, at=now)


@transaction.atomic
def preview_allocation(
    *, tranche: Tranche, account: str, window: Window | None = None, now: datetime | None = None
) -> ComputedAllocation:
    """A preview printed by the `allocate` command, which stores no run; recorded like every preview.

    No agency user makes it: `account` is the operating system account that ran the command.
    """
    now = now or timezone.now()
    computed = _preview(tranche=tranche, window=window, user=None, now=now)
    record_event(
        EventKind.PREVIEWED,
        tranche=tranche,
        window=window,
        at=now,
        seed=computed.seed,
        ranked_list_sha256=computed.ranked_list_sha256,
        detail=audit_text(gettext_noop("Printed by the allocate command (account %(account)s)."), account=account),
    )
    record_audit(
        action=AuditAction.PREVIEW,
        actor_name=account,
        target=tranche,
        detail=f"printed by the allocate command; ranked list {computed.ranked_list_sha256}",
    )
    return computed


@transaction.atomic
def prepare_allocation(
    *, tranche: Tranche, user, window: Window | None = None, now: datetime | None = None
) -> AllocationRun:
    """Rank and allocate as a preview and store it, with its inputs and rules, for a second user to confirm.

    The run uses the tranche's sealed seed and cannot choose another; window=None allocates every window.
    """
    enforce(permissions.can_prepare_allocation(user))
    now = now or timezone.now()
    computed = _preview(tranche=tranche, window=window, user=user, now=now)
    run = store_run(computed=computed, user=user, now=now, kind=RunKind.INITIAL)
    record_event(
        EventKind.PREVIEWED,
        tranche=tranche,
        window=window,
        at=now,
        actor=user,
        run_public_id=run.public_id,
        seed=run.seed,
        ranked_list_sha256=run.ranked_list_sha256,
        detail=audit_text(gettext_noop("Stored as a preview run.")),
    )
    record_audit(action=AuditAction.PREVIEW, actor=user, target=run, detail=run_summary(run))
    logger.info("allocation run %s prepared by %s for %s (seed %s)", run.public_id, user, tranche.slug, run.seed)
    return run


def run_summary(run: AllocationRun) -> str:
    """What the audit log says of a run: its scope and its money, in cents whatever the database gave back."""
    scope = run.window.code if run.window_id else "all windows"
    return (
        f"{run.get_kind_display()} run of {run.tranche.slug} ({scope}): {run.proposed_total:.2f} proposed "
        f"of {run.requested_total:.2f} requested, ceiling {run.ceiling:.2f}"
    )


def store_run(*, computed: ComputedAllocation, user, now: datetime, kind: str) -> AllocationRun:
    """Store a computed allocation as a preview run with its lines, inputs and rules."""
    run = AllocationRun.objects.create(
        tranche=computed.tranche,
        window=computed.window,
        kind=kind,
        seed=computed.seed,
        prepared_by=user,
        prepared_at=now,
        ceiling=computed.ceiling,
        requested_total=computed.requested,
        proposed_total=computed.proposed,
        oversubscription=computed.oversubscription,
        inputs=computed.inputs,
        rules=computed.rules,
        ranked_list_sha256=computed.ranked_list_sha256,
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
    return run


@transaction.atomic
def discard_allocation(*, run: AllocationRun, user, now: datetime | None = None) -> None:
    """Delete a preview run; its events, and the one recording the discard, stay."""
    enforce(permissions.can_discard_allocation(user, run))
    run = AllocationRun.objects.select_for_update(of=("self",)).select_related("tranche", "window").get(pk=run.pk)
    enforce(permissions.can_discard_allocation(user, run))
    record_event(
        EventKind.DISCARDED,
        tranche=run.tranche,
        window=run.window,
        at=now or timezone.now(),
        actor=user,
        run_public_id=run.public_id,
        seed=run.seed,
        ranked_list_sha256=run.ranked_list_sha256,
    )
    record_audit(action=AuditAction.DISCARD, actor=user, target=run, detail=run_summary(run))
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
        _set_obligations(decision, obligations=fresh_obligations(tranche=tranche, decided_on=decided_on))
    return decision


OBLIGATION_FIELDS = ("start_construction_by", "complete_by", "units_available_until")


def fresh_obligations(*, tranche: Tranche, decided_on: date) -> dict[str, date]:
    """The deadlines of a grant decided on `decided_on`: start and completion, then the years for the target groups."""
    complete_by = add_months(decided_on, tranche.months_to_complete)
    return {
        "start_construction_by": add_months(decided_on, tranche.months_to_start),
        "complete_by": complete_by,
        "units_available_until": add_months(complete_by, 12 * tranche.years_for_target_groups),
    }


def _set_obligations(decision: Decision, *, obligations: dict[str, date | None]) -> None:
    for name in OBLIGATION_FIELDS:
        setattr(decision, name, obligations[name])


OUTCOME_STATUSES = {
    DecisionOutcome.GRANTED: Status.GRANTED,
    DecisionOutcome.PARTIALLY_GRANTED: Status.PARTIALLY_GRANTED,
    DecisionOutcome.REFUSED: Status.REFUSED,
    DecisionOutcome.WITHDRAWN: Status.GRANT_WITHDRAWN,
}


def _outcome(*, amount: Decimal, requested: Decimal, was_granted: bool) -> str:
    if amount == requested:
        return DecisionOutcome.GRANTED
    if amount > 0:
        return DecisionOutcome.PARTIALLY_GRANTED
    return DecisionOutcome.WITHDRAWN if was_granted else DecisionOutcome.REFUSED


def lock_current_decision(application: Application) -> Decision | None:
    """Lock the application's tranche, then its decision in force (None before one); call inside a transaction.

    Always in this order, as allocation runs lock them, so that two writes on the same tranche cannot deadlock.
    """
    list(Tranche.objects.select_for_update().filter(pk=application.tranche_id).values_list("pk", flat=True))
    return (
        Decision.objects.select_for_update(of=("self",))
        .select_related("application__tranche", "application__municipality")
        .filter(application_id=application.pk, is_current=True)
        .first()
    )


@transaction.atomic
def issue_decision(
    *,
    application: Application,
    kind: str,
    amount: Decimal,
    user,
    explanation: str,
    on: date | None = None,
    over_commitment: Decimal = Decimal(0),
    obligations_from: Decision | None = None,
    run: AllocationRun | None = None,
    reason: str = "",
    requested: Decimal | None = None,
) -> Decision:
    """Issue a decision on one application that replaces the one in force, as part of the caller's transaction.

    Locks the tranche (the lock of every allocation write for it, so a decision and a supplementary run never
    interleave) and the decision in force. The outcome follows from `amount` against the amount requested:
    granted, partially granted, or at 0 withdrawn when there was a grant before (also a withdrawn one) and
    refused when there never was one. The obligation dates: those of `obligations_from` when given (a change of
    the obligations), else those of the decision replaced when that was a grant (a lowered or raised grant keeps
    its deadlines), else fresh ones counted from `on` as a run's decisions are (a grant replacing a refusal).

    `run` and `reason` are for a supplementary run's grants; `over_commitment` for a grant on objection above
    what the ceiling had left; `requested` for a change of units, which changes what the lines request (by default
    the amount requested stays that of the decision replaced). The application's status follows
    (applications.services.record_decision, which leaves the StatusChange); after commit the letter is made and the
    totals refreshed (signals.decision_issued; a run's grants are announced by the run's confirmation instead).
    """
    on = on or timezone.localdate()
    old = lock_current_decision(application)
    if old is None:
        raise ValidationError(gettext("This application has no decision yet; a later decision must replace one."))
    requested = old.requested if requested is None else requested
    if not Decimal(0) <= amount <= requested:
        raise ValidationError(
            {
                "amount": gettext("The amount must lie between 0 and the amount requested, € %(requested)s.")
                % {"requested": formats.number_format(requested, 2, use_l10n=True, force_grouping=True)}
            }
        )
    was_granted = old.is_grant or old.outcome == DecisionOutcome.WITHDRAWN
    outcome = _outcome(amount=amount, requested=requested, was_granted=was_granted)
    new = Decision(
        application_id=application.pk,
        kind=kind,
        run=run,
        replaces=old,
        outcome=outcome,
        requested=requested,
        amount=amount,
        over_commitment=over_commitment,
        reason=reason,
        explanation=explanation,
        decision_date=on,
        decided_by=user,
    )
    if outcome in (DecisionOutcome.GRANTED, DecisionOutcome.PARTIALLY_GRANTED):
        if obligations_from is not None:
            source = {name: getattr(obligations_from, name) for name in OBLIGATION_FIELDS}
        elif old.is_grant:
            source = {name: getattr(old, name) for name in OBLIGATION_FIELDS}
        else:
            source = fresh_obligations(tranche=old.application.tranche, decided_on=on)
        _set_obligations(new, obligations=source)
    # Saved first: the constraint allows one decision in force per application.
    old.is_current = False
    old.save(update_fields=["is_current"])
    new.save()
    with translation.override(settings.LANGUAGE_CODE):
        record_decision(
            application=old.application,
            user=user,
            status=OUTCOME_STATUSES[outcome],
            reason=explanation or str(DecisionKind(kind).label),
        )
    record_audit(
        action=AuditAction.MONEY_CHANGE,
        actor=user,
        target=new,
        detail=f"{old.application.reference}: {kind} decision, grant {old.amount} -> {new.amount}",
    )
    logger.info("decision %s (%s, %s) issued on %s", new.public_id, kind, outcome, old.application.reference)
    if run is None:
        # A run's grants are announced together when it is confirmed (signals.run_confirmed).
        transaction.on_commit(partial(signals.decision_issued.send, sender=Decision, decision=new))
    return new


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
    enforce(permissions.can_confirm_allocation(user, run))
    now = now or timezone.now()
    tranche = lock_tranche(run.tranche_id)
    run = AllocationRun.objects.select_for_update().get(pk=run.pk)
    enforce(permissions.can_confirm_allocation(user, run))
    if run.kind != RunKind.INITIAL:
        raise ValidationError(gettext("A supplementary run is confirmed as a run of the reserve list."))
    _refuse_if_confirmed(tranche=tranche, window=run.window)
    _refuse_unless_closed_and_assessed(tranche=tranche, window=run.window, now=now)
    if not LotterySeed.objects.filter(tranche=tranche, seed=run.seed, sealed_at__isnull=False).exists():
        # A preview stored before seeds were sealed may carry a seed its preparer chose.
        raise ValidationError(
            gettext("This preview was not made with the sealed seed of the tranche; prepare a new one.")
        )
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
    record_event(
        EventKind.CONFIRMED,
        tranche=tranche,
        window=run.window,
        at=now,
        actor=user,
        run_public_id=run.public_id,
        seed=run.seed,
        ranked_list_sha256=run.ranked_list_sha256,
        detail=audit_text(gettext_noop("Decisions issued: %(count)s."), count=len(lines)),
    )
    record_audit(action=AuditAction.CONFIRMATION, actor=user, target=run, detail=run_summary(run))
    granted = sum((line.proposed for line in lines), Decimal(0))
    detail = f"decisions issued: {len(lines)}, granted in {tranche.slug}: {granted}"
    record_audit(action=AuditAction.MONEY_CHANGE, actor=user, target=run, detail=detail)
    logger.info("allocation run %s confirmed by %s: %s decisions", run.public_id, user, len(lines))
    transaction.on_commit(
        partial(signals.run_confirmed.send, sender=AllocationRun, run=run, generate_letters=generate_letters)
    )
    return run
