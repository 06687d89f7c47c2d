"""Pages on a tranche that allocation adds: its lottery seed, preparing an allocation and the reserve list.

Each page is one call to allocation.services or allocation.reserve, which check the permissions and the four-eyes
rule again; the model permissions of the Agency group only open the pages.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from grants.admin import TranchePage, add_tranche_page
from grants.admin import instant_or_dash as amsterdam_time
from grants.models import Tranche, Window

from .. import budget, permissions, reserve, selectors, services
from ..models import MAX_SEED, AllocationRun, LotterySeed, SeedSource


def has_model_permission(request, model, action: str) -> bool:
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
    if not has_model_permission(request, LotterySeed, "view"):
        raise PermissionDenied
    action = request.POST.get("action") if request.method == "POST" else None
    forms_by_action = {
        "enter": EnterSeedForm(request.POST if action == "enter" else None, prefix="enter"),
        "confirm": ConfirmSeedForm(request.POST if action == "confirm" else None, prefix="confirm"),
    }
    form = forms_by_action.get(action)
    if form is not None and form.is_valid():
        if not has_model_permission(request, LotterySeed, "add" if action == "enter" else "change"):
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
        return window.name


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
    if not has_model_permission(request, AllocationRun, "add"):
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
    if not has_model_permission(request, AllocationRun, "view"):
        raise PermissionDenied
    errors: list[str] = []
    if request.method == "POST":
        if not has_model_permission(request, AllocationRun, "add"):
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
