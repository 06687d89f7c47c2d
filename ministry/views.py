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
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.models import AuditAction
from accounts.services import record_audit
from allocation.objections import over_commitment_per_tranche
from grants.models import Tranche

from . import exports, letter
from .dashboard import TABLES, dashboard
from .permissions import can_view_totals
from .selectors import accountability_per_tranche_and_year

EXPORTS = {
    "csv": (exports.table_csv, exports.CSV_CONTENT_TYPE),
    "xlsx": (exports.table_xlsx, exports.XLSX_CONTENT_TYPE),
}


def _require_totals_access(user) -> None:
    allowed, reason = can_view_totals(user)
    if not allowed:
        raise PermissionDenied(reason)


@require_GET
@login_required
def dashboard_page(request):
    _require_totals_access(request.user)
    context = {
        "dashboard": dashboard(params=request.GET),
        "query": request.GET.urlencode(),
        "over_commitment": over_commitment_per_tranche(),
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
    response["Content-Disposition"] = f'attachment; filename="thuisfonds-{table}.{file_format}"'
    detail = f"{table}.{file_format}, {len(content.rows)} rows, filter: {request.GET.urlencode() or '-'}"
    record_audit(action=AuditAction.EXPORT, request=request, detail=detail)
    return response


class LetterForm(forms.Form):
    tranche = forms.ChoiceField(label=_("Tranche"))

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
    tranches = list(Tranche.objects.order_by("scheme__code", "-number"))
    form = LetterForm(request.GET if "tranche" in request.GET else None, tranches=tranches)
    context = {"form": form}
    if form.is_valid():
        tranche = form.tranches[form.cleaned_data["tranche"]]
        figures = letter.figures_for_letter(tranche=tranche)
        context.update(
            tranche=tranche,
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
