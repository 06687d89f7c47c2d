"""Back office for decisions and what lowers them: the decision chain, waivers and withdrawals.

Read-only pages; a withdrawal is prepared from a grant's decision page (Withdraw or lower) and confirmed or
discarded by admin actions, each one call to allocation.withdrawals, which checks the four-eyes rule again.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.security import reauthentication_required
from grants.admin import ReadOnlyAdmin, short_date
from grants.admin import euro_or_dash as euro
from grants.admin import instant_or_dash as amsterdam_time

from .. import permissions, selectors
from ..models import Decision, Waiver, Withdrawal, WithdrawalGround
from ..withdrawals import confirm_withdrawal, discard_withdrawal, prepare_withdrawal


def _is_agency_staff(request) -> bool:
    # Waivers and withdrawals are the agency's to read; allocation.permissions decides who may act.
    return request.user.is_active and request.user.is_staff and request.user.is_agency


def _report_outcomes(model_admin, request, objects, service: Callable, done: str) -> None:
    """Call the service once per object and report each outcome; one refusal stops nothing else."""
    for obj in objects:
        try:
            service(obj)
        except (ValidationError, PermissionDenied) as error:
            reason = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            model_admin.message_user(request, f"{obj}: {reason}", messages.ERROR)
        else:
            model_admin.message_user(request, f"{obj}: {done}", messages.SUCCESS)


class WithdrawalForm(forms.Form):
    amount_after = forms.DecimalField(
        label=gettext_lazy("New amount"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=gettext_lazy("0 withdraws the grant; a lower amount lowers it."),
    )
    ground = forms.ChoiceField(label=gettext_lazy("Ground (Awb 4:48 lid 1)"), choices=WithdrawalGround.choices)
    reason = forms.CharField(
        label=gettext_lazy("Reasons"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("As the decision will state them to the municipality."),
    )


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    # The obligation dates are on the decision's page and in the grant follow-up: the list fits 1280 px without them.
    list_display = ("reference", "municipality", "kind", "outcome", "granted", "decided", "in_force", "sent", "letters")
    list_filter = ("run__tranche", "kind", "outcome", "is_current")
    search_fields = ("application__reference", "application__municipality__name", "application__municipality__code")
    fields = (
        "reference",
        "municipality",
        "kind",
        "run",
        "replaces",
        "is_current",
        "outcome",
        "requested_amount",
        "granted",
        "over_commitment",
        "reason",
        "explanation",
        "decision_date",
        "decided_by",
        "dispatched_on",
        "start_construction_by",
        "complete_by",
        "units_available_until",
        "letters",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return selectors.decisions_visible_to(user=request.user).select_related("run__window")

    def get_urls(self):
        return [
            path(
                "<path:object_id>/withdraw/",
                self.admin_site.admin_view(self.withdraw_view),
                name="allocation_decision_withdraw",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["may_withdraw"] = (
                obj.is_current and obj.is_grant and permissions.can_prepare_withdrawal(request.user)[0]
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def withdraw_view(self, request, object_id: str):
        """Prepare withdrawing or lowering the grant of this decision, for another approver to confirm."""
        decision = self.get_object(request, unquote(object_id))
        if decision is None or not self.has_view_permission(request, decision):
            raise Http404
        allowed, refusal = permissions.can_prepare_withdrawal(request.user)
        form = WithdrawalForm(request.POST if request.method == "POST" and allowed else None)
        if form.is_valid():
            try:
                withdrawal = prepare_withdrawal(
                    application=decision.application, user=request.user, **form.cleaned_data
                )
            except PermissionDenied as error:
                form.add_error(None, str(error))
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request, _("Withdrawal prepared; another approver must confirm it."), messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:allocation_withdrawal_change", args=[withdrawal.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": decision,
            "title": _("Withdraw or lower the grant"),
            "form": form,
            "refusal": "" if allowed else refusal,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/allocation/decision/withdraw.html", context)

    @admin.display(description=gettext_lazy("receipt number"), ordering="application__reference")
    def reference(self, decision: Decision) -> str:
        return decision.application.reference

    @admin.display(description=gettext_lazy("municipality"), ordering="application__municipality__name")
    def municipality(self, decision: Decision) -> str:
        return decision.application.municipality.name

    @admin.display(description=gettext_lazy("decision date"), ordering="decision_date")
    def decided(self, decision: Decision) -> str:
        return short_date(decision.decision_date)

    @admin.display(description=gettext_lazy("dispatched on"), ordering="dispatched_on")
    def sent(self, decision: Decision) -> str:
        return short_date(decision.dispatched_on)

    @admin.display(description=gettext_lazy("in force"), boolean=True, ordering="is_current")
    def in_force(self, decision: Decision) -> bool:
        return decision.is_current

    @admin.display(description=gettext_lazy("requested"), ordering="requested")
    def requested_amount(self, decision: Decision) -> str:
        return euro(decision.requested)

    @admin.display(description=gettext_lazy("amount granted"), ordering="amount")
    def granted(self, decision: Decision) -> str:
        return euro(decision.amount)

    @admin.display(description=gettext_lazy("decision letter"))
    def letters(self, decision: Decision) -> str:
        return format_html(
            '<a href="{}">PDF</a> · <a href="{}">HTML</a>',
            reverse("decisions:letter_pdf", args=[decision.public_id]),
            reverse("decisions:letter_html", args=[decision.public_id]),
        )


class LoweringAdmin(ReadOnlyAdmin):
    """Waivers and withdrawals: the agency reads them whatever the Agency group's model permissions."""

    def has_view_permission(self, request, obj=None):
        return _is_agency_staff(request)

    def has_module_permission(self, request):
        return _is_agency_staff(request)

    @admin.display(description=gettext_lazy("amount before"), ordering="amount_before")
    def before(self, obj) -> str:
        return euro(obj.amount_before)

    @admin.display(description=gettext_lazy("amount after"), ordering="amount_after")
    def after(self, obj) -> str:
        return euro(obj.amount_after)


@admin.register(Waiver)
class WaiverAdmin(LoweringAdmin):
    list_display = ("reference", "municipality", "before", "after", "submitted_by", "submitted")
    search_fields = ("decision__application__reference", "decision__application__municipality__name")
    fields = ("decision", "before", "after", "reason", "submitted_by", "submitted")
    readonly_fields = fields
    list_select_related = ("decision__application__municipality", "submitted_by")

    @admin.display(description=gettext_lazy("receipt number"), ordering="decision__application__reference")
    def reference(self, waiver: Waiver) -> str:
        return waiver.decision.application.reference

    @admin.display(description=gettext_lazy("municipality"))
    def municipality(self, waiver: Waiver) -> str:
        return waiver.decision.application.municipality.name

    @admin.display(description=gettext_lazy("submitted at"), ordering="submitted_at")
    def submitted(self, waiver: Waiver) -> str:
        return amsterdam_time(waiver.submitted_at)


@admin.register(Withdrawal)
class WithdrawalAdmin(LoweringAdmin):
    list_display = ("reference", "municipality", "ground", "before", "after", "status", "prepared_by", "approved_by")
    list_filter = ("status", "ground")
    search_fields = ("withdrawn__application__reference", "withdrawn__application__municipality__name")
    fields = (
        "withdrawn",
        "ground",
        "reason",
        "before",
        "after",
        "status",
        "prepared_by",
        "prepared",
        "approved_by",
        "confirmed",
        "decision",
    )
    readonly_fields = fields
    list_select_related = ("withdrawn__application__municipality", "prepared_by", "approved_by")
    actions = ("confirm", "discard")

    def has_withdraw_permission(self, request) -> bool:
        return _is_agency_staff(request)

    @admin.display(description=gettext_lazy("receipt number"), ordering="withdrawn__application__reference")
    def reference(self, withdrawal: Withdrawal) -> str:
        return withdrawal.withdrawn.application.reference

    @admin.display(description=gettext_lazy("municipality"))
    def municipality(self, withdrawal: Withdrawal) -> str:
        return withdrawal.withdrawn.application.municipality.name

    @admin.display(description=gettext_lazy("prepared at"), ordering="prepared_at")
    def prepared(self, withdrawal: Withdrawal) -> str:
        return amsterdam_time(withdrawal.prepared_at)

    @admin.display(description=gettext_lazy("confirmed at"), ordering="confirmed_at")
    def confirmed(self, withdrawal: Withdrawal) -> str:
        return amsterdam_time(withdrawal.confirmed_at)

    @admin.action(description=gettext_lazy("Confirm withdrawal (four eyes)"), permissions=["withdraw"])
    @reauthentication_required
    def confirm(self, request, queryset):
        _report_outcomes(
            self,
            request,
            queryset,
            lambda withdrawal: confirm_withdrawal(withdrawal=withdrawal, user=request.user),
            _("confirmed; the decision has been issued."),
        )

    @admin.action(description=gettext_lazy("Discard prepared withdrawal"), permissions=["withdraw"])
    def discard(self, request, queryset):
        _report_outcomes(
            self,
            request,
            queryset,
            lambda withdrawal: discard_withdrawal(withdrawal=withdrawal, user=request.user),
            _("discarded."),
        )
