"""Writes on tranche amendments: one agency user prepares a published change, another confirms or discards it.

Only confirmed amendments count. The ceiling and the closing in force are derived from them by the instant they
take effect (Tranche.ceiling_at, Tranche.closes_at_in_force); a window ceiling or a maximum is written into its
window or tranche on confirmation, so that every reader of that field sees the value in force.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import AuditAction
from accounts.permissions import enforce
from accounts.services import record_audit

from .models import WRITTEN_KINDS, AmendmentKind, AmendmentStatus, Tranche, TrancheAmendment, UnitKind, Window
from .permissions import can_confirm_amendment, can_discard_amendment, can_prepare_amendment
from .templatetags.instants import format_instant
from .templatetags.money import format_euro

logger = logging.getLogger(__name__)

Value = Decimal | datetime | None


def amendment_values(
    *,
    kind: str,
    new_ceiling: Decimal | None = None,
    new_closes_at: datetime | None = None,
    new_amount: Decimal | None = None,
    window: Window | None = None,
    unit_kind: str = "",
) -> dict:
    """The values an amendment of this kind keeps; those of other kinds, e.g. left over in a form, are dropped."""
    return {
        "new_ceiling": new_ceiling if kind == AmendmentKind.CEILING else None,
        "new_closes_at": new_closes_at if kind == AmendmentKind.CLOSING else None,
        "new_amount": new_amount if kind in WRITTEN_KINDS else None,
        "window": window if kind == AmendmentKind.WINDOW_CEILING else None,
        "unit_kind": unit_kind if kind == AmendmentKind.MAX_PER_UNIT else "",
    }


def _value_fields(kind: str) -> tuple[str, str]:
    """The amendment's columns for the old and the new value of this kind."""
    if kind == AmendmentKind.CEILING:
        return "old_ceiling", "new_ceiling"
    if kind == AmendmentKind.CLOSING:
        return "old_closes_at", "new_closes_at"
    return "old_amount", "new_amount"


def _written_field(*, tranche: Tranche, kind: str, window: Window | None, unit_kind: str) -> tuple[models.Model, str]:
    """The row and field that a confirmed amendment of one of the WRITTEN_KINDS writes."""
    if kind == AmendmentKind.WINDOW_CEILING:
        return window, "budget_ceiling"
    if kind == AmendmentKind.MAX_PER_UNIT:
        return tranche, unit_kind
    return tranche, "max_per_municipality"


def _value_in_force(
    *, tranche: Tranche, kind: str, effective_at: datetime, window: Window | None, unit_kind: str
) -> Value:
    """What an unconfirmed amendment replaces: the value in force when it takes effect."""
    if kind == AmendmentKind.CEILING:
        return tranche.ceiling_at(effective_at)
    if kind == AmendmentKind.CLOSING:
        return tranche.closes_at_in_force(effective_at)
    row, field = _written_field(tranche=tranche, kind=kind, window=window, unit_kind=unit_kind)
    return getattr(row, field)


def _value_text(value: Value) -> str:
    if value is None:
        return gettext("none")
    return format_instant(value) if isinstance(value, datetime) else format_euro(value)


def _tranche_created_at(tranche: Tranche) -> datetime | None:
    return (
        tranche.history.filter(history_type="+").order_by("history_date").values_list("history_date", flat=True).first()
    )


def _windows_total(tranche: Tranche) -> Decimal:
    return sum(tranche.windows.values_list("budget_ceiling", flat=True), Decimal("0"))


def _value_errors(*, tranche: Tranche, kind: str, values: dict, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    new_amount, window = values["new_amount"], values["window"]
    if kind == AmendmentKind.CEILING:
        if values["new_ceiling"] is None or values["new_ceiling"] <= 0:
            add("new_ceiling", gettext("Give the new ceiling, in euros."))
        elif (total := _windows_total(tranche)) > values["new_ceiling"]:
            add(
                "new_ceiling",
                gettext("The windows add up to %(total)s, above this ceiling: amend their ceilings first.")
                % {"total": format_euro(total)},
            )
    elif kind == AmendmentKind.CLOSING:
        if values["new_closes_at"] is None:
            add("new_closes_at", gettext("Give the new closing instant."))
        elif values["new_closes_at"] <= tranche.opens_at:
            add("new_closes_at", gettext("The new closing must be after the opening."))
    elif kind == AmendmentKind.WINDOW_CEILING:
        if window is None or window.tranche_id != tranche.pk:
            add("window", gettext("Choose a window of this tranche."))
        if new_amount is None or new_amount <= 0:
            add("new_amount", gettext("Give the new amount, in euros."))
        elif window is not None and window.tranche_id == tranche.pk:
            total = _windows_total(tranche) - window.budget_ceiling + new_amount
            ceiling = tranche.ceiling_at(now)
            if total > ceiling:
                add(
                    "new_amount",
                    gettext("The windows would add up to %(total)s, above the tranche's ceiling in force, %(ceiling)s.")
                    % {"total": format_euro(total), "ceiling": format_euro(ceiling)},
                )
    elif kind == AmendmentKind.MAX_PER_UNIT and values["unit_kind"] not in UnitKind.values:
        add("unit_kind", gettext("Choose which maximum per unit the amendment changes."))
    else:
        # Empty means no maximum per municipality, or short-stay units no longer eligible, as on the tranche.
        may_be_empty = kind == AmendmentKind.MAX_PER_MUNICIPALITY or values["unit_kind"] == UnitKind.SHORT_STAY
        if new_amount is None and not may_be_empty:
            add("new_amount", gettext("Give the new amount, in euros."))
        elif new_amount is not None and new_amount <= 0:
            add("new_amount", gettext("The new amount must be more than zero."))
    return errors


def amendment_errors(
    *,
    tranche: Tranche,
    kind: str,
    new_ceiling: Decimal | None = None,
    new_closes_at: datetime | None = None,
    new_amount: Decimal | None = None,
    window: Window | None = None,
    unit_kind: str = "",
    effective_at: datetime | None = None,
    publication_reference: str = "",
    now: datetime | None = None,
    amendment: TrancheAmendment | None = None,
) -> dict[str, list[str]]:
    """What is wrong with a new amendment of this tranche, by field name; `amendment` when confirming it.

    Checked against every amendment not discarded, prepared ones included, so that two cannot wait for
    confirmation with the same publication or instant. A form whose own field validation failed has no instant
    or reference to give: the checks that need them wait until it has. The services always give both.
    """
    if kind not in AmendmentKind.values:
        return {"kind": [gettext("Choose what the amendment changes.")]}
    now = now or timezone.now()
    values = amendment_values(
        kind=kind,
        new_ceiling=new_ceiling,
        new_closes_at=new_closes_at,
        new_amount=new_amount,
        window=window,
        unit_kind=unit_kind,
    )
    errors = _value_errors(tranche=tranche, kind=kind, values=values, now=now)

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    same_kind = TrancheAmendment.all_objects.filter(
        tranche=tranche, kind=kind, window=values["window"], unit_kind=values["unit_kind"]
    ).exclude(status=AmendmentStatus.DISCARDED)
    if amendment is not None:
        same_kind = same_kind.exclude(pk=amendment.pk)
    if publication_reference.strip() in {a.publication_reference for a in same_kind}:
        add(
            "publication_reference",
            gettext("An amendment of this kind from this publication has already been recorded."),
        )
    if effective_at is None:
        return errors
    created_at = _tranche_created_at(tranche)
    if created_at is not None and effective_at < created_at:
        add(
            "effective_at",
            gettext("An amendment cannot take effect before the tranche was created (%(at)s).")
            % {"at": format_instant(created_at)},
        )
    if kind in WRITTEN_KINDS and effective_at > now:
        add(
            "effective_at",
            gettext(
                "A window ceiling or a maximum changes when its amendment is confirmed, so it cannot take effect "
                "in the future: record it once it has taken effect."
            ),
        )
    if any(a.effective_at == effective_at for a in same_kind):
        add("effective_at", gettext("Another amendment of this kind takes effect at the same instant."))
    # A closing may take effect after the tranche closed: that reopens it, as the 2022 extension did.
    if kind == AmendmentKind.CLOSING and values["new_closes_at"] and values["new_closes_at"] <= effective_at:
        add("new_closes_at", gettext("The new closing must be after the amendment takes effect."))
    return errors


def _describe(amendment: TrancheAmendment) -> str:
    """An amendment in the audit log: its tranche, kind, publication and the values before and after."""
    old, new = (getattr(amendment, field) for field in _value_fields(amendment.kind))
    old, new = (value.isoformat() if isinstance(value, datetime) else value for value in (old, new))
    return f"{amendment.tranche.slug} {amendment.kind} {amendment.publication_reference}, {old} -> {new}"


@transaction.atomic
def prepare_amendment(
    *,
    tranche: Tranche,
    kind: str,
    publication_reference: str,
    effective_at: datetime,
    user,
    new_ceiling: Decimal | None = None,
    new_closes_at: datetime | None = None,
    new_amount: Decimal | None = None,
    window: Window | None = None,
    unit_kind: str = "",
) -> TrancheAmendment:
    """Record a published change with the value it replaces, for another agency user to confirm.

    It counts only once confirmed (confirm_amendment). The tranche row stays locked until commit, so two
    amendments prepared at once are checked one after the other.
    """
    enforce(can_prepare_amendment(user))
    if timezone.is_naive(effective_at):
        raise ValueError("effective_at must be an aware datetime")
    tranche = Tranche.objects.select_for_update().get(pk=tranche.pk)
    if window is not None:
        # The value it replaces is read from the row, not from the caller's copy.
        window = Window.objects.select_for_update().get(pk=window.pk)
    values = amendment_values(
        kind=kind,
        new_ceiling=new_ceiling,
        new_closes_at=new_closes_at,
        new_amount=new_amount,
        window=window,
        unit_kind=unit_kind,
    )
    publication_reference = publication_reference.strip()
    errors = amendment_errors(
        tranche=tranche, kind=kind, effective_at=effective_at, publication_reference=publication_reference, **values
    )
    if errors:
        raise ValidationError(errors)
    old_field, _new_field = _value_fields(kind)
    amendment = TrancheAmendment(
        tranche=tranche,
        kind=kind,
        publication_reference=publication_reference,
        effective_at=effective_at,
        status=AmendmentStatus.PREPARED,
        prepared_by=user,
        **values,
        **{
            old_field: _value_in_force(
                tranche=tranche,
                kind=kind,
                effective_at=effective_at,
                window=values["window"],
                unit_kind=values["unit_kind"],
            )
        },
    )
    amendment.full_clean()
    amendment.save()
    record_audit(action=AuditAction.AMENDMENT, actor=user, target=amendment, detail=f"prepared: {_describe(amendment)}")
    logger.info(
        "tranche %s: %s amendment %s, taking effect at %s, prepared by %s",
        tranche.slug,
        kind,
        publication_reference,
        effective_at.isoformat(),
        user,
    )
    return amendment


@transaction.atomic
def confirm_amendment(*, amendment: TrancheAmendment, user, now: datetime | None = None) -> TrancheAmendment:
    """Four eyes: an approver other than the preparer confirms an amendment, which counts from then on.

    A window ceiling or a maximum is written into its window or tranche now. Refused when the value it replaces
    has changed since it was prepared: the approver confirms what the preparer saw. The tranche row stays locked
    until commit, as when an allocation is confirmed, so the two never see each other halfway.
    """
    enforce(can_confirm_amendment(user, amendment))
    now = now or timezone.now()
    tranche = Tranche.objects.select_for_update().get(pk=amendment.tranche_id)
    amendment = TrancheAmendment.all_objects.select_for_update().get(pk=amendment.pk)
    enforce(can_confirm_amendment(user, amendment))
    window = Window.objects.select_for_update().get(pk=amendment.window_id) if amendment.window_id else None
    old_field, new_field = _value_fields(amendment.kind)
    errors = amendment_errors(
        tranche=tranche,
        kind=amendment.kind,
        new_ceiling=amendment.new_ceiling,
        new_closes_at=amendment.new_closes_at,
        new_amount=amendment.new_amount,
        window=window,
        unit_kind=amendment.unit_kind,
        effective_at=amendment.effective_at,
        publication_reference=amendment.publication_reference,
        now=now,
        amendment=amendment,
    )
    in_force = _value_in_force(
        tranche=tranche,
        kind=amendment.kind,
        effective_at=amendment.effective_at,
        window=window,
        unit_kind=amendment.unit_kind,
    )
    if in_force != getattr(amendment, old_field):
        errors.setdefault(NON_FIELD_ERRORS, []).append(
            gettext(
                "The value this amendment replaces has changed to %(value)s since it was prepared: discard it "
                "and record it again."
            )
            % {"value": _value_text(in_force)}
        )
    if errors:
        raise ValidationError(errors)
    if amendment.kind in WRITTEN_KINDS:
        row, field = _written_field(tranche=tranche, kind=amendment.kind, window=window, unit_kind=amendment.unit_kind)
        setattr(row, field, getattr(amendment, new_field))
        # The row's history names who confirmed the change and under which publication.
        row._history_user = user
        row._change_reason = amendment.publication_reference
        row.save(update_fields=[field])
    amendment.status, amendment.confirmed_by, amendment.confirmed_at = AmendmentStatus.CONFIRMED, user, now
    amendment.save(update_fields=["status", "confirmed_by", "confirmed_at"])
    record_audit(
        action=AuditAction.AMENDMENT,
        actor=user,
        target=amendment,
        detail=f"confirmed: {_describe(amendment)}; prepared by {amendment.prepared_by}",
    )
    logger.info(
        "tranche %s: %s amendment %s confirmed by %s, prepared by %s",
        tranche.slug,
        amendment.kind,
        amendment.publication_reference,
        user,
        amendment.prepared_by,
    )
    return amendment


@transaction.atomic
def discard_amendment(
    *, amendment: TrancheAmendment, user, reason: str, now: datetime | None = None
) -> TrancheAmendment:
    """Set a prepared amendment aside, with who, when and why; it stays as a trace and never counts."""
    enforce(can_discard_amendment(user, amendment))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"discard_reason": gettext("Say why the amendment is discarded.")})
    amendment = TrancheAmendment.all_objects.select_for_update().get(pk=amendment.pk)
    enforce(can_discard_amendment(user, amendment))
    amendment.status, amendment.discarded_by = AmendmentStatus.DISCARDED, user
    amendment.discarded_at, amendment.discard_reason = now or timezone.now(), reason
    amendment.save(update_fields=["status", "discarded_by", "discarded_at", "discard_reason"])
    record_audit(
        action=AuditAction.AMENDMENT,
        actor=user,
        target=amendment,
        detail=f"discarded: {_describe(amendment)}; reason: {reason}",
    )
    logger.info(
        "tranche %s: %s amendment %s discarded by %s",
        amendment.tranche.slug,
        amendment.kind,
        amendment.publication_reference,
        user,
    )
    return amendment
