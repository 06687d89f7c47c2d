"""Writes on what follows a grant: progress reports (an editor prepares, a signatory submits) and settlement
(an agency user prepares, another approver confirms). Each is one transaction and ends in a domain event."""

from __future__ import annotations

import logging
from datetime import date, datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from accounts.models import AuditAction
from accounts.permissions import enforce
from accounts.services import record_audit
from allocation.models import Decision
from applications.models import Application

from . import permissions, signals
from .models import (
    AccountabilityStatus,
    ProgressReport,
    ProgressStatus,
    RealisedUnits,
    Settlement,
    SettlementLine,
    SettlementStatus,
)
from .selectors import ComputedSettlement, compute_settlement

logger = logging.getLogger(__name__)


def _settlement_errors(*, decision: Decision, computed: ComputedSettlement, today: date) -> list[str]:
    problems = []
    completed_on = computed.report.completed_on if computed.report is not None else None
    accounted_until = computed.accountability.year if computed.accountability is not None else None
    if not decision.is_grant or not decision.is_current:
        problems.append(gettext("Only a grant can be settled; this application was refused."))
    elif Settlement.objects.filter(decision=decision).exists():
        problems.append(gettext("This grant already has a settlement; discard a prepared one to prepare it again."))
    elif completed_on is None and today <= decision.complete_by:
        problems.append(
            gettext("A grant is settled once its project is reported complete or its completion deadline has passed.")
        )
    elif completed_on is not None and (accounted_until is None or accounted_until < completed_on.year):
        # A completed project is settled on its accounts (SiSa) up to its completion; one that missed its deadline
        # is settled on what was certified by then, nothing when nothing was.
        problems.append(
            gettext(
                "A completed project is settled once the municipality's financial officer has certified the "
                "accountability report of its year of completion, %(year)s, or a later one."
            )
            % {"year": completed_on.year}
        )
    return problems


@transaction.atomic
def prepare_settlement(*, decision: Decision, user, now: datetime | None = None) -> Settlement:
    """Settle a grant from its latest progress report, for a second user with the approver role to confirm."""
    enforce(permissions.can_prepare_settlement(user))
    decision = Decision.objects.select_for_update().select_related("application").get(pk=decision.pk)
    now = now or timezone.now()
    computed = compute_settlement(decision=decision)
    problems = _settlement_errors(decision=decision, computed=computed, today=timezone.localdate(now))
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


def _settlement_text(settlement: Settlement) -> str:
    """A settlement in the audit log: the grant it settles and its money."""
    return (
        f"{settlement.decision.application.reference}: paid {settlement.amount_paid}, settled "
        f"{settlement.amount_settled}, to reclaim {settlement.amount_reclaimed}"
    )


@transaction.atomic
def confirm_settlement(*, settlement: Settlement, user, now: datetime | None = None) -> Settlement:
    """Four-eyes confirmation; a confirmed settlement is final and the totals are refreshed after commit."""
    enforce(permissions.can_confirm_settlement(user, settlement))
    settlement = Settlement.objects.select_for_update().select_related("decision__application").get(pk=settlement.pk)
    enforce(permissions.can_confirm_settlement(user, settlement))
    latest = settlement.decision.application.progress_reports.filter(is_latest=True).values_list("pk", flat=True)
    if settlement.progress_report_id != next(iter(latest), None):
        raise ValidationError(
            gettext("A newer progress report has come in since this settlement was prepared; prepare it again.")
        )
    certified = settlement.decision.application.accountability_reports.filter(
        status=AccountabilityStatus.CERTIFIED, certified_at__gt=settlement.prepared_at
    )
    if certified.exists():
        raise ValidationError(
            gettext("An accountability report has been certified since this settlement was prepared; prepare it again.")
        )
    settlement.status = SettlementStatus.CONFIRMED
    settlement.approved_by = user
    settlement.confirmed_at = now or timezone.now()
    settlement.save(update_fields=["status", "approved_by", "confirmed_at"])
    detail = _settlement_text(settlement)
    record_audit(action=AuditAction.CONFIRMATION, actor=user, target=settlement, detail=detail)
    record_audit(action=AuditAction.MONEY_CHANGE, actor=user, target=settlement, detail=detail)
    logger.info("settlement %s confirmed by %s", settlement.public_id, user)
    transaction.on_commit(partial(signals.settlement_confirmed.send, sender=Settlement, settlement=settlement))
    return settlement


@transaction.atomic
def discard_settlement(*, settlement: Settlement, user) -> None:
    enforce(permissions.can_discard_settlement(user, settlement))
    settlement = Settlement.objects.select_for_update().select_related("decision__application").get(pk=settlement.pk)
    enforce(permissions.can_discard_settlement(user, settlement))
    detail = f"{_settlement_text(settlement)}; prepared by {settlement.prepared_by}"
    record_audit(action=AuditAction.DISCARD, actor=user, target=settlement, detail=detail)
    settlement.delete()


# --- progress reports -----------------------------------------------------------------------------------


def _locked(application: Application) -> Application:
    return Application.objects.select_for_update().get(pk=application.pk)


def realised_field(unit_line_id: int) -> str:
    """The error key of the units realised on one unit line."""
    return f"realised-{unit_line_id}"


def progress_report_errors(
    *,
    application: Application,
    construction_started_on: date | None,
    completed_on: date | None,
    realised: dict[int, int | None],
    today: date,
) -> dict[str, list[str]]:
    """What is wrong with a progress report on `today`, by field; `realised` maps unit line ids to units."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if construction_started_on is not None and construction_started_on > today:
        add("construction_started_on", _("The start of construction cannot be in the future."))
    if completed_on is not None:
        if completed_on > today:
            add("completed_on", _("The completion cannot be in the future."))
        if construction_started_on is None:
            add("completed_on", _("A completed project has started: report the start of construction too."))
        elif completed_on < construction_started_on:
            add("completed_on", _("The completion cannot be before the start of construction."))
    lines = list(application.unit_lines.all())
    unknown = set(realised) - {line.pk for line in lines}
    if unknown:
        raise ValueError(f"not unit lines of this application: {sorted(unknown)}")
    for line in lines:
        units, field = realised.get(line.pk), realised_field(line.pk)
        if units is None:
            add(field, _("Give the number of units realised, 0 if none yet."))
        elif units < 0:
            add(field, _("The number of units realised cannot be negative."))
        elif units > line.units:
            add(field, _("At most %(units)s: the units granted on this line.") % {"units": line.units})
        elif units > 0 and construction_started_on is None:
            add(field, _("Units are realised only after construction started: report the start too."))
    return errors


def _refuse_if_settled(application: Application) -> None:
    settled = Settlement.objects.filter(decision__application=application, status=SettlementStatus.CONFIRMED)
    if settled.exists():
        raise ValidationError(_("This grant has been settled; its progress can no longer be reported."))


@transaction.atomic
def save_progress_report(
    *,
    application: Application,
    user,
    construction_started_on: date | None,
    completed_on: date | None,
    realised: dict[int, int | None],
    delay_remarks: str = "",
    now: datetime | None = None,
) -> ProgressReport:
    """Create or replace the application's draft progress report; a signatory submits it."""
    enforce(permissions.can_report_progress(user, application))
    application = _locked(application)
    _refuse_if_settled(application)
    now = now or timezone.now()
    errors = progress_report_errors(
        application=application,
        construction_started_on=construction_started_on,
        completed_on=completed_on,
        realised=realised,
        today=timezone.localdate(now),
    )
    if errors:
        raise ValidationError(errors)
    report = application.progress_reports.filter(status=ProgressStatus.DRAFT).first() or ProgressReport(
        application=application
    )
    report.construction_started_on = construction_started_on
    report.completed_on = completed_on
    report.delay_remarks = delay_remarks
    report.prepared_by = user
    report.prepared_at = now
    report.save()
    report.realised_units.all().delete()
    RealisedUnits.objects.bulk_create(
        RealisedUnits(report=report, unit_line_id=unit_line_id, units=units) for unit_line_id, units in realised.items()
    )
    return report


@transaction.atomic
def submit_progress_report(*, report: ProgressReport, user, now: datetime | None = None) -> ProgressReport:
    """Submit a draft report: from now on it is the application's latest report and is never changed."""
    enforce(permissions.can_submit_progress(user, report.application))
    application = _locked(report.application)
    report = ProgressReport.objects.select_for_update().get(pk=report.pk)
    if report.status != ProgressStatus.DRAFT:
        raise ValidationError(_("This progress report has already been submitted."))
    _refuse_if_settled(application)
    application.progress_reports.filter(is_latest=True).update(is_latest=False)
    report.status = ProgressStatus.SUBMITTED
    report.submitted_by = user
    report.submitted_at = now or timezone.now()
    report.is_latest = True
    report.save(update_fields=["status", "submitted_by", "submitted_at", "is_latest"])
    logger.info("progress report %s on application %s submitted by %s", report.public_id, application.public_id, user)
    transaction.on_commit(partial(signals.progress_reported.send, sender=ProgressReport, report=report))
    return report
