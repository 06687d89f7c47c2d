"""Back office for change requests, the deadline worklist and reclaims.

Change requests and reclaims are read-only here. Assessing a request, preparing, confirming and discarding a
reclaim and recording its payment are small forms that call one service of realisation.changes or
realisation.reclaims each, which check the permissions and the four-eyes rule again. Every agency user opens
these pages; the services decide who may do what.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.security import reauthentication_required
from allocation.selectors import current_decision
from grants.admin import ReadOnlyAdmin
from grants.admin import euro_or_dash as euro
from grants.admin import instant_or_dash as amsterdam_time

from .. import changes, reclaims
from ..forms import AssessmentForm, PaymentForm, ReclaimForm
from ..models import ChangeKind, ChangeRequest, ChangeRequestStatus, GrantFollowUp, Reclaim, ReclaimStatus


def _bound(form_class, request, **kwargs):
    return form_class(request.POST if request.method == "POST" else None, **kwargs)


def _show_refusal(form: forms.Form, error: ValidationError | PermissionDenied) -> None:
    """A refusal next to its field where the form has one, else above the form."""
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages if isinstance(error, ValidationError) else [str(error)])


def _step(model_admin, request, obj, form, *, title, run: Callable, back: str, details=(), buttons=()):
    """A page with one small form whose POST calls one service: a refusal shows on the form, success goes back.

    `run(cleaned_data, post)` calls the service; `buttons` are (value of "outcome", label) when there is a choice.
    """
    if request.method == "POST" and form.is_valid():
        try:
            run(form.cleaned_data, request.POST)
        except (ValidationError, PermissionDenied) as error:
            _show_refusal(form, error)
        else:
            model_admin.message_user(request, _("%(title)s: done.") % {"title": title}, messages.SUCCESS)
            return HttpResponseRedirect(back)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": obj,
        "title": title,
        "form": form,
        "back": back,
        "details": details,
        "buttons": buttons or [("", title)],
    }
    return TemplateResponse(request, "admin/realisation/step.html", context)


class AgencyReadAdmin(ReadOnlyAdmin):
    """Every agency user reads these; the services decide who may assess, prepare, confirm or record."""

    change_form_template = "admin/realisation/change_form_steps.html"

    def _agency(self, request) -> bool:
        return request.user.is_staff and request.user.is_agency

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) or self._agency(request)

    def has_module_permission(self, request) -> bool:
        return super().has_module_permission(request) or self._agency(request)

    def _found(self, request, object_id: str):
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404
        return obj

    def _back(self, obj) -> str:
        return reverse(f"admin:realisation_{self.model._meta.model_name}_change", args=[obj.pk])

    def _route(self, url: str, view, name: str):
        return path(url, self.admin_site.admin_view(view), name=f"realisation_{self.model._meta.model_name}_{name}")


# --- change requests ------------------------------------------------------------------------------------


@admin.register(ChangeRequest)
class ChangeRequestAdmin(AgencyReadAdmin):
    list_display = ("application", "kind", "status", "submitted", "assessed_by")
    list_filter = ("status", "kind", "application__tranche")
    search_fields = ("application__reference", "application__project_name", "application__municipality__name")
    fields = (
        "application",
        "kind",
        "proposal",
        "motivation",
        "status",
        "submitted_by",
        "submitted",
        "assessed_by",
        "assessed",
        "assessment",
        "decision",
    )
    readonly_fields = ("proposal", "submitted", "assessed")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("application", "submitted_by", "assessed_by")

    def get_urls(self):
        view = reauthentication_required(self.assess_view)
        return [self._route("<path:object_id>/assess/", view, "assess"), *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.status == ChangeRequestStatus.SUBMITTED:
            context["steps"] = [(reverse("admin:realisation_changerequest_assess", args=[obj.pk]), _("Assess"))]
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=gettext_lazy("submitted at"), ordering="submitted_at")
    def submitted(self, change: ChangeRequest) -> str:
        return amsterdam_time(change.submitted_at)

    @admin.display(description=gettext_lazy("assessed at"), ordering="assessed_at")
    def assessed(self, change: ChangeRequest) -> str:
        return amsterdam_time(change.assessed_at)

    @admin.display(description=gettext_lazy("what is asked"))
    def proposal(self, change: ChangeRequest) -> str:
        if change.kind != ChangeKind.UNITS:
            return changes.describe(change)
        return "; ".join(f"{row.line}: {row.line.units} → {row.proposed}" for row in changes.units_rows(change))

    def assess_view(self, request, object_id: str):
        change = self._found(request, object_id)
        decide = {"approve": changes.approve_change_request, "reject": changes.reject_change_request}

        def run(data, post):
            if post.get("outcome") not in decide:
                raise ValidationError(_("Choose to approve or to reject the request."))
            return decide[post["outcome"]](change_request=change, user=request.user, **data)

        decision = current_decision(application=change.application)
        details = [
            (_("what is asked"), self.proposal(change)),
            (_("motivation"), change.motivation),
            (_("location in force"), changes.current_location(change.application)),
            (_("amount granted"), euro(decision.amount if decision else None)),
            (_("start construction by"), decision.start_construction_by if decision else "–"),
            (_("complete by"), decision.complete_by if decision else "–"),
        ]
        buttons = [("approve", _("Approve: issue a decision of kind change")), ("reject", _("Reject"))]
        title = _("Assess change request")
        form = _bound(AssessmentForm, request)
        back = self._back(change)
        return _step(self, request, change, form, title=title, run=run, back=back, details=details, buttons=buttons)


# --- reclaims and the worklist --------------------------------------------------------------------------

RECLAIM_STEPS = {ReclaimStatus.PREPARED: ("confirm", "discard"), ReclaimStatus.CONFIRMED: ("payment",)}
RECLAIM_STEP_LABELS = {
    "confirm": gettext_lazy("Confirm reclaim (four eyes)"),
    "discard": gettext_lazy("Discard prepared reclaim"),
    "payment": gettext_lazy("Record payment"),
}


@admin.register(Reclaim)
class ReclaimAdmin(AgencyReadAdmin):
    list_display = ("application", "ground", "status", "amount_due", "due_on", "prepared_by", "approved_by", "paid_on")
    list_filter = ("status", "ground", "application__tranche")
    search_fields = ("application__reference", "application__project_name", "application__municipality__name")
    fields = (
        "application",
        "ground",
        "reason",
        "units_not_realised",
        "amount_per_unit",
        "amount",
        "status",
        "prepared_by",
        "prepared_at",
        "approved_by",
        "confirmed_at",
        "decision",
        "due_on",
        "paid_on",
        "amount_paid",
    )
    change_list_template = "admin/realisation/reclaim/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("application", "prepared_by", "approved_by")

    def get_urls(self):
        return [
            self._route("worklist/", self.worklist_view, "worklist"),
            self._route("prepare/<uuid:public_id>/", self.prepare_view, "prepare"),
            self._route("<path:object_id>/confirm/", reauthentication_required(self.confirm_view), "confirm"),
            self._route("<path:object_id>/discard/", self.discard_view, "discard"),
            self._route("<path:object_id>/payment/", self.payment_view, "payment"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        names = RECLAIM_STEPS.get(obj.status, ()) if obj is not None else ()
        context["steps"] = [
            (reverse(f"admin:realisation_reclaim_{name}", args=[obj.pk]), RECLAIM_STEP_LABELS[name]) for name in names
        ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=gettext_lazy("amount to reclaim"), ordering="amount")
    def amount_due(self, reclaim: Reclaim) -> str:
        return euro(reclaim.amount)

    def worklist_view(self, request):
        """Missed deadlines and overdue reports, open change requests, reclaims to confirm and awaiting payment."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        worklist = reclaims.deadline_worklist(today=today)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Worklist after the grant"),
            "today": today,
            "deadlines": list(worklist.deadlines),
            "change_requests": list(worklist.change_requests),
            "to_confirm": list(worklist.reclaims_to_confirm),
            "unpaid": list(worklist.reclaims_unpaid),
        }
        return TemplateResponse(request, "admin/realisation/worklist.html", context)

    def prepare_view(self, request, public_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        grant = get_object_or_404(GrantFollowUp.objects.select_related("municipality"), public_id=public_id)
        decision = current_decision(application=grant)
        if decision is None or not decision.is_grant:
            raise Http404
        computed = reclaims.compute_reclaim(application=grant, decision=decision)
        details = [
            (_("amount granted"), euro(decision.amount)),
            (_("units the grant pays for"), computed.units_funded),
            (_("units realised"), computed.units_realised),
            (_("units not realised"), computed.units_not_realised),
            (_("amount per unit"), euro(computed.amount_per_unit)),
            (_("amount to reclaim"), euro(computed.amount)),
        ]

        def run(data, post):
            return reclaims.prepare_reclaim(application=grant, user=request.user, **data)

        form, back = _bound(ReclaimForm, request), reverse("admin:realisation_reclaim_worklist")
        return _step(self, request, grant, form, title=_("Prepare reclaim"), run=run, back=back, details=details)

    def _reclaim_step(self, request, object_id: str, form, *, name: str, run: Callable, back: str | None = None):
        reclaim = self._found(request, object_id)
        details = [
            (_("amount to reclaim"), euro(reclaim.amount)),
            (_("units not realised"), reclaim.units_not_realised),
            (_("prepared by"), reclaim.prepared_by),
            (_("reason"), reclaim.reason),
            (_("due on"), reclaim.due_on or "–"),
        ]
        title, back = RECLAIM_STEP_LABELS[name], back or self._back(reclaim)
        return _step(self, request, reclaim, form, title=title, run=partial(run, reclaim), back=back, details=details)

    def confirm_view(self, request, object_id: str):
        def run(reclaim, data, post):
            return reclaims.confirm_reclaim(reclaim=reclaim, user=request.user)

        return self._reclaim_step(request, object_id, _bound(forms.Form, request), name="confirm", run=run)

    def discard_view(self, request, object_id: str):
        def run(reclaim, data, post):
            return reclaims.discard_reclaim(reclaim=reclaim, user=request.user)

        back = reverse("admin:realisation_reclaim_worklist")
        return self._reclaim_step(request, object_id, _bound(forms.Form, request), name="discard", run=run, back=back)

    def payment_view(self, request, object_id: str):
        def run(reclaim, data, post):
            return reclaims.record_reclaim_payment(reclaim=reclaim, user=request.user, **data)

        return self._reclaim_step(request, object_id, _bound(PaymentForm, request), name="payment", run=run)
