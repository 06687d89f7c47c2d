"""The municipality's progress reports and yearly accountability reports on its grants. Each view parses the
request, calls a selector or a service and renders; a grant of another municipality, or an application without a
grant, is a 404.
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

from accounts.models import Role
from applications.forms import add_service_errors
from applications.models import Application, UnitLine

from . import accountability, changes, permissions, reclaims, selectors, services
from .forms import AccountabilityReportForm, ChangeRequestForm, ProgressReportForm, accountability_initial, initial_from
from .models import (
    AccountabilityReport,
    AccountabilityStatus,
    ProgressReport,
    ProgressStatus,
    Settlement,
    SettlementStatus,
)

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


# --- accountability (SiSa) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountedYear:
    year: int
    report: AccountabilityReport | None
    may_certify: bool = False


def _accountable_grant(user, public_id) -> Application:
    try:
        return accountability.accountable_grant(user=user, public_id=public_id)
    except Application.DoesNotExist:
        raise Http404(_("No granted application found.")) from None


def _accounted_years(grant: Application, reports: dict[int, AccountabilityReport], user=None) -> list[AccountedYear]:
    """The grant's reporting years, newest first; with a user, whether that user may certify each year's report."""
    return [
        AccountedYear(
            year=year,
            report=reports.get(year),
            may_certify=(
                user is not None
                and year in reports
                and reports[year].status == AccountabilityStatus.PREPARED
                and permissions.can_certify_accountability(user, reports[year])[0]
            ),
        )
        for year in reversed(accountability.reporting_years(grant, today=timezone.localdate()))
    ]


def _year_report(grant: Application, year: int) -> AccountabilityReport:
    report = grant.accountability_reports.filter(year=year).first()
    if report is None:
        raise Http404(_("There is no accountability report of this year."))
    return report


@login_required
def accountability_list(request):
    """The municipality's grants with the state of their accountability per year."""
    page = Paginator(accountability.accountable_grants(user=request.user), LIST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    grants = list(page.object_list)
    reports = accountability.reports_by_year(grants=grants)
    rows = [(grant, _accounted_years(grant, reports.get(grant.pk, {}))) for grant in grants]
    return render(request, "portal/accountability/list.html", {"page": page, "rows": rows})


@login_required
def accountability_grant(request, public_id):
    user = request.user
    grant = _accountable_grant(user, public_id)
    reports = accountability.reports_by_year(grants=[grant], with_units=True).get(grant.pk, {})
    certified = [report for report in reports.values() if report.status == AccountabilityStatus.CERTIFIED]
    return render(
        request,
        "portal/accountability/grant.html",
        {
            "grant": grant,
            "years": _accounted_years(grant, reports, user),
            "latest_certified": max(certified, key=lambda report: report.year, default=None),
            "settlement": Settlement.objects.filter(
                decision__application=grant, status=SettlementStatus.CONFIRMED
            ).first(),
            "may_prepare": permissions.can_prepare_accountability(user, grant)[0],
            "is_financial_officer": user.role == Role.MUNICIPAL_FINANCIAL_OFFICER,
        },
    )


@login_required
def accountability_edit(request, public_id, year: int):
    """Prepare the year's report as a draft; it starts from the year's report or the units of an earlier one."""
    user = request.user
    grant = _accountable_grant(user, public_id)
    _require(permissions.can_prepare_accountability(user, grant))
    if year not in accountability.reporting_years(grant, today=timezone.localdate()):
        raise Http404(_("This year is not accounted for."))
    reports = accountability.reports_by_year(grants=[grant], with_units=True).get(grant.pk, {})
    report = reports.get(year)
    if report is not None and report.status == AccountabilityStatus.CERTIFIED:
        raise PermissionDenied(
            _("The report of %(year)s has been certified and can no longer be changed.") % {"year": year}
        )
    granted = accountability.units_granted_per_group(grant)
    if request.method == "POST":
        form = AccountabilityReportForm(request.POST, granted=granted)
        if form.is_valid():
            try:
                accountability.save_accountability_report(
                    application=grant, user=user, year=year, account=form.account()
                )
            except ValidationError as error:
                add_service_errors(error, form=form)
            else:
                messages.success(
                    request, _("The report has been saved as a draft. Offer it for certification when it is complete.")
                )
                return redirect("progress:accountability_grant", public_id=grant.public_id)
    else:
        earlier = max((reports[past] for past in reports if past < year), key=lambda r: r.year, default=None)
        form = AccountabilityReportForm(initial=accountability_initial(report, earlier=earlier), granted=granted)
    context = {"grant": grant, "year": year, "form": form, "report": report}
    return render(request, "portal/accountability/edit.html", context)


@login_required
@require_POST
def accountability_offer(request, public_id, year: int):
    grant = _accountable_grant(request.user, public_id)
    _require(permissions.can_prepare_accountability(request.user, grant))
    try:
        accountability.offer_for_certification(report=_year_report(grant, year), user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The report is ready for the financial officer to certify."))
    return redirect("progress:accountability_grant", public_id=grant.public_id)


@login_required
@require_POST
def accountability_certify(request, public_id, year: int):
    grant = _accountable_grant(request.user, public_id)
    report = _year_report(grant, year)
    _require(permissions.can_certify_accountability(request.user, report))
    try:
        accountability.certify_accountability_report(report=report, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("You have certified the report of %(year)s.") % {"year": year})
    return redirect("progress:accountability_grant", public_id=grant.public_id)


# --- change requests ------------------------------------------------------------------------------------


@login_required
def change_requests(request, public_id):
    """The grant's change requests and reclaims, each with the letter that answered it."""
    grant = _visible_grant(request.user, public_id)
    requests = list(changes.change_requests_of(application=grant))
    grant_reclaims = list(reclaims.reclaims_of(application=grant))
    # A letter is issued in the same instant as the assessment or confirmation it answers.
    letters = {letter.issued_at: letter for letter in grant.letters.filter(kind__in=changes.LETTER_FILE_NAMES)}
    context = {
        "grant": grant,
        "location": changes.current_location(grant),
        "requests": [(change, letters.get(change.assessed_at)) for change in requests],
        "reclaims": [(reclaim, letters.get(reclaim.confirmed_at)) for reclaim in grant_reclaims],
        "may_request": changes.can_request_change(request.user, grant)[0]
        and grant.settlement_status != SettlementStatus.CONFIRMED,
    }
    return render(request, "portal/changes/list.html", context)


@login_required
def change_request_new(request, public_id):
    """A signatory asks the agency to change the grant."""
    grant = _visible_grant(request.user, public_id)
    _require(changes.can_request_change(request.user, grant))
    lines = list(grant.unit_lines.all())
    form = ChangeRequestForm(request.POST if request.method == "POST" else None, lines=lines)
    if request.method == "POST" and form.is_valid():
        try:
            changes.submit_change_request(application=grant, user=request.user, **form.request())
        except ValidationError as error:
            add_service_errors(error, form=form)
        else:
            messages.success(request, _("Your change request has been sent to the agency."))
            return redirect("progress:changes", public_id=grant.public_id)
    return render(request, "portal/changes/new.html", {"grant": grant, "form": form})
