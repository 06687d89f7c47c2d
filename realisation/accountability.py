"""The yearly accountability of a grant (SiSa): reads and writes of the municipality's accountability reports.

Each year a municipality accounts, per grant in force, for what it spent of the grant in that year and to date,
the units realised per national target group by the end of the year, whether the grant's obligations are still
met and whether the realised units are let to the target groups (their ten years of use are asked every year).
An editor or signatory prepares the report and offers it for certification; the financial officer of the same
municipality, another person, certifies it. A certified report is never changed: the final settlement reads the
certified reports (realisation.selectors.compute_settlement) and the ministry sums them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import enforce
from allocation.models import GRANTED_OUTCOMES, Decision
from allocation.selectors import with_current_decision
from applications.models import Application, UnitLine
from applications.selectors import applications_visible_to
from grants.models import TargetGroup
from grants.templatetags.money import format_euro

from . import permissions, signals
from .models import AccountabilityReport, AccountabilityStatus, AccountabilityUnits

logger = logging.getLogger(__name__)


# --- reads ----------------------------------------------------------------------------------------------


def accountable_grants(*, user) -> QuerySet[Application]:
    """The user's grants: applications whose decision in force grants money, oldest grant first.

    Annotated with granted_on (the date of the first decision that granted it: its first reporting year),
    amount_granted and complete_by of the decision in force.
    """
    first_grant = (
        Decision.objects.filter(application=OuterRef("pk"), outcome__in=GRANTED_OUTCOMES)
        .order_by("decision_date")
        .values("decision_date")[:1]
    )
    return (
        with_current_decision(applications_visible_to(user=user))
        .filter(decision__outcome__in=GRANTED_OUTCOMES)
        .annotate(
            granted_on=Subquery(first_grant),
            amount_granted=F("decision__amount"),
            complete_by=F("decision__complete_by"),
        )
        .order_by("granted_on", "reference")
    )


def accountable_grant(*, user, public_id) -> Application:
    """One of the user's grants with its unit lines and their national groups; Application.DoesNotExist if none."""
    lines = UnitLine.objects.select_related("target_group__national_group").order_by("pk")
    return (
        accountable_grants(user=user).prefetch_related(Prefetch("unit_lines", queryset=lines)).get(public_id=public_id)
    )


def reporting_years(grant: Application, *, today: date) -> list[int]:
    """The years a grant of accountable_grants() is accounted for so far: from its first grant to this year."""
    return list(range(grant.granted_on.year, today.year + 1))


def units_granted_per_group(grant: Application) -> dict[TargetGroup, int]:
    """The grant's units per national target group, from its unit lines (prefetched by accountable_grant)."""
    granted: dict[TargetGroup, int] = defaultdict(int)
    for line in grant.unit_lines.all():
        granted[line.target_group.national_group] += line.units
    return dict(sorted(granted.items(), key=lambda item: item[0].name))


def reports_by_year(
    *, grants: list[Application], with_units: bool = False
) -> dict[int, dict[int, AccountabilityReport]]:
    """The reports of these grants as {application id: {year: report}}, in one query (two with their units)."""
    reports = AccountabilityReport.objects.filter(application__in=grants).select_related("prepared_by", "certified_by")
    if with_units:
        units = AccountabilityUnits.objects.select_related("target_group").order_by("target_group__name")
        reports = reports.prefetch_related(Prefetch("units", queryset=units))
    found: dict[int, dict[int, AccountabilityReport]] = defaultdict(dict)
    for report in reports:
        found[report.application_id][report.year] = report
    return found


def latest_certified_report(*, application: Application) -> AccountabilityReport | None:
    """The certified report of the latest year: its amount spent to date is the most the grant settles at."""
    return application.accountability_reports.filter(status=AccountabilityStatus.CERTIFIED).order_by("-year").first()


# --- writes ---------------------------------------------------------------------------------------------


def units_field(target_group_id: int) -> str:
    """The error key (and form field) of the units realised for one national target group."""
    return f"units-{target_group_id}"


@dataclass(frozen=True)
class Account:
    """What a report states: the arguments of save_accountability_report, checked by account_errors."""

    amount_spent: Decimal | None
    amount_spent_cumulative: Decimal | None
    obligations_met: bool | None
    units_used_for_target_groups: bool | None
    units: dict[int, int | None]
    remarks: str = ""


def _first_granted_on(application: Application) -> date | None:
    first = application.decisions.filter(outcome__in=GRANTED_OUTCOMES).order_by("decision_date").first()
    return first.decision_date if first else None


def account_errors(*, application: Application, year: int, account: Account, today: date) -> dict[str, list[str]]:
    """What is wrong with a report of `year` on `today`, by field; `account.units` maps national group ids to units.

    The amounts are the part of the grant spent, so to date they are at most the amount granted; to date they
    also follow the certified reports of other years: at least an earlier year's total plus this year's spending,
    at most a later year's total less that year's spending.
    """
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    granted_on = _first_granted_on(application)
    if granted_on is not None and year < granted_on.year:
        add(
            "year",
            _("The grant was first decided in %(year)s; account for that year or later.") % {"year": granted_on.year},
        )
    if year > today.year:
        add("year", _("A year is accounted for once it has begun; %(year)s has not.") % {"year": year})
    spent, to_date = account.amount_spent, account.amount_spent_cumulative
    if spent is None:
        add("amount_spent", _("Give the amount spent in the year, 0 if nothing."))
    elif spent < 0:
        add("amount_spent", _("The amount spent cannot be negative."))
    if to_date is None:
        add("amount_spent_cumulative", _("Give the amount spent to date, 0 if nothing."))
    elif spent is not None and spent >= 0:
        granted = Decision.objects.current().get(application=application).amount
        certified = application.accountability_reports.filter(status=AccountabilityStatus.CERTIFIED)
        earlier = certified.filter(year__lt=year).order_by("-year").first()
        later = certified.filter(year__gt=year).order_by("year").first()
        if to_date < spent:
            add("amount_spent_cumulative", _("The amount spent to date includes the year's, so it cannot be less."))
        elif to_date > granted:
            add(
                "amount_spent_cumulative",
                _("At most %(amount)s: the amount granted.") % {"amount": format_euro(granted)},
            )
        elif earlier is not None and to_date < earlier.amount_spent_cumulative + spent:
            add(
                "amount_spent_cumulative",
                _("At least %(amount)s: the %(before)s certified to the end of %(year)s plus this year's spending.")
                % {
                    "amount": format_euro(earlier.amount_spent_cumulative + spent),
                    "before": format_euro(earlier.amount_spent_cumulative),
                    "year": earlier.year,
                },
            )
        elif later is not None and to_date > later.amount_spent_cumulative - later.amount_spent:
            add(
                "amount_spent_cumulative",
                _("At most %(amount)s: the %(after)s certified to the end of %(year)s less that year's spending.")
                % {
                    "amount": format_euro(later.amount_spent_cumulative - later.amount_spent),
                    "after": format_euro(later.amount_spent_cumulative),
                    "year": later.year,
                },
            )
    if account.obligations_met is None:
        add("obligations_met", _("Say whether the obligations of the grant are still met."))
    if account.units_used_for_target_groups is None:
        add("units_used_for_target_groups", _("Say whether the units realised are used for the target groups."))
    if False in (account.obligations_met, account.units_used_for_target_groups) and not account.remarks.strip():
        add("remarks", _("Explain in the remarks what is not met and what the municipality does about it."))
    granted_units: dict[int, int] = defaultdict(int)
    for group_id, units in application.unit_lines.values_list("target_group__national_group_id", "units"):
        granted_units[group_id] += units
    unknown = set(account.units) - set(granted_units)
    if unknown:
        raise ValueError(f"not target groups of this grant: {sorted(unknown)}")
    for group_id, most in granted_units.items():
        units, field = account.units.get(group_id), units_field(group_id)
        if units is None:
            add(field, _("Give the number of units realised, 0 if none yet."))
        elif units < 0:
            add(field, _("The number of units realised cannot be negative."))
        elif units > most:
            add(field, _("At most %(units)s: the units granted for this target group.") % {"units": most})
    return errors


def _locked(application: Application) -> Application:
    # Saving, offering and certifying lock the application, so no report changes while another is checked.
    return Application.objects.select_for_update().get(pk=application.pk)


@transaction.atomic
def save_accountability_report(
    *, application: Application, user, year: int, account: Account, now: datetime | None = None
) -> AccountabilityReport:
    """Create or change the report of `year` as a draft; one offered for certification goes back to draft."""
    enforce(permissions.can_prepare_accountability(user, application))
    application = _locked(application)
    enforce(permissions.can_prepare_accountability(user, application))
    now = now or timezone.now()
    report = application.accountability_reports.filter(year=year).first() or AccountabilityReport(
        application=application, year=year
    )
    if report.status == AccountabilityStatus.CERTIFIED:
        raise ValidationError(
            _("The report of %(year)s has been certified and can no longer be changed.") % {"year": year}
        )
    errors = account_errors(application=application, year=year, account=account, today=timezone.localdate(now))
    if errors:
        raise ValidationError(errors)
    report.amount_spent = account.amount_spent
    report.amount_spent_cumulative = account.amount_spent_cumulative
    report.obligations_met = account.obligations_met
    report.units_used_for_target_groups = account.units_used_for_target_groups
    report.remarks = account.remarks
    report.status = AccountabilityStatus.DRAFT
    report.prepared_by = user
    report.prepared_at = now
    report.save()
    report.units.all().delete()
    AccountabilityUnits.objects.bulk_create(
        AccountabilityUnits(report=report, target_group_id=group_id, units_realised=units)
        for group_id, units in account.units.items()
    )
    logger.info("accountability report %s of %s saved by %s", report.public_id, application.reference, user)
    return report


def _account_of(report: AccountabilityReport) -> Account:
    return Account(
        amount_spent=report.amount_spent,
        amount_spent_cumulative=report.amount_spent_cumulative,
        obligations_met=report.obligations_met,
        units_used_for_target_groups=report.units_used_for_target_groups,
        units=dict(report.units.values_list("target_group_id", "units_realised")),
        remarks=report.remarks,
    )


@transaction.atomic
def offer_for_certification(*, report: AccountabilityReport, user, now: datetime | None = None) -> AccountabilityReport:
    """A draft is ready: its preparer is now the user, and the financial officer may certify it."""
    enforce(permissions.can_prepare_accountability(user, report.application))
    application = _locked(report.application)
    report = AccountabilityReport.objects.select_for_update().get(pk=report.pk)
    if report.status != AccountabilityStatus.DRAFT:
        raise ValidationError(_("This report has already been offered for certification."))
    now = now or timezone.now()
    # Checked again: a report of another year may have been certified since this one was saved.
    errors = account_errors(
        application=application, year=report.year, account=_account_of(report), today=timezone.localdate(now)
    )
    if errors:
        messages = [message for field_messages in errors.values() for message in field_messages]
        raise ValidationError([_("Edit the report first.")] + messages)
    report.status = AccountabilityStatus.PREPARED
    report.prepared_by = user
    report.prepared_at = now
    report.save(update_fields=["status", "prepared_by", "prepared_at"])
    logger.info("accountability report %s offered for certification by %s", report.public_id, user)
    return report


@transaction.atomic
def certify_accountability_report(
    *, report: AccountabilityReport, user, now: datetime | None = None
) -> AccountabilityReport:
    """The financial officer certifies a prepared report; from then on it never changes."""
    enforce(permissions.can_certify_accountability(user, report))
    _locked(report.application)
    report = AccountabilityReport.objects.select_for_update().select_related("application").get(pk=report.pk)
    enforce(permissions.can_certify_accountability(user, report))
    if report.status != AccountabilityStatus.PREPARED:
        raise ValidationError(_("Only a report offered for certification can be certified."))
    report.status = AccountabilityStatus.CERTIFIED
    report.certified_by = user
    report.certified_at = now or timezone.now()
    report.save(update_fields=["status", "certified_by", "certified_at"])
    logger.info("accountability report %s certified by %s", report.public_id, user)
    transaction.on_commit(partial(signals.accountability_certified.send, sender=AccountabilityReport, report=report))
    return report
