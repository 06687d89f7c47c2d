"""Writes on the reserve list: preview, prepare and confirm a supplementary run that grants budget come free.

A supplementary run covers the whole tranche. It offers what is left of the ceilings in force (allocation.budget)
to the applications still refused for lack of budget, in the rank order of the confirmed initial runs and under
the tranche's rules, with the tranche's sealed seed. One agency user prepares it, an approver confirms it (four
eyes); every step leaves an AllocationEvent. Confirming issues a grant (kind supplementary) to each application
the run funds, replacing its refusal; earlier grants stay as they are.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.models import AuditAction
from accounts.permissions import enforce
from accounts.services import record_audit
from grants.models import Tranche

from . import permissions, signals
from .budget import compute_supplementary
from .models import AllocationRun, DecisionKind, EventKind, LotterySeed, RunKind, RunStatus
from .selectors import ComputedAllocation
from .services import audit_text, issue_decision, lock_tranche, record_event, run_summary, store_run

logger = logging.getLogger(__name__)


def _supplementary(*, tranche: Tranche, now: datetime) -> ComputedAllocation:
    """The reserve list allocated with the budget left; refused while there is nothing to allocate."""
    tranche = lock_tranche(tranche.pk)
    initial = AllocationRun.objects.filter(tranche=tranche, kind=RunKind.INITIAL, status=RunStatus.CONFIRMED)
    if not initial.exists():
        raise ValidationError(gettext("This tranche has no confirmed allocation yet, so no reserve list."))
    lottery_seed = LotterySeed.objects.filter(tranche=tranche, sealed_at__isnull=False).first()
    if lottery_seed is None:
        raise ValidationError(gettext("This tranche has no sealed lottery seed."))
    computed = compute_supplementary(tranche=tranche, seed=lottery_seed.seed, at=now)
    if computed.ceiling <= 0:
        raise ValidationError(gettext("No budget is left in this tranche for the reserve list."))
    if not computed.inputs:
        raise ValidationError(gettext("Nobody is on the reserve list of this tranche."))
    return computed


@transaction.atomic
def preview_supplementary(*, tranche: Tranche, account: str, now: datetime | None = None) -> ComputedAllocation:
    """A supplementary run printed by the `allocate` command, which stores nothing; recorded like every preview."""
    now = now or timezone.now()
    computed = _supplementary(tranche=tranche, now=now)
    record_event(
        EventKind.PREVIEWED,
        tranche=tranche,
        at=now,
        seed=computed.seed,
        ranked_list_sha256=computed.ranked_list_sha256,
        detail=audit_text(
            gettext_noop("Reserve list printed by the allocate command (account %(account)s)."), account=account
        ),
    )
    record_audit(
        action=AuditAction.PREVIEW,
        actor_name=account,
        target=tranche,
        detail=f"reserve list printed by the allocate command; ranked list {computed.ranked_list_sha256}",
    )
    return computed


@transaction.atomic
def prepare_supplementary(*, tranche: Tranche, user, now: datetime | None = None) -> AllocationRun:
    """Allocate the budget left over the reserve list and store it as a preview run for an approver to confirm."""
    enforce(permissions.can_prepare_allocation(user))
    now = now or timezone.now()
    computed = _supplementary(tranche=tranche, now=now)
    run = store_run(computed=computed, user=user, now=now, kind=RunKind.SUPPLEMENTARY)
    record_event(
        EventKind.PREVIEWED,
        tranche=tranche,
        at=now,
        actor=user,
        run_public_id=run.public_id,
        seed=run.seed,
        ranked_list_sha256=run.ranked_list_sha256,
        detail=audit_text(
            gettext_noop("Supplementary run of the reserve list stored as a preview; budget left € %(left)s."),
            left=run.ceiling,
        ),
    )
    record_audit(action=AuditAction.PREVIEW, actor=user, target=run, detail=run_summary(run))
    logger.info("supplementary run %s prepared by %s for %s", run.public_id, user, tranche.slug)
    return run


def _proposals(computed: ComputedAllocation) -> list[tuple[int, Decimal]]:
    return [
        (computed.application_ids[line.candidate.reference], line.proposed)
        for result in computed.results
        for line in result.lines
    ]


@transaction.atomic
def confirm_supplementary(
    *, run: AllocationRun, user, now: datetime | None = None, generate_letters: bool = True
) -> AllocationRun:
    """Four-eyes confirmation of a supplementary run: each application it funds gets a grant replacing its refusal.

    Refused when the budget left or the reserve list changed since the preview (a waiver, a withdrawal, an
    amendment, another run): confirming then could grant what is no longer there, so a new preview is needed.
    Letters follow after commit, and the totals (signals.run_confirmed).
    """
    enforce(permissions.can_confirm_allocation(user, run))
    now = now or timezone.now()
    tranche = lock_tranche(run.tranche_id)
    run = AllocationRun.objects.select_for_update().get(pk=run.pk)
    enforce(permissions.can_confirm_allocation(user, run))
    if run.kind != RunKind.SUPPLEMENTARY:
        raise ValidationError(gettext("This is not a supplementary run of the reserve list."))
    lines = list(run.lines.select_related("application").order_by("window__code", "rank"))
    try:
        redone = _supplementary(tranche=tranche, now=now)
    except ValidationError:
        redone = None
    stored = [(line.application_id, line.proposed) for line in lines]
    if redone is None or redone.seed != run.seed or stored != _proposals(redone):
        raise ValidationError(
            gettext("The budget left or the reserve list has changed since this preview; prepare a new one.")
        )
    run.status, run.approved_by, run.confirmed_at = RunStatus.CONFIRMED, user, now
    run.save(update_fields=["status", "approved_by", "confirmed_at"])
    explanation = audit_text(gettext_noop("Granted from the reserve list because budget came free."))
    funded = [line for line in lines if line.proposed > 0]
    for line in funded:
        issue_decision(
            application=line.application,
            kind=DecisionKind.SUPPLEMENTARY,
            amount=line.proposed,
            user=user,
            explanation=explanation,
            on=timezone.localdate(now),
            run=run,
            reason=line.reason,
        )
    record_event(
        EventKind.CONFIRMED,
        tranche=tranche,
        at=now,
        actor=user,
        run_public_id=run.public_id,
        seed=run.seed,
        ranked_list_sha256=run.ranked_list_sha256,
        detail=audit_text(gettext_noop("Grants issued from the reserve list: %(count)s."), count=len(funded)),
    )
    # Each grant is a change of money of its own, recorded by issue_decision.
    record_audit(action=AuditAction.CONFIRMATION, actor=user, target=run, detail=run_summary(run))
    logger.info("supplementary run %s confirmed by %s: %s grants", run.public_id, user, len(funded))
    transaction.on_commit(
        partial(signals.run_confirmed.send, sender=AllocationRun, run=run, generate_letters=generate_letters)
    )
    return run
