"""The ministry's read-only pages: dashboard, exports, the progress-letter paragraph and the certified accountability.

They read stored totals only (ministry.dashboard, ministry.letter), except the over-commitment after objections,
which the dashboard reads from the decisions in force (allocation.objections); who may see them is asked of
ministry.permissions.can_view_totals.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.models import AuditAction
from accounts.services import record_audit
from accounts.spreadsheets import CSV_CONTENT_TYPE
from grants.models import Tranche

from . import exports, letter
from .dashboard import TABLES, dashboard
from .filters import DEMO_SCHEME_CODE
from .permissions import can_view_totals
from .selectors import accountability_per_tranche_and_year

EXPORTS = {
    "csv": (exports.table_csv, CSV_CONTENT_TYPE),
    "xlsx": (exports.table_xlsx, exports.XLSX_CONTENT_TYPE),
}
# The dashboard's parts, one shown at a time: links that work without scripts, the filters kept in each.
TAB = "tab"
TABS = {
    "overzicht": _("Overview"),
    "tranches": _("Tranches and budgets"),
    "uitsplitsingen": _("Breakdowns"),
    "realisatie": _("Realisation"),
    "gepubliceerd": _("All tranches and published figures"),
}


def _require_totals_access(user) -> None:
    allowed, reason = can_view_totals(user)
    if not allowed:
        raise PermissionDenied(reason)


@require_GET
@login_required
def dashboard_page(request):
    _require_totals_access(request.user)
    tab = request.GET.get(TAB)
    tab = tab if tab in TABS else next(iter(TABS))
    filters = request.GET.copy()
    filters.pop(TAB, None)
    figures = dashboard(params=filters)
    context = {
        "dashboard": figures,
        "over_commitment": figures.over_commitment,
        "query": filters.urlencode(),
        "tab": tab,
        "tabs": TABS,
    }
    return render(request, "ministry/dashboard.html", context)


@require_GET
@login_required
def export_table(request, table: str, file_format: str):
    _require_totals_access(request.user)
    if table not in TABLES or file_format not in EXPORTS:
        raise Http404(_("No such export."))
    content = dashboard(params=request.GET).tables[table]
    write, content_type = EXPORTS[file_format]
    response = HttpResponse(write(content), content_type=content_type)
    filename = exports.file_name(content, file_format, on=timezone.localdate())
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    detail = f"{table}.{file_format}, {len(content.rows)} rows, filter: {request.GET.urlencode() or '-'}"
    record_audit(action=AuditAction.EXPORT, request=request, detail=detail)
    return response


class LetterForm(forms.Form):
    tranche = forms.ChoiceField(label=_("Tranche"), widget=forms.Select(attrs={"class": "utrecht-select"}))
    on = forms.DateField(
        label=_("Date of the letter"),
        required=False,
        help_text=_("The budget is the ceiling in force on this day. Empty: as the totals were computed."),
        widget=forms.DateInput(
            attrs={"class": "utrecht-textbox", "type": "date", "aria-describedby": "id_on-description"},
            format="%Y-%m-%d",
        ),
    )

    def __init__(self, *args, tranches: list[Tranche], **kwargs):
        super().__init__(*args, **kwargs)
        self.tranches = {tranche.slug: tranche for tranche in tranches}
        self.fields["tranche"].choices = [("", _("Choose a tranche"))] + [
            (tranche.slug, tranche.title) for tranche in tranches
        ]


@require_GET
@login_required
def progress_letter(request):
    _require_totals_access(request.user)
    # The demo scheme's tranche is not reported to parliament.
    tranches = list(
        Tranche.objects.exclude(scheme__code=DEMO_SCHEME_CODE)
        .prefetch_related("amendments")
        .order_by("scheme__code", "-number")
    )
    form = LetterForm(request.GET if "tranche" in request.GET else None, tranches=tranches)
    context = {"form": form}
    if form.is_valid():
        tranche = form.tranches[form.cleaned_data["tranche"]]
        on = form.cleaned_data["on"]
        figures = letter.figures_for_letter(tranche=tranche, on=on)
        context.update(
            tranche=tranche,
            on=on,
            figures=figures,
            paragraph=letter.progress_paragraph(figures) if figures else None,
        )
    return render(request, "ministry/progress_letter.html", context)


@require_GET
@login_required
def accountability_page(request):
    """The certified yearly accounts (SiSa) per tranche and year. Read from the reports themselves, not the stored
    totals: one certified report per grant and year keeps them few."""
    _require_totals_access(request.user)
    return render(request, "ministry/accountability.html", {"reported": accountability_per_tranche_and_year()})
