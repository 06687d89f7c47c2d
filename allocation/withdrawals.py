"""The agency withdraws (intrekking) or lowers a grant before it is settled, on a ground of Awb 4:48 lid 1.

Four eyes: an assessor or approver prepares the withdrawal with its ground, reason and new amount; another
approver confirms it, and only then is the decision of kind withdrawal issued. A withdrawal prepared on a
decision that has since been replaced (a waiver, an objection) cannot be confirmed: it is discarded and
prepared again. The Withdrawal row, with both amounts and both users, is the audit record; a discard is
recorded in the audit log before the prepared row goes.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import AuditAction
from accounts.permissions import enforce
from accounts.services import record_audit
from applications.models import Application

from . import permissions
from .budget import is_settled
from .models import DecisionKind, ProposalStatus, Withdrawal, WithdrawalGround
from .services import issue_decision, lock_current_decision
from .waivers import lowerable_grant

logger = logging.getLogger(__name__)


@transaction.atomic
def prepare_withdrawal(
    *,
    application: Application,
    user,
    amount_after: Decimal,
    ground: str,
    reason: str,
    now: datetime | None = None,
) -> Withdrawal:
    """Prepare withdrawing the grant (amount_after 0) or lowering it, for another approver to confirm."""
    enforce(permissions.can_prepare_withdrawal(user))
    now = now or timezone.now()
    reason = reason.strip()
    errors = {}
    if ground not in WithdrawalGround.values:
        errors["ground"] = gettext("Choose the ground of the withdrawal.")
    if not reason:
        errors["reason"] = gettext("Give the reasons, as the decision will state them.")
    if errors:
        raise ValidationError(errors)
    in_force = lowerable_grant(application=application, amount_after=amount_after, field="amount_after")
    if Withdrawal.objects.filter(withdrawn=in_force, status=ProposalStatus.PREPARED).exists():
        raise ValidationError(gettext("A withdrawal of this grant already awaits confirmation."))
    withdrawal = Withdrawal.objects.create(
        withdrawn=in_force,
        ground=ground,
        reason=reason,
        amount_before=in_force.amount,
        amount_after=amount_after,
        prepared_by=user,
        prepared_at=now,
    )
    logger.info("withdrawal %s of %s prepared by %s", withdrawal.public_id, application.reference, user)
    return withdrawal


def _locked(withdrawal: Withdrawal) -> Withdrawal:
    return (
        Withdrawal.objects.select_for_update(of=("self",))
        .select_related("withdrawn__application")
        .get(pk=withdrawal.pk)
    )


@transaction.atomic
def confirm_withdrawal(*, withdrawal: Withdrawal, user, now: datetime | None = None) -> Withdrawal:
    """Four eyes: issue the decision that withdraws or lowers the grant, as prepared."""
    enforce(permissions.can_confirm_withdrawal(user, withdrawal))
    now = now or timezone.now()
    # The tranche and the decision in force first, as every decision locks them; then the withdrawal.
    in_force = lock_current_decision(withdrawal.withdrawn.application)
    withdrawal = _locked(withdrawal)
    enforce(permissions.can_confirm_withdrawal(user, withdrawal))
    if in_force is None or in_force.pk != withdrawal.withdrawn_id:
        raise ValidationError(
            gettext("The grant has changed since this withdrawal was prepared; discard it and prepare a new one.")
        )
    if is_settled(application=in_force.application):
        raise ValidationError(gettext("This grant has been settled and can no longer be lowered."))
    decision = issue_decision(
        application=in_force.application,
        kind=DecisionKind.WITHDRAWAL,
        amount=withdrawal.amount_after,
        user=user,
        explanation=withdrawal.reason,
        on=timezone.localdate(now),
    )
    withdrawal.status, withdrawal.approved_by, withdrawal.confirmed_at = ProposalStatus.CONFIRMED, user, now
    withdrawal.decision = decision
    withdrawal.save(update_fields=["status", "approved_by", "confirmed_at", "decision"])
    record_audit(
        action=AuditAction.CONFIRMATION,
        actor=user,
        target=withdrawal,
        detail=f"{in_force.application.reference}: {withdrawal.amount_before} -> {withdrawal.amount_after}, "
        f"{withdrawal.ground}, prepared by {withdrawal.prepared_by}",
    )
    logger.info("withdrawal %s confirmed by %s", withdrawal.public_id, user)
    return withdrawal


@transaction.atomic
def discard_withdrawal(*, withdrawal: Withdrawal, user) -> None:
    """Delete a prepared withdrawal; the audit log keeps who discarded what."""
    enforce(permissions.can_discard_withdrawal(user, withdrawal))
    withdrawal = _locked(withdrawal)
    enforce(permissions.can_discard_withdrawal(user, withdrawal))
    record_audit(
        action=AuditAction.DISCARD,
        actor=user,
        target=withdrawal,
        detail=(
            f"{withdrawal.withdrawn.application.reference}: {withdrawal.amount_before} -> {withdrawal.amount_after}, "
            f"{withdrawal.ground}, prepared by {withdrawal.prepared_by}"
        ),
    )
    logger.info("withdrawal %s discarded by %s", withdrawal.public_id, user)
    withdrawal.delete()
