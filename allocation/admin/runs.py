"""Back office for allocation: the lottery seed, preparing a run, confirming and discarding it, the decisions.

Runs and decisions are read-only here. Every change is one call to allocation.services, which checks the
permissions and the four-eyes rule again; the model permissions of the Agency group only open the pages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AuditAction
from accounts.security import reauthentication_required
from accounts.services import record_audit
from grants.admin import ReadOnlyAdmin, TranchePage, add_tranche_page
from grants.admin import euro_or_dash as euro
from grants.admin import instant_or_dash as amsterdam_time
from grants.models import Tranche, Window

from .. import (
    budget,
    permissions,
    reserve,
    selectors,
    services,
)
from ..engine import passing_skipped
from ..models import (
    MAX_SEED,
    AllocationEvent,
    AllocationLine,
    AllocationRun,
    LineOutcome,
    LotterySeed,
    RunKind,
    SeedSource,
)


def _has_model_permission(request, model, action: str) -> bool:
    opts = model._meta
    return request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")


def seal_description(lottery_seed: LotterySeed | None) -> str:
    """How the tranche's seed was sealed, by whom and when, in one line."""
    if lottery_seed is None:
        return _("No seed yet: the first preview after the closing seals one drawn by the system.")
    if not lottery_seed.is_sealed:
        return _("%(seed)s from the external draw %(reference)s, entered by %(user)s; awaiting confirmation.") % {
            "seed": lottery_seed.seed,
            "reference": lottery_seed.external_reference,
            "user": lottery_seed.entered_by,
        }
    if lottery_seed.source == SeedSource.SYSTEM:
        return _("%(seed)s, drawn by the system and sealed at %(at)s at the first preview.") % {
            "seed": lottery_seed.seed,
            "at": amsterdam_time(lottery_seed.sealed_at),
        }
    return _(
        "%(seed)s from the external draw %(reference)s, entered by %(user)s and sealed by %(sealer)s at %(at)s."
    ) % {
        "seed": lottery_seed.seed,
        "reference": lottery_seed.external_reference,
        "user": lottery_seed.entered_by,
        "sealer": lottery_seed.sealed_by,
        "at": amsterdam_time(lottery_seed.sealed_at),
    }


# --- on the tranche: its lottery seed --------------------------------------------------------------------


class EnterSeedForm(forms.Form):
    seed = forms.IntegerField(label=gettext_lazy("Lottery seed"), min_value=0, max_value=MAX_SEED)
    external_reference = forms.CharField(
        label=gettext_lazy("External draw"),
        max_length=200,
        help_text=gettext_lazy("Where the seed was drawn, e.g. the notary and the number of the deed."),
    )


class ConfirmSeedForm(forms.Form):
    seed = forms.IntegerField(
        label=gettext_lazy("Lottery seed"),
        min_value=0,
        max_value=MAX_SEED,
        help_text=gettext_lazy("Type the seed again from the record of the draw."),
    )


def lottery_seed_page(model_admin, request, tranche: Tranche):
    """Enter the seed of an external draw, or confirm it as the second person; shows how the seed was sealed."""
    if not _has_model_permission(request, LotterySeed, "view"):
        raise PermissionDenied
    action = request.POST.get("action") if request.method == "POST" else None
    forms_by_action = {
        "enter": EnterSeedForm(request.POST if action == "enter" else None, prefix="enter"),
        "confirm": ConfirmSeedForm(request.POST if action == "confirm" else None, prefix="confirm"),
    }
    form = forms_by_action.get(action)
    if form is not None and form.is_valid():
        if not _has_model_permission(request, LotterySeed, "add" if action == "enter" else "change"):
            raise PermissionDenied
        try:
            if action == "enter":
                services.enter_external_seed(
                    tranche=tranche,
                    user=request.user,
                    seed=form.cleaned_data["seed"],
                    reference=form.cleaned_data["external_reference"],
                )
                done = _("Seed entered; it is sealed when a second person confirms it.")
            else:
                services.confirm_external_seed(tranche=tranche, user=request.user, seed=form.cleaned_data["seed"])
                done = _("Seed confirmed and sealed; every preview of this tranche uses it.")
        except PermissionDenied as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            model_admin.message_user(request, done, messages.SUCCESS)
            return HttpResponseRedirect(request.path)
    lottery_seed = selectors.lottery_seed(tranche=tranche)
    may_confirm, confirm_refusal = (
        permissions.can_confirm_seed(request.user, lottery_seed) if lottery_seed else (False, "")
    )
    return model_admin.render_tranche_page(
        request,
        tranche,
        "admin/allocation/lottery_seed.html",
        title=_("Lottery seed"),
        lottery_seed=lottery_seed,
        seal=seal_description(lottery_seed),
        enter_form=forms_by_action["enter"],
        confirm_form=forms_by_action["confirm"],
        may_confirm=may_confirm,
        confirm_refusal=confirm_refusal,
    )


add_tranche_page(
    TranchePage(
        name="lottery_seed",
        route="lottery-seed",
        label=gettext_lazy("Lottery seed"),
        permission="allocation.view_lotteryseed",
        view=lottery_seed_page,
    )
)


# --- on the tranche: preparing an allocation -------------------------------------------------------------


class WindowChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, window: Window) -> str:
        return f"{window.name} ({window.code})"


class PrepareAllocationForm(forms.Form):
    window = WindowChoiceField(
        label=gettext_lazy("Window"),
        queryset=Window.objects.none(),
        required=False,
        empty_label=gettext_lazy("All windows"),
    )

    def __init__(self, *args, tranche: Tranche, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["window"].queryset = tranche.windows.order_by("code")


def prepare_allocation_page(model_admin, request, tranche: Tranche):
    """Rank and allocate a tranche, or one of its windows, as a preview for a second person to confirm."""
    if not _has_model_permission(request, AllocationRun, "add"):
        raise PermissionDenied
    allowed, refusal = permissions.can_prepare_allocation(request.user)
    form = PrepareAllocationForm(request.POST if request.method == "POST" else None, tranche=tranche)
    if form.is_valid():
        try:
            run = services.prepare_allocation(
                tranche=tranche,
                user=request.user,
                window=form.cleaned_data["window"],
            )
        except PermissionDenied as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            model_admin.message_user(
                request,
                _("Allocation preview prepared with the sealed seed %(seed)s; another approver must confirm it.")
                % {"seed": run.seed},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:allocation_allocationrun_change", args=[run.pk]))
    return model_admin.render_tranche_page(
        request,
        tranche,
        "admin/allocation/prepare_allocation.html",
        title=_("Prepare allocation"),
        form=form,
        refusal="" if allowed else refusal,
        seal=seal_description(selectors.lottery_seed(tranche=tranche)),
    )


add_tranche_page(
    TranchePage(
        name="prepare_allocation",
        route="prepare-allocation",
        label=gettext_lazy("Prepare allocation"),
        permission="allocation.add_allocationrun",
        view=prepare_allocation_page,
    )
)


# --- on the tranche: the reserve list --------------------------------------------------------------------


def reserve_list_page(model_admin, request, tranche: Tranche):
    """The budget left and the reserve list; prepares a supplementary run for a second person to confirm."""
    if not _has_model_permission(request, AllocationRun, "view"):
        raise PermissionDenied
    errors: list[str] = []
    if request.method == "POST":
        if not _has_model_permission(request, AllocationRun, "add"):
            raise PermissionDenied
        try:
            run = reserve.prepare_supplementary(tranche=tranche, user=request.user)
        except PermissionDenied as error:
            errors = [str(error)]
        except ValidationError as error:
            errors = error.messages
        else:
            model_admin.message_user(
                request,
                _("Supplementary run prepared with the budget left; another approver must confirm it."),
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:allocation_allocationrun_change", args=[run.pk]))
    left = budget.budget_left(tranche=tranche)
    windows = list(tranche.windows.order_by("code"))
    return model_admin.render_tranche_page(
        request,
        tranche,
        "admin/allocation/reserve_list.html",
        title=_("Reserve list"),
        left=left,
        windows=[(w, left.committed_per_window.get(w.pk, 0), left.per_window[w.pk]) for w in windows],
        lines=budget.reserve_lines(tranche=tranche),
        errors=errors,
        may_prepare=permissions.can_prepare_allocation(request.user)[0],
    )


add_tranche_page(
    TranchePage(
        name="reserve_list",
        route="reserve-list",
        label=gettext_lazy("Reserve list"),
        permission="allocation.view_allocationrun",
        view=reserve_list_page,
    )
)


# --- allocation runs ------------------------------------------------------------------------------------


@dataclass
class WindowList:
    """One window's part of a run's ranked list: its lines, where the ceiling cuts it, and its reserve list.

    `passing_ranks`: the lines funded past an earlier one left on the reserve list (rule skip). A window with
    such lines has no single cut-off, so `cut_off_rank` is then None.
    """

    window: Window
    lines: list[AllocationLine] = field(default_factory=list)
    cut_off_rank: int | None = None
    passing_ranks: frozenset[int] = frozenset()

    @property
    def reserve(self) -> list[AllocationLine]:
        return [line for line in self.lines if line.outcome == LineOutcome.RESERVE]


def ranked_list(lines) -> list[WindowList]:
    """Group lines ordered by window and rank; the cut-off is the first line that is not fully funded."""
    windows: list[WindowList] = []
    for line in lines:
        if not windows or windows[-1].window.pk != line.window_id:
            windows.append(WindowList(window=line.window))
        windows[-1].lines.append(line)
    for part in windows:
        passes = passing_skipped(part.lines)
        part.passing_ranks = frozenset(line.rank for line, passing in zip(part.lines, passes, strict=True) if passing)
        if not part.passing_ranks:
            part.cut_off_rank = next((line.rank for line in part.lines if line.outcome != LineOutcome.FUNDED), None)
    return windows


@admin.register(AllocationRun)
class AllocationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "tranche",
        "kind",
        "scope",
        "status",
        "prepared_by",
        "prepared",
        "approved_by",
        "confirmed",
        "ceiling_used",
        "requested",
        "proposed",
        "oversubscribed",
    )
    list_filter = ("tranche", "kind", "status")
    fields = (
        "tranche",
        "kind",
        "scope",
        "status",
        "seed",
        "seed_sealed",
        "ranked_list_sha256",
        "prepared_by",
        "prepared",
        "approved_by",
        "confirmed",
        "ceiling_used",
        "requested",
        "proposed",
        "oversubscribed",
        "rules_applied",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # The ranked inputs can run to 100,000 entries: the list reads them from the lines instead.
        return (
            super()
            .get_queryset(request)
            .select_related("tranche", "window", "prepared_by", "approved_by")
            .defer("inputs")
        )

    def has_confirm_permission(self, request) -> bool:
        return _has_model_permission(request, AllocationRun, "change")

    def has_discard_permission(self, request) -> bool:
        return _has_model_permission(request, AllocationRun, "delete")

    def get_urls(self):
        return [
            path(
                "<path:object_id>/confirm/",
                self.admin_site.admin_view(reauthentication_required(self.confirm_view)),
                name="allocation_allocationrun_confirm",
            ),
            path(
                "<path:object_id>/discard/",
                self.admin_site.admin_view(self.discard_view),
                name="allocation_allocationrun_discard",
            ),
            path(
                "<path:object_id>/ranked-list.csv",
                self.admin_site.admin_view(self.ranked_list_csv),
                name="allocation_allocationrun_ranked_list",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["ranked_list"] = ranked_list(selectors.run_lines(run=obj))
            context["may_confirm"] = not obj.is_confirmed and self.has_confirm_permission(request)
            context["may_discard"] = not obj.is_confirmed and self.has_discard_permission(request)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _run(self, request, object_id: str) -> AllocationRun:
        run = self.get_object(request, unquote(object_id))
        if run is None or not self.has_view_permission(request, run):
            raise Http404
        return run

    def _run_url(self, run: AllocationRun) -> str:
        return reverse("admin:allocation_allocationrun_change", args=[run.pk])

    def _action_page(self, request, run: AllocationRun, *, title: str, refusal: str, explanation: str, button: str):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": run,
            "title": title,
            "refusal": refusal,
            "explanation": explanation,
            "button": button,
            "applications": run.lines.count(),
            "media": self.media,
        }
        return TemplateResponse(request, "admin/allocation/allocationrun/action_confirmation.html", context)

    def _report_refusal(self, request, error: PermissionDenied | ValidationError) -> None:
        reasons = error.messages if isinstance(error, ValidationError) else [str(error)]
        for reason in reasons:
            self.message_user(request, reason, messages.ERROR)

    def confirm_view(self, request, object_id: str):
        run = self._run(request, object_id)
        if not self.has_confirm_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            allowed, refusal = permissions.can_confirm_allocation(request.user, run)
            return self._action_page(
                request,
                run,
                title=_("Confirm allocation (four eyes)"),
                refusal="" if allowed else refusal,
                explanation=_(
                    "Confirming issues a decision for every application in this run and cannot be undone. "
                    "The decision letters are generated in the background."
                ),
                button=_("Yes, confirm"),
            )
        confirm = reserve.confirm_supplementary if run.kind == RunKind.SUPPLEMENTARY else services.confirm_allocation
        try:
            run = confirm(run=run, user=request.user)
        except (PermissionDenied, ValidationError) as error:
            self._report_refusal(request, error)
        else:
            self.message_user(
                request,
                _("Allocation confirmed: %(count)s decisions issued; the decision letters follow.")
                % {"count": run.decisions.count()},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self._run_url(run))

    def discard_view(self, request, object_id: str):
        run = self._run(request, object_id)
        if not self.has_discard_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            allowed, refusal = permissions.can_discard_allocation(request.user, run)
            return self._action_page(
                request,
                run,
                title=_("Discard allocation preview"),
                refusal="" if allowed else refusal,
                explanation=_("The preview and its ranked list are deleted; no application changes."),
                button=_("Yes, discard"),
            )
        try:
            services.discard_allocation(run=run, user=request.user)
        except (PermissionDenied, ValidationError) as error:
            self._report_refusal(request, error)
            return HttpResponseRedirect(self._run_url(run))
        self.message_user(request, _("Allocation preview discarded."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:allocation_allocationrun_changelist"))

    def ranked_list_csv(self, request, object_id: str) -> HttpResponse:
        run = self._run(request, object_id)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        scope = run.window.code if run.window_id else "all"
        response["Content-Disposition"] = (
            f'attachment; filename="ranked-list-{run.tranche.slug}-{scope}-{run.public_id}.csv"'
        )
        selectors.write_ranked_list_csv(run=run, stream=response)
        record_audit(action=AuditAction.EXPORT, request=request, target=run, detail="ranked list (CSV)")
        return response

    @admin.display(description=gettext_lazy("window"), ordering="window__code")
    def scope(self, run: AllocationRun) -> str:
        return run.window.name if run.window_id else _("all windows")

    @admin.display(description=gettext_lazy("prepared at"), ordering="prepared_at")
    def prepared(self, run: AllocationRun) -> str:
        return amsterdam_time(run.prepared_at)

    @admin.display(description=gettext_lazy("confirmed at"), ordering="confirmed_at")
    def confirmed(self, run: AllocationRun) -> str:
        return amsterdam_time(run.confirmed_at)

    @admin.display(description=gettext_lazy("ceiling used"), ordering="ceiling")
    def ceiling_used(self, run: AllocationRun) -> str:
        return euro(run.ceiling)

    @admin.display(description=gettext_lazy("requested"), ordering="requested_total")
    def requested(self, run: AllocationRun) -> str:
        return euro(run.requested_total)

    @admin.display(description=gettext_lazy("proposed"), ordering="proposed_total")
    def proposed(self, run: AllocationRun) -> str:
        return euro(run.proposed_total)

    @admin.display(description=gettext_lazy("oversubscription"), ordering="oversubscription")
    def oversubscribed(self, run: AllocationRun) -> str:
        return euro(run.oversubscription)

    @admin.display(description=gettext_lazy("seed sealed"))
    def seed_sealed(self, run: AllocationRun) -> str:
        lottery_seed = selectors.lottery_seed(tranche=run.tranche)
        if lottery_seed is None or not lottery_seed.is_sealed or lottery_seed.seed != run.seed:
            return _("Not the sealed seed of the tranche.")
        return seal_description(lottery_seed)

    @admin.display(description=gettext_lazy("rules applied"))
    def rules_applied(self, run: AllocationRun) -> str:
        return format_html("<pre>{}</pre>", json.dumps(run.rules, indent=2, ensure_ascii=False, sort_keys=True))


# --- the seed and the audit trail -----------------------------------------------------------------------


@admin.register(LotterySeed)
class LotterySeedAdmin(ReadOnlyAdmin):
    list_display = (
        "tranche",
        "seed",
        "source",
        "external_reference",
        "entered_by",
        "entered_at",
        "sealed_by",
        "sealed_at",
    )
    list_filter = ("source",)
    list_select_related = ("tranche", "entered_by", "sealed_by")


@admin.register(AllocationEvent)
class AllocationEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "tranche", "window", "kind", "actor", "seed", "ranked_list_sha256", "run_public_id", "detail")
    list_filter = ("tranche", "kind")
    list_select_related = ("tranche", "window", "actor")
    search_fields = ("run_public_id", "ranked_list_sha256")
