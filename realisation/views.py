"""The municipality's progress reports on its grants. Each view parses the request, calls a selector or a service
and renders; a grant of another municipality, or an application without a grant, is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from applications.forms import add_service_errors
from applications.models import Application, UnitLine

from . import permissions, selectors, services
from .forms import ProgressReportForm, initial_from
from .models import ProgressReport, ProgressStatus, Settlement, SettlementStatus

LIST_PAGE_SIZE = 25


def _require(verdict: permissions.Verdict) -> None:
    allowed, reason = verdict
    if not allowed:
        raise PermissionDenied(reason)


def _visible_grant(user, public_id) -> Application:
    try:
        return selectors.grant_with_progress(user=user, public_id=public_id, today=timezone.localdate())
    except Application.DoesNotExist:
        raise Http404(_("No granted application found.")) from None


def _confirmed_settlement(grant: Application) -> Settlement | None:
    if grant.settlement_status != SettlementStatus.CONFIRMED:
        return None
    return Settlement.objects.get(decision__application=grant, status=SettlementStatus.CONFIRMED)


@dataclass(frozen=True)
class ReportedLine:
    line: UnitLine
    units: int | None


@dataclass(frozen=True)
class ReportView:
    report: ProgressReport
    lines: list[ReportedLine]

    @property
    def units_realised(self) -> int:
        return sum(line.units or 0 for line in self.lines)


def _report_view(report: ProgressReport, lines: list[UnitLine]) -> ReportView:
    realised = {row.unit_line_id: row.units for row in report.realised_units.all()}
    return ReportView(report=report, lines=[ReportedLine(line=line, units=realised.get(line.pk)) for line in lines])


@login_required
def progress_list(request):
    grants = selectors.grants_with_progress(user=request.user, today=timezone.localdate())
    page = Paginator(grants, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/progress/list.html", {"page": page, "grants": page.object_list})


@login_required
def progress_detail(request, public_id):
    user = request.user
    grant = _visible_grant(user, public_id)
    lines = list(grant.unit_lines.all())
    reports = [_report_view(report, lines) for report in selectors.progress_reports_of(application=grant)]
    draft = next((view for view in reports if view.report.status == ProgressStatus.DRAFT), None)
    settlement = _confirmed_settlement(grant)
    return render(
        request,
        "portal/progress/detail.html",
        {
            "grant": grant,
            "lines": lines,
            "units_granted": sum(line.units for line in lines),
            "reports": [view for view in reports if view is not draft],
            "draft": draft,
            "settlement": settlement,
            "may_report": settlement is None and permissions.can_report_progress(user, grant)[0],
            "may_submit": settlement is None and permissions.can_submit_progress(user, grant)[0],
        },
    )


@login_required
def progress_edit(request, public_id):
    """Prepare the draft report; it starts from the previous draft or the latest submitted report."""
    grant = _visible_grant(request.user, public_id)
    _require(permissions.can_report_progress(request.user, grant))
    if grant.settlement_status == SettlementStatus.CONFIRMED:
        raise PermissionDenied(_("This grant has been settled; its progress can no longer be reported."))
    lines = list(grant.unit_lines.all())
    if request.method == "POST":
        form = ProgressReportForm(request.POST, lines=lines)
        if form.is_valid():
            try:
                services.save_progress_report(application=grant, user=request.user, **form.report())
            except ValidationError as error:
                add_service_errors(error, form=form)
            else:
                messages.success(request, _("The progress report has been saved. A signatory submits it."))
                return redirect("progress:detail", public_id=grant.public_id)
    else:
        report = selectors.progress_report_to_continue(application=grant)
        form = ProgressReportForm(initial=initial_from(report), lines=lines)
    return render(request, "portal/progress/edit.html", {"grant": grant, "form": form})


@login_required
@require_POST
def progress_submit(request, public_id):
    grant = _visible_grant(request.user, public_id)
    _require(permissions.can_submit_progress(request.user, grant))
    draft = selectors.draft_progress_report(application=grant)
    if draft is None:
        raise Http404(_("There is no prepared progress report to submit."))
    try:
        services.submit_progress_report(report=draft, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The progress report has been submitted to the agency."))
    return redirect("progress:detail", public_id=grant.public_id)
