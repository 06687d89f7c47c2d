"""Writes on settlements of grants: prepare, confirm and discard, four-eyes."""

from __future__ import annotations

import logging
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .. import permissions, tasks
from ..models import Decision, DecisionOutcome, Settlement, SettlementLine, SettlementStatus
from ..selectors.settlement import compute_settlement
from .allocation import _deny

logger = logging.getLogger(__name__)


def _settlement_errors(*, decision: Decision, completed: bool, today: date) -> list[str]:
    problems = []
    if decision.outcome == DecisionOutcome.REFUSED or decision.amount <= 0:
        problems.append(gettext("Only a grant can be settled; this application was refused."))
    elif Settlement.objects.filter(decision=decision).exists():
        problems.append(gettext("This grant already has a settlement; discard a prepared one to prepare it again."))
    elif not completed and today <= decision.complete_by:
        problems.append(
            gettext("A grant is settled once its project is reported complete or its completion deadline has passed.")
        )
    return problems


@transaction.atomic
def prepare_settlement(*, decision: Decision, user, now: datetime | None = None) -> Settlement:
    """Settle a grant from its latest progress report, for a second user with the approver role to confirm."""
    _deny(permissions.can_prepare_settlement(user))
    decision = Decision.objects.select_for_update().select_related("application").get(pk=decision.pk)
    now = now or timezone.now()
    computed = compute_settlement(decision=decision)
    completed = computed.report is not None and computed.report.completed_on is not None
    problems = _settlement_errors(decision=decision, completed=completed, today=timezone.localdate(now))
    if problems:
        raise ValidationError(problems)
    settlement = Settlement.objects.create(
        decision=decision,
        progress_report=computed.report,
        units_granted=computed.units_granted,
        units_realised=computed.units_realised,
        amount_paid=computed.amount_paid,
        amount_settled=computed.amount_settled,
        amount_reclaimed=computed.amount_reclaimed,
        prepared_by=user,
        prepared_at=now,
    )
    SettlementLine.objects.bulk_create(
        SettlementLine(
            settlement=settlement,
            unit_line=line.unit_line,
            units_granted=line.units_granted,
            units_realised=line.units_realised,
            amount_granted=line.amount_granted,
            amount_settled=line.amount_settled,
        )
        for line in computed.lines
    )
    logger.info(
        "settlement %s of %s prepared by %s: settled %s, reclaim %s",
        settlement.public_id,
        decision.application.reference,
        user,
        settlement.amount_settled,
        settlement.amount_reclaimed,
    )
    return settlement


@transaction.atomic
def confirm_settlement(*, settlement: Settlement, user, now: datetime | None = None) -> Settlement:
    """Four-eyes confirmation; a confirmed settlement is final and the totals are refreshed after commit."""
    _deny(permissions.can_confirm_settlement(user, settlement))
    settlement = Settlement.objects.select_for_update().select_related("decision__application").get(pk=settlement.pk)
    _deny(permissions.can_confirm_settlement(user, settlement))
    latest = settlement.decision.application.progress_reports.filter(is_latest=True).values_list("pk", flat=True)
    if settlement.progress_report_id != next(iter(latest), None):
        raise ValidationError(
            gettext("A newer progress report has come in since this settlement was prepared; prepare it again.")
        )
    settlement.status = SettlementStatus.CONFIRMED
    settlement.approved_by = user
    settlement.confirmed_at = now or timezone.now()
    settlement.save(update_fields=["status", "approved_by", "confirmed_at"])
    logger.info("settlement %s confirmed by %s", settlement.public_id, user)
    transaction.on_commit(tasks.refresh_totals.delay)
    return settlement


@transaction.atomic
def discard_settlement(*, settlement: Settlement, user) -> None:
    _deny(permissions.can_discard_settlement(user, settlement))
    settlement = Settlement.objects.select_for_update().get(pk=settlement.pk)
    _deny(permissions.can_discard_settlement(user, settlement))
    settlement.delete()
