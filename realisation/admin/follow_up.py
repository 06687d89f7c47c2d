"""Back office for following up grants: progress reports, overdue deadlines and the settlement (vaststelling).

Everything here is read-only; preparing, confirming and discarding a settlement are admin actions that call
realisation.services, which check the four-eyes rule again.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.security import reauthentication_required
from allocation.selectors import current_decision
from grants.admin import ReadOnlyAdmin, ReadOnlyInline, short_date
from grants.admin import euro_or_dash as euro
from grants.admin import instant_or_dash as amsterdam_time

from .. import selectors, services
from ..models import (
    AccountabilityReport,
    AccountabilityUnits,
    GrantFollowUp,
    ProgressReport,
    RealisedUnits,
    Settlement,
    SettlementLine,
    SettlementStatus,
)


def _report_outcomes(model_admin, request, objects, service: Callable, describe: Callable) -> None:
    """Call the service once per object and report each outcome; one refusal stops nothing else."""
    for obj in objects:
        try:
            result = service(obj)
        except (ValidationError, PermissionDenied) as error:
            reason = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            model_admin.message_user(request, f"{obj}: {reason}", messages.ERROR)
        else:
            model_admin.message_user(request, describe(obj, result), messages.SUCCESS)


# --- progress reports -----------------------------------------------------------------------------------


class RealisedUnitsInline(ReadOnlyInline):
    model = RealisedUnits
    fields = ("unit_line", "granted", "units")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit_line__target_group", "unit_line__housing_type")

    @admin.display(description=gettext_lazy("units granted"))
    def granted(self, row: RealisedUnits) -> int:
        return row.unit_line.units


@admin.register(ProgressReport)
class ProgressReportAdmin(ReadOnlyAdmin):
    list_display = ("application", "municipality", "status", "construction_started_on", "completed_on", "submitted")
    list_filter = ("status", "is_latest", "application__tranche")
    search_fields = ("application__reference", "application__project_name", "application__municipality__name")
    fields = (
        "application",
        "status",
        "is_latest",
        "construction_started_on",
        "completed_on",
        "delay_remarks",
        "prepared_by",
        "prepared",
        "submitted_by",
        "submitted",
    )
    readonly_fields = ("prepared", "submitted")
    inlines = (RealisedUnitsInline,)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("application__municipality", "prepared_by", "submitted_by")
            .order_by("-submitted_at", "-pk")
        )

    @admin.display(description=gettext_lazy("municipality"), ordering="application__municipality__name")
    def municipality(self, report: ProgressReport) -> str:
        return report.application.municipality.name

    @admin.display(description=gettext_lazy("prepared at"), ordering="prepared_at")
    def prepared(self, report: ProgressReport) -> str:
        return amsterdam_time(report.prepared_at)

    @admin.display(description=gettext_lazy("submitted at"), ordering="submitted_at")
    def submitted(self, report: ProgressReport) -> str:
        return amsterdam_time(report.submitted_at)


# --- follow-up of grants --------------------------------------------------------------------------------


class AttentionFilter(admin.SimpleListFilter):
    title = gettext_lazy("overdue")
    parameter_name = "overdue"
    CONDITIONS = {
        "any": selectors.NEEDS_ATTENTION,
        "report": selectors.REPORT_OVERDUE,
        "start": selectors.START_MISSED,
        "completion": selectors.COMPLETION_MISSED,
    }

    def lookups(self, request, model_admin):
        return [
            ("any", _("anything overdue")),
            ("report", _("progress report overdue")),
            ("start", _("start deadline missed")),
            ("completion", _("completion deadline missed")),
        ]

    def queryset(self, request, queryset):
        condition = self.CONDITIONS.get(self.value())
        return queryset if condition is None else queryset.filter(condition)


def _deadline_and_day(deadline, day, done: str) -> str:
    """The deadline and, once there, the day it was done (`done` with %(day)s), one under the other: two dates in
    one narrow column."""
    due = _("by %(day)s") % {"day": short_date(deadline)}
    if day is None:
        return due
    return format_html("{}<br>{}", due, done % {"day": short_date(day)})


@admin.register(GrantFollowUp)
class GrantFollowUpAdmin(ReadOnlyAdmin):
    """Granted applications with their deadlines, latest report and settlement, to follow up and settle."""

    # The project's name is on the grant's page and found by the search: the list fits 1280 px without it.
    list_display = (
        "reference",
        "municipality",
        "granted",
        "start",
        "completion",
        "next_due",
        "overdue",
        "settlement",
    )
    list_filter = (AttentionFilter, "tranche", "decisions__settlement__status", "municipality__province")
    search_fields = ("reference", "project_name", "municipality__name", "municipality__code")
    list_select_related = ("municipality",)
    actions = ("prepare_settlement",)
    fields = ("reference", "municipality", "project_name", "granted", "start_by", "started", "complete_by_date")
    readonly_fields = fields

    def get_queryset(self, request):
        grants = GrantFollowUp.objects.select_related("municipality")
        return selectors.with_progress(grants, today=timezone.localdate()).order_by(
            "decision__complete_by", "reference"
        )

    def has_settle_permission(self, request) -> bool:
        return request.user.is_staff and request.user.is_agency

    @admin.display(description=gettext_lazy("amount granted"), ordering="amount_granted")
    def granted(self, grant: GrantFollowUp) -> str:
        return euro(grant.amount_granted)

    @admin.display(description=gettext_lazy("start construction by"), ordering="start_construction_by")
    def start_by(self, grant: GrantFollowUp):
        return grant.start_construction_by

    @admin.display(description=gettext_lazy("construction started"), ordering="started_on")
    def started(self, grant: GrantFollowUp):
        return grant.started_on

    @admin.display(description=gettext_lazy("start of construction"), ordering="start_construction_by")
    def start(self, grant: GrantFollowUp) -> str:
        return _deadline_and_day(grant.start_construction_by, grant.started_on, _("started on %(day)s"))

    @admin.display(description=gettext_lazy("completion"), ordering="complete_by")
    def completion(self, grant: GrantFollowUp) -> str:
        return _deadline_and_day(grant.complete_by, grant.completed_on, _("completed on %(day)s"))

    @admin.display(description=gettext_lazy("complete by"), ordering="complete_by")
    def complete_by_date(self, grant: GrantFollowUp):
        return grant.complete_by

    @admin.display(description=gettext_lazy("next report due"), ordering="next_report_due")
    def next_due(self, grant: GrantFollowUp) -> str:
        return short_date(grant.next_report_due)

    @admin.display(description=gettext_lazy("overdue"))
    def overdue(self, grant: GrantFollowUp) -> str:
        flags = [
            (grant.report_overdue, _("report overdue")),
            (grant.start_missed, _("start deadline missed")),
            (grant.completion_missed, _("completion deadline missed")),
        ]
        return ", ".join(str(label) for flag, label in flags if flag) or "–"

    @admin.display(description=gettext_lazy("settlement"), ordering="settlement_status")
    def settlement(self, grant: GrantFollowUp) -> str:
        return SettlementStatus(grant.settlement_status).label if grant.settlement_status else "–"

    @admin.action(description=gettext_lazy("Prepare settlement"), permissions=["settle"])
    def prepare_settlement(self, request, queryset):
        _report_outcomes(
            self,
            request,
            queryset,
            lambda grant: services.prepare_settlement(decision=current_decision(application=grant), user=request.user),
            lambda grant, settlement: (
                _("%(reference)s: settlement prepared, %(settled)s settled, %(reclaimed)s to reclaim.")
                % {
                    "reference": grant.reference,
                    "settled": euro(settlement.amount_settled),
                    "reclaimed": euro(settlement.amount_reclaimed),
                }
            ),
        )


# --- settlements ----------------------------------------------------------------------------------------


class SettlementLineInline(ReadOnlyInline):
    model = SettlementLine
    fields = ("unit_line", "units_granted", "units_realised", "share", "settled")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit_line__target_group", "unit_line__housing_type")

    @admin.display(description=gettext_lazy("share of the grant"))
    def share(self, line: SettlementLine) -> str:
        return euro(line.amount_granted)

    @admin.display(description=gettext_lazy("amount settled"))
    def settled(self, line: SettlementLine) -> str:
        return euro(line.amount_settled)


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "municipality",
        "status",
        "units",
        "paid",
        "settled",
        "reclaimed",
        "prepared_by",
        "approved_by",
        "confirmed",
    )
    list_filter = ("status", "decision__application__tranche")
    search_fields = ("decision__application__reference", "decision__application__municipality__name")
    fields = (
        "decision",
        "progress_report",
        "status",
        "units",
        "paid",
        "settled",
        "reclaimed",
        "prepared_by",
        "prepared",
        "approved_by",
        "confirmed",
    )
    readonly_fields = fields
    inlines = (SettlementLineInline,)
    actions = ("confirm", "discard")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("decision__application__municipality", "prepared_by", "approved_by", "progress_report")
        )

    def has_settle_permission(self, request) -> bool:
        return request.user.is_staff and request.user.is_agency

    @admin.display(description=gettext_lazy("receipt number"), ordering="decision__application__reference")
    def reference(self, settlement: Settlement) -> str:
        return settlement.decision.application.reference

    @admin.display(description=gettext_lazy("municipality"))
    def municipality(self, settlement: Settlement) -> str:
        return settlement.decision.application.municipality.name

    @admin.display(description=gettext_lazy("units realised"))
    def units(self, settlement: Settlement) -> str:
        return f"{settlement.units_realised} / {settlement.units_granted}"

    @admin.display(description=gettext_lazy("amount paid"), ordering="amount_paid")
    def paid(self, settlement: Settlement) -> str:
        return euro(settlement.amount_paid)

    @admin.display(description=gettext_lazy("amount settled"), ordering="amount_settled")
    def settled(self, settlement: Settlement) -> str:
        return euro(settlement.amount_settled)

    @admin.display(description=gettext_lazy("amount to reclaim"), ordering="amount_reclaimed")
    def reclaimed(self, settlement: Settlement) -> str:
        return euro(settlement.amount_reclaimed)

    @admin.display(description=gettext_lazy("prepared at"), ordering="prepared_at")
    def prepared(self, settlement: Settlement) -> str:
        return amsterdam_time(settlement.prepared_at)

    @admin.display(description=gettext_lazy("confirmed at"), ordering="confirmed_at")
    def confirmed(self, settlement: Settlement) -> str:
        return amsterdam_time(settlement.confirmed_at)

    @admin.action(description=gettext_lazy("Confirm settlement (four eyes)"), permissions=["settle"])
    @reauthentication_required
    def confirm(self, request, queryset):
        _report_outcomes(
            self,
            request,
            queryset,
            lambda settlement: services.confirm_settlement(settlement=settlement, user=request.user),
            lambda settlement, _result: _("%(settlement)s: confirmed.") % {"settlement": settlement},
        )

    @admin.action(description=gettext_lazy("Discard prepared settlement"), permissions=["settle"])
    def discard(self, request, queryset):
        _report_outcomes(
            self,
            request,
            queryset,
            lambda settlement: services.discard_settlement(settlement=settlement, user=request.user),
            lambda settlement, _result: _("%(settlement)s: discarded.") % {"settlement": settlement},
        )


# --- accountability (SiSa) ------------------------------------------------------------------------------


def _agency_reads(request) -> bool:
    # Every agency user reads the accounts, as the settlement rests on them.
    return request.user.is_staff and request.user.is_agency


class AccountabilityUnitsInline(ReadOnlyInline):
    model = AccountabilityUnits
    fields = ("target_group", "units_realised")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("target_group")

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) or _agency_reads(request)


@admin.register(AccountabilityReport)
class AccountabilityReportAdmin(ReadOnlyAdmin):
    """The municipalities' yearly accounts of their grants, read-only: they are prepared and certified in the portal."""

    list_display = (
        "application",
        "municipality",
        "year",
        "status",
        "spent",
        "spent_to_date",
        "obligations_met",
        "units_used_for_target_groups",
        "certified",
    )
    list_filter = ("status", "year", "obligations_met", "units_used_for_target_groups", "application__tranche")
    search_fields = ("application__reference", "application__project_name", "application__municipality__name")
    fields = (
        "application",
        "year",
        "status",
        "spent",
        "spent_to_date",
        "obligations_met",
        "units_used_for_target_groups",
        "remarks",
        "prepared_by",
        "prepared",
        "certified_by",
        "certified",
    )
    readonly_fields = ("spent", "spent_to_date", "prepared", "certified")
    inlines = (AccountabilityUnitsInline,)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("application__municipality", "prepared_by", "certified_by")
            .order_by("-year", "application__reference")
        )

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) or _agency_reads(request)

    def has_module_permission(self, request) -> bool:
        return super().has_module_permission(request) or _agency_reads(request)

    @admin.display(description=gettext_lazy("municipality"), ordering="application__municipality__name")
    def municipality(self, report: AccountabilityReport) -> str:
        return report.application.municipality.name

    @admin.display(description=gettext_lazy("amount spent"), ordering="amount_spent")
    def spent(self, report: AccountabilityReport) -> str:
        return euro(report.amount_spent)

    @admin.display(description=gettext_lazy("amount spent to date"), ordering="amount_spent_cumulative")
    def spent_to_date(self, report: AccountabilityReport) -> str:
        return euro(report.amount_spent_cumulative)

    @admin.display(description=gettext_lazy("prepared at"), ordering="prepared_at")
    def prepared(self, report: AccountabilityReport) -> str:
        return amsterdam_time(report.prepared_at)

    @admin.display(description=gettext_lazy("certified at"), ordering="certified_at")
    def certified(self, report: AccountabilityReport) -> str:
        return amsterdam_time(report.certified_at)
