"""Writes on allocation runs and decisions: prepare, confirm and discard a run, and the decision letters."""

from __future__ import annotations

import calendar
import logging
import secrets
from datetime import date, datetime
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from applications.models import Application, Status
from applications.permissions import enforce
from applications.services import record_decision
from grants.models import Tranche, Window

from . import permissions, signals
from .models import (
    AllocationLine,
    AllocationReason,
    AllocationRun,
    Decision,
    DecisionOutcome,
    LineOutcome,
    RunStatus,
)
from .selectors import compute_allocation, granted_per_window

logger = logging.getLogger(__name__)


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
    enforce(permissions.can_prepare_allocation(user))
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
    enforce(permissions.can_discard_allocation(user, run))
    run = AllocationRun.objects.select_for_update().get(pk=run.pk)
    enforce(permissions.can_discard_allocation(user, run))
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
    enforce(permissions.can_confirm_allocation(user, run))
    now = now or timezone.now()
    tranche = Tranche.objects.select_for_update().prefetch_related("amendments").get(pk=run.tranche_id)
    run = AllocationRun.objects.select_for_update().get(pk=run.pk)
    enforce(permissions.can_confirm_allocation(user, run))
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
    transaction.on_commit(
        partial(signals.run_confirmed.send, sender=AllocationRun, run=run, generate_letters=generate_letters)
    )
    return run


def render_decision_letter(*, decision: Decision) -> str:
    """The decision letter (beschikking) as HTML, in Dutch."""
    application = decision.application
    lines = application.unit_lines.select_related("target_group", "housing_type")
    with translation.override("nl"):
        return render_to_string(
            "allocation/decision_letter.html",
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
