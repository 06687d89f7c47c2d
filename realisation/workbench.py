"""The agency's workbench: what waits on one agency user, from every stage, in one list to sort and filter.

Each stage gives its own selector (applications, allocation, grants, realisation); this module, in the last stage
it needs, turns their rows into work items. Every kind costs one query, however many rows it has: the page's
query count does not grow with the work. The back office shows it as its start page for agency staff
(config/admin.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from django import forms
from django.core.paginator import Paginator
from django.db import models
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from allocation.selectors import open_objections, previews_awaiting_approval
from applications.selectors import awaiting_assessment, information_requests_past_deadline
from grants.selectors import amendments_awaiting_confirmation
from grants.templatetags.instants import format_instant
from grants.templatetags.money import format_euro

from . import selectors
from .changes import open_change_requests
from .reclaims import missed_deadlines

PAGE_SIZE = 50


class WorkKind(models.TextChoices):
    ASSESS = "assess", gettext_lazy("Application to assess")
    INFORMATION = "information", gettext_lazy("Information request past its deadline")
    PREVIEW = "preview", gettext_lazy("Allocation preview to approve")
    AMENDMENT = "amendment", gettext_lazy("Tranche amendment to confirm")
    OBJECTION = "objection", gettext_lazy("Objection to decide")
    CHANGE = "change", gettext_lazy("Change request to assess")
    PROGRESS = "progress", gettext_lazy("Deadline missed or progress report overdue")
    ACCOUNTABILITY = "accountability", gettext_lazy("Accountability report overdue")
    RECLAIM_CONFIRM = "reclaim_confirm", gettext_lazy("Reclaim to confirm")
    RECLAIM_PAYMENT = "reclaim_payment", gettext_lazy("Reclaim payment due")


# Four eyes: only an approver confirms what another prepared.
APPROVER_KINDS = {WorkKind.PREVIEW, WorkKind.AMENDMENT, WorkKind.RECLAIM_CONFIRM}


@dataclass(frozen=True)
class WorkItem:
    """One thing that waits, with the page to open for it. `since` is what it waits since; for an application to
    assess, its ranking instant, so that the earliest ranked comes first."""

    kind: WorkKind
    reference: str
    url: str
    subject: str
    detail: str
    tranche_id: int
    tranche: str
    since: datetime | None
    deadline: date | None
    overdue: bool

    @property
    def since_text(self) -> str:
        return format_instant(self.since) if self.since else "–"


def kinds_for(user) -> list[WorkKind]:
    return [kind for kind in WorkKind if user.role == Role.AGENCY_APPROVER or kind not in APPROVER_KINDS]


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# What a row shows of an application: loading no more keeps hundreds of grants cheap.
CASE_FIELDS = ("pk", "reference", "project_name", "tranche_id", "municipality__name", "tranche__title")


def _application_page(application) -> str:
    return reverse("admin:applications_application_change", args=[application.pk])


def _case(application) -> dict:
    return {
        "reference": application.reference,
        "subject": f"{application.municipality.name} – {application.project_name}",
        "tranche_id": application.tranche_id,
        "tranche": application.tranche.title,
    }


def _items(user, today: date) -> Iterator[WorkItem]:
    """Every item of every kind the user sees, in no particular order."""

    def item(kind, *, url, detail, since=None, deadline=None, **case) -> WorkItem:
        overdue = deadline is not None and deadline < today
        return WorkItem(kind=kind, url=url, detail=detail, since=since, deadline=deadline, overdue=overdue, **case)

    for application in awaiting_assessment():
        yield item(
            WorkKind.ASSESS,
            url=_application_page(application),
            detail=application.get_status_display(),
            since=application.ranks_at or application.received_at,
            **_case(application),
        )
    for request in information_requests_past_deadline(today=today):
        yield item(
            WorkKind.INFORMATION,
            url=_application_page(request.application),
            detail=request.reason,
            since=request.requested_at,
            deadline=request.deadline,
            **_case(request.application),
        )
    for run in previews_awaiting_approval(user=user):
        yield item(
            WorkKind.PREVIEW,
            url=reverse("admin:allocation_allocationrun_change", args=[run.pk]),
            reference=run.get_kind_display(),
            subject=run.window.name if run.window_id else _("all windows"),
            detail=_("prepared by %(user)s") % {"user": run.prepared_by},
            since=run.prepared_at,
            tranche_id=run.tranche_id,
            tranche=run.tranche.title,
        )
    for amendment in amendments_awaiting_confirmation(user=user):
        yield item(
            WorkKind.AMENDMENT,
            url=reverse("admin:grants_tranche_amendment_confirm", args=[amendment.tranche_id, amendment.pk]),
            reference=amendment.get_kind_display(),
            subject=amendment.publication_reference,
            detail=_("prepared by %(user)s, takes effect %(at)s")
            % {"user": amendment.prepared_by, "at": format_instant(amendment.effective_at)},
            since=amendment.prepared_at,
            tranche_id=amendment.tranche_id,
            tranche=amendment.tranche.title,
        )
    for objection in open_objections():
        yield item(
            WorkKind.OBJECTION,
            url=reverse("admin:allocation_objection_change", args=[objection.pk]),
            detail=_("handled by %(user)s") % {"user": objection.handler} if objection.handler else _("no handler yet"),
            since=_start_of(objection.received_on),
            deadline=objection.deadline_on,
            **_case(objection.contested.application),
        )
    for change in open_change_requests().select_related("application__tranche"):
        yield item(
            WorkKind.CHANGE,
            url=reverse("admin:realisation_changerequest_change", args=[change.pk]),
            detail=change.get_kind_display(),
            since=change.submitted_at,
            **_case(change.application),
        )
    for grant in missed_deadlines(today=today).select_related("tranche").only(*CASE_FIELDS):
        missed = [
            (grant.start_missed, grant.start_construction_by, _("start deadline missed")),
            (grant.completion_missed, grant.complete_by, _("completion deadline missed")),
            (grant.report_overdue, grant.next_report_due, _("report overdue")),
        ]
        yield item(
            WorkKind.PROGRESS,
            url=reverse("admin:realisation_grantfollowup_change", args=[grant.pk]),
            detail=", ".join(str(label) for flag, _day, label in missed if flag),
            deadline=min(day for flag, day, _label in missed if flag),
            **_case(grant),
        )
    for grant in selectors.accountability_overdue(today=today).only(*CASE_FIELDS):
        yield item(
            WorkKind.ACCOUNTABILITY,
            url=reverse("admin:realisation_grantfollowup_change", args=[grant.pk]),
            detail=_("the report on %(year)s") % {"year": grant.accountability_year},
            deadline=grant.accountability_due_on,
            **_case(grant),
        )
    for reclaim in selectors.reclaims_awaiting_confirmation(user=user):
        yield item(
            WorkKind.RECLAIM_CONFIRM,
            url=reverse("admin:realisation_reclaim_change", args=[reclaim.pk]),
            detail=_("%(amount)s, prepared by %(user)s")
            % {"amount": format_euro(reclaim.amount), "user": reclaim.prepared_by},
            since=reclaim.prepared_at,
            **_case(reclaim.application),
        )
    for reclaim in selectors.reclaims_awaiting_payment():
        yield item(
            WorkKind.RECLAIM_PAYMENT,
            url=reverse("admin:realisation_reclaim_change", args=[reclaim.pk]),
            detail=format_euro(reclaim.amount),
            since=reclaim.confirmed_at,
            deadline=reclaim.due_on,
            **_case(reclaim.application),
        )


# --- filtering and sorting -------------------------------------------------------------------------------


def _last(value):
    """A sort key that puts a missing value after every present one, whatever the direction."""
    return (value is None, value)


SORTS = {
    "deadline": lambda item: (_last(item.deadline), _last(item.since)),
    "since": lambda item: (_last(item.since),),
    "kind": lambda item: (list(WorkKind).index(item.kind), _last(item.deadline), _last(item.since)),
    "reference": lambda item: (item.reference,),
    "tranche": lambda item: (item.tranche, _last(item.deadline), _last(item.since)),
}
SORT_LABELS = {
    "kind": gettext_lazy("kind"),
    "reference": gettext_lazy("case"),
    "tranche": gettext_lazy("tranche"),
    "since": gettext_lazy("since"),
    "deadline": gettext_lazy("deadline"),
}


class WorkbenchFilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False)
    tranche = forms.TypedChoiceField(label=gettext_lazy("Tranche"), required=False, coerce=int, empty_value=None)
    overdue = forms.BooleanField(label=gettext_lazy("Only past the deadline"), required=False)
    sort = forms.ChoiceField(required=False, choices=[(f"{d}{k}", k) for k in SORTS for d in ("", "-")])

    def __init__(self, *args, kinds: list[WorkKind], tranches: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("every kind")), *((kind.value, kind.label) for kind in kinds)]
        self.fields["tranche"].choices = [("", _("every tranche")), *tranches]
        self.fields["sort"].widget = forms.HiddenInput()


@dataclass(frozen=True)
class Workbench:
    items: list[WorkItem]
    counts: list[tuple[WorkKind, int, int]]
    overdue: int
    form: WorkbenchFilterForm
    sort: str


def workbench(user, params, *, today: date) -> Workbench:
    """The user's work items filtered and sorted by `params` (kind, tranche, overdue, sort), with the counts per
    kind (and of those past their deadline) for the chosen tranche and overdue filter."""
    kinds = kinds_for(user)
    everything = list(_items(user, today))
    tranches = sorted({(item.tranche_id, item.tranche) for item in everything}, key=lambda pair: pair[1])
    form = WorkbenchFilterForm(params, kinds=kinds, tranches=tranches)
    chosen = form.cleaned_data if form.is_valid() else {}
    items = [
        item
        for item in everything
        if (not chosen.get("tranche") or item.tranche_id == chosen["tranche"])
        and (not chosen.get("overdue") or item.overdue)
    ]
    counts = [
        (kind, sum(item.kind == kind for item in items), sum(item.kind == kind and item.overdue for item in items))
        for kind in kinds
    ]
    if chosen.get("kind"):
        items = [item for item in items if item.kind == chosen["kind"]]
    sort = chosen.get("sort") or "deadline"
    return Workbench(_sorted(items, sort), counts, sum(item.overdue for item in items), form, sort)


def _sorted(items: list[WorkItem], sort: str) -> list[WorkItem]:
    """Sorted by a key of SORTS, "-" first for descending; items without the value come last in both directions."""
    key = sort.lstrip("-")
    ordered = sorted(items, key=SORTS[key], reverse=sort.startswith("-"))
    return sorted(ordered, key=lambda item: getattr(item, key) is None)


# --- the page ----------------------------------------------------------------------------------------------


def _query(params, **changes) -> str:
    """The page's query string with `changes`; another filter or order starts again on the first page."""
    query = params.copy()
    query.pop("page", None)
    for name, value in changes.items():
        query.pop(name, None)
        if value:
            query[name] = value
    return "?" + query.urlencode()


def workbench_view(site, request):
    """The back office's start page for agency staff: the workbench above the list of every back-office page."""
    today = timezone.localdate()
    bench = workbench(request.user, request.GET or None, today=today)
    page = Paginator(bench.items, PAGE_SIZE).get_page(request.GET.get("page"))
    columns = {
        key: {
            "label": label,
            "order": ("descending" if bench.sort.startswith("-") else "ascending")
            if bench.sort.lstrip("-") == key
            else "",
            "url": _query(request.GET, sort=f"-{key}" if bench.sort == key else key),
        }
        for key, label in SORT_LABELS.items()
    }
    context = {
        **site.each_context(request),
        "title": _("Workbench"),
        "subtitle": None,
        "today": today,
        "today_text": formats.date_format(today, "j F Y"),
        "bench": bench,
        "page": page,
        "columns": columns,
        "kind_links": [(kind, count, late, _query(request.GET, kind=kind.value)) for kind, count, late in bench.counts],
        "page_links": {
            "previous": _query(request.GET, page=page.previous_page_number()) if page.has_previous() else "",
            "next": _query(request.GET, page=page.next_page_number()) if page.has_next() else "",
        },
        "app_list": site.get_app_list(request),
    }
    return TemplateResponse(request, "admin/realisation/workbench.html", context)
