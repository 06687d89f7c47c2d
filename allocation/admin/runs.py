"""Back office for allocation runs: a run's ranked list, its rules in words, confirming and discarding it, its export;
the lottery seeds and the allocation events. The pages on a tranche are in tranche_pages.py.

Runs are read-only here. Every change is one call to allocation.services, which checks the permissions and the
four-eyes rule again; the model permissions of the Agency group only open the pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AuditAction
from accounts.security import reauthentication_required
from accounts.services import record_audit
from accounts.spreadsheets import csv_response, export_filename
from grants.admin import ReadOnlyAdmin, amsterdam_time
from grants.admin import euro_or_dash as euro
from grants.models import Window

from .. import permissions, reserve, selectors, services
from ..applied_rules import describe_rules
from ..engine import passing_skipped
from ..models import AllocationEvent, AllocationLine, AllocationRun, LineOutcome, LotterySeed, RunKind
from .tranche_pages import has_model_permission, seal_description

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

    # Columns a window's list shows only when a line fills them: so the list fits an office screen.
    @property
    def has_categories(self) -> bool:
        return any(line.category for line in self.lines)

    @property
    def has_draws(self) -> bool:
        return any(line.drawn for line in self.lines)

    @property
    def columns(self) -> int:
        return 8 + self.has_categories + self.has_draws


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


def ranked_list_filename(run: AllocationRun) -> str:
    """E.g. rangschikking-rha-2023-20230904.csv: the tranche, the window of a one-window run, "preview" (voorlopig)
    while it is one, and the day it was prepared in Amsterdam."""
    return export_filename(
        _("ranked-list"),
        run.tranche.slug,
        run.window.name if run.window_id else "",
        "" if run.is_confirmed else _("preview"),
        on=timezone.localdate(run.prepared_at),
    )


def by_and_when(user, instant) -> str:
    """Who and when in one column, the time in Amsterdam: "rvo-goedkeurder, 11-09-2023 14:00"."""
    if instant is None:
        return "–"
    return f"{user or '–'}, {amsterdam_time(instant)}"


@admin.register(AllocationRun)
class AllocationRunAdmin(ReadOnlyAdmin):
    # The ceiling used and the oversubscription are on the run's page: the list fits 1280 px without them.
    list_display = ("tranche", "kind", "scope", "status", "prepared", "confirmed", "requested", "proposed")
    list_filter = ("tranche", "kind", "status")
    fields = (
        "tranche",
        "kind",
        "scope",
        "status",
        "seed",
        "seed_sealed",
        "ranked_list_sha256",
        "prepared",
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
        return has_model_permission(request, AllocationRun, "change")

    def has_discard_permission(self, request) -> bool:
        return has_model_permission(request, AllocationRun, "delete")

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

    def _action_page(
        self, request, run: AllocationRun, *, title: str, refusal: str, explanation: str, button: str, with_list=False
    ):
        """The page that asks to confirm or discard; `with_list`: with the ranked list the approver signs for."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": run,
            "title": title,
            "refusal": refusal,
            "explanation": explanation,
            "button": button,
            "applications": run.lines.count(),
            "ranked_list": ranked_list(selectors.run_lines(run=run)) if with_list else None,
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
                    "Confirming issues a decision for every application in the list above and cannot be undone. "
                    "The decision letters are generated in the background."
                ),
                button=_("Yes, confirm"),
                with_list=True,
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

    def ranked_list_csv(self, request, object_id: str):
        """The ranked list in the Dutch Excel dialect (accounts.spreadsheets), headers and words in the user's
        language."""
        run = self._run(request, object_id)
        header, rows = selectors.ranked_list_table(run=run)
        record_audit(action=AuditAction.EXPORT, request=request, target=run, detail="ranked list (CSV)")
        return csv_response(header=header, rows=rows, filename=ranked_list_filename(run))

    @admin.display(description=gettext_lazy("window"), ordering="window__code")
    def scope(self, run: AllocationRun) -> str:
        return run.window.name if run.window_id else _("all windows")

    @admin.display(description=gettext_lazy("prepared"), ordering="prepared_at")
    def prepared(self, run: AllocationRun) -> str:
        return by_and_when(run.prepared_by, run.prepared_at)

    @admin.display(description=gettext_lazy("confirmed"), ordering="confirmed_at")
    def confirmed(self, run: AllocationRun) -> str:
        return by_and_when(run.approved_by, run.confirmed_at)

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
        groups = describe_rules(rules=run.rules, windows=list(run.tranche.windows.all()))
        return render_to_string("admin/allocation/allocationrun/_rules.html", {"groups": groups})


# --- the seed and the audit trail -----------------------------------------------------------------------


@admin.register(LotterySeed)
class LotterySeedAdmin(ReadOnlyAdmin):
    list_display = ("tranche", "seed", "source", "external_reference", "entered", "sealed")
    list_filter = ("source",)
    list_select_related = ("tranche", "entered_by", "sealed_by")

    @admin.display(description=gettext_lazy("entered"), ordering="entered_at")
    def entered(self, lottery_seed: LotterySeed) -> str:
        return by_and_when(lottery_seed.entered_by, lottery_seed.entered_at)

    @admin.display(description=gettext_lazy("sealed"), ordering="sealed_at")
    def sealed(self, lottery_seed: LotterySeed) -> str:
        return by_and_when(lottery_seed.sealed_by, lottery_seed.sealed_at)


@admin.register(AllocationEvent)
class AllocationEventAdmin(ReadOnlyAdmin):
    list_display = ("when", "tranche", "window", "kind", "actor", "seed", "list_hash", "detail")
    list_filter = ("tranche", "kind")
    list_select_related = ("tranche", "window", "actor")
    search_fields = ("run_public_id", "ranked_list_sha256")

    @admin.display(description=gettext_lazy("at"), ordering="at")
    def when(self, event: AllocationEvent) -> str:
        return amsterdam_time(event.at)

    @admin.display(description=gettext_lazy("ranked list SHA-256"), ordering="ranked_list_sha256")
    def list_hash(self, event: AllocationEvent) -> str:
        # The first twelve characters tell lists apart in the list; the event's page has the whole hash.
        if not event.ranked_list_sha256:
            return "–"
        return format_html('<code title="{}">{}…</code>', event.ranked_list_sha256, event.ranked_list_sha256[:12])
