"""This stage's part of an application's case file (applications.case_file): progress reports, change requests,
reclaims, accountability reports and the settlement.
"""

from __future__ import annotations

from datetime import date

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from applications.case_file import CaseFileEntry, Link
from applications.models import DECIDED_STATUSES, Application
from grants.templatetags.money import format_euro

from .changes import describe
from .models import (
    AccountabilityReport,
    AccountabilityStatus,
    ChangeRequest,
    ChangeRequestStatus,
    ProgressReport,
    ProgressStatus,
    Reclaim,
    ReclaimStatus,
    Settlement,
    SettlementStatus,
)
from .selectors import GRANTED_STATUSES


def _day(value: date) -> str:
    return formats.date_format(value, "j F Y")


def _progress_text(report: ProgressReport) -> str:
    if report.construction_started_on is None:
        return _("Construction has not started yet.")
    lines = [_("Construction started on %(day)s.") % {"day": _day(report.construction_started_on)}]
    if report.completed_on:
        lines.append(_("Completed on %(day)s.") % {"day": _day(report.completed_on)})
    return "\n".join(lines)


def _settlement_text(settlement: Settlement) -> str:
    return "\n".join(
        [
            _("%(realised)s of %(granted)s units realised.")
            % {"realised": settlement.units_realised, "granted": settlement.units_granted},
            _("Amount settled: %(settled)s; to be repaid: %(reclaimed)s.")
            % {
                "settled": format_euro(settlement.amount_settled),
                "reclaimed": format_euro(settlement.amount_reclaimed),
            },
        ]
    )


def _change_request_text(change: ChangeRequest) -> str:
    if change.status == ChangeRequestStatus.SUBMITTED:
        return _("Awaiting assessment.")
    if change.status == ChangeRequestStatus.APPROVED:
        return _("Approved on %(day)s.") % {"day": _day(timezone.localdate(change.assessed_at))}
    lines = [_("Rejected on %(day)s.") % {"day": _day(timezone.localdate(change.assessed_at))}]
    if change.assessment:
        lines.append(change.assessment)
    return "\n".join(lines)


def _reclaim_text(reclaim: Reclaim) -> str:
    lines = [
        reclaim.get_ground_display(),
        _("%(amount)s to be repaid by %(day)s.") % {"amount": format_euro(reclaim.amount), "day": _day(reclaim.due_on)},
    ]
    if reclaim.status == ReclaimStatus.PAID:
        lines.append(
            _("%(amount)s repaid on %(day)s.")
            % {"amount": format_euro(reclaim.amount_paid), "day": _day(reclaim.paid_on)}
        )
    return "\n".join(lines)


def _accountability_text(report: AccountabilityReport) -> str:
    return _("Spent in %(year)s: %(spent)s; spent to date: %(cumulative)s.") % {
        "year": report.year,
        "spent": format_euro(report.amount_spent),
        "cumulative": format_euro(report.amount_spent_cumulative),
    }


def realisation_entries(application: Application, user) -> list[CaseFileEntry]:
    """What was reported, asked, reclaimed and settled after the grant: five queries, or none before a decision.

    Drafts, reports awaiting certification and reclaims not yet confirmed are still in someone's hands and stay
    out.
    """
    if application.status not in DECIDED_STATUSES:
        return []
    # The progress page answers only while the application holds a grant.
    progress = (
        Link(_("Progress reports"), reverse("progress:detail", args=[application.public_id]))
        if application.status in GRANTED_STATUSES
        else None
    )
    reports = application.progress_reports.filter(status=ProgressStatus.SUBMITTED).order_by("submitted_at", "pk")
    settlements = Settlement.objects.filter(decision__application=application, status=SettlementStatus.CONFIRMED)
    changes = application.change_requests.order_by("submitted_at", "pk")
    reclaims = application.reclaims.exclude(status=ReclaimStatus.PREPARED).order_by("confirmed_at", "pk")
    accounts = application.accountability_reports.filter(status=AccountabilityStatus.CERTIFIED).order_by("year")
    return [
        *(
            CaseFileEntry(
                at=report.submitted_at, title=_("Progress report"), text=_progress_text(report), link=progress
            )
            for report in reports
        ),
        *(
            CaseFileEntry(
                at=settlement.confirmed_at, title=_("Settlement"), text=_settlement_text(settlement), link=progress
            )
            for settlement in settlements
        ),
        *(
            CaseFileEntry(
                at=change.submitted_at,
                title=_("Change request: %(kind)s") % {"kind": change.get_kind_display()},
                text=f"{describe(change)}\n{_change_request_text(change)}",
            )
            for change in changes
        ),
        *(
            CaseFileEntry(at=reclaim.confirmed_at, title=_("Reclaim"), text=_reclaim_text(reclaim))
            for reclaim in reclaims
        ),
        *(
            CaseFileEntry(
                at=report.certified_at,
                title=_("Accountability report %(year)s") % {"year": report.year},
                text=_accountability_text(report),
            )
            for report in accounts
        ),
    ]
