"""A municipality waives (doet afstand van) its grant in full or in part; the grant is lowered at once.

The waiver is the municipality's own act, so no second person at the agency confirms it: the signatory who may
bind the municipality submits it with a reason, and one transaction records the Waiver (amount before and after)
and issues the decision of kind waiver that lowers the grant. Waiving frees budget for the reserve list.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext

from accounts.permissions import enforce
from applications.models import Application

from . import permissions
from .budget import is_settled
from .models import Decision, DecisionKind, Waiver
from .services import issue_decision, lock_current_decision

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")


def lowerable_grant(*, application: Application, amount_after: Decimal, field: str) -> Decision:
    """Lock and return the grant in force that `amount_after` lowers; refused when it cannot be lowered to that.

    A grant in force only, not yet settled, to an amount in whole cents from 0 up to (not including) the grant.
    """
    in_force = lock_current_decision(application)
    if in_force is None or not in_force.is_grant:
        raise ValidationError(gettext("This application has no grant in force."))
    if is_settled(application=application):
        raise ValidationError(gettext("This grant has been settled and can no longer be lowered."))
    if amount_after < 0 or amount_after != amount_after.quantize(CENT):
        raise ValidationError({field: gettext("Give an amount in euros and cents, 0 or more.")})
    if amount_after >= in_force.amount:
        raise ValidationError(
            {
                field: gettext("The new amount must be below the amount granted, € %(amount)s.")
                % {"amount": formats.number_format(in_force.amount, 2, use_l10n=True, force_grouping=True)}
            }
        )
    return in_force


@transaction.atomic
def waive_grant(
    *, application: Application, user, amount_after: Decimal, reason: str, now: datetime | None = None
) -> Waiver:
    """Waive the grant down to `amount_after` (0: in full), with the municipality's reason; returns the Waiver."""
    enforce(permissions.can_waive_grant(user, application))
    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": gettext("Say why the municipality waives the grant.")})
    in_force = lowerable_grant(application=application, amount_after=amount_after, field="amount_after")
    decision = issue_decision(
        application=in_force.application,
        kind=DecisionKind.WAIVER,
        amount=amount_after,
        user=user,
        explanation=reason,
        on=timezone.localdate(now),
    )
    waiver = Waiver.objects.create(
        decision=decision,
        amount_before=in_force.amount,
        amount_after=amount_after,
        reason=reason,
        submitted_by=user,
        submitted_at=now,
    )
    logger.info("grant on %s waived by %s: %s to %s", application.reference, user, in_force.amount, amount_after)
    return waiver
