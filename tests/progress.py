"""Helpers for the progress report, accountability and settlement tests: granted applications and their reports."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Role
from allocation.selectors import current_decision
from applications.models import Application
from realisation import accountability
from realisation import services as realisation_services
from realisation.models import AccountabilityReport, ProgressReport, Settlement
from realisation.services import confirm_settlement, prepare_settlement
from tests.factories import ApplicationFactory, TrancheFactory, UnitLineFactory, UserFactory
from tests.figures import allocate

TEN_HOMELESS = ("homeless", 10, "permanent", None)


def granted(*, municipality: str = "GM0344", lines=(TEN_HOMELESS,), ceiling: str = "1000000.00") -> Application:
    """A granted application, decided by a real allocation run so its decision and deadlines are the real ones.

    lines: (tranche group code, units, permanence, requested amount or None for the maximum of € 7.000 a unit).
    A ceiling below the request makes it a partial grant of the ceiling.
    """
    tranche = TrancheFactory(budget_ceiling=Decimal(ceiling))
    application = ApplicationFactory(eligible=True, tranche=tranche, municipality__code=municipality, lines=[])
    for group, units, permanence, amount in lines:
        extra = {} if amount is None else {"requested_amount": Decimal(amount)}
        UnitLineFactory(application=application, group_code=group, units=units, permanence=permanence, **extra)
    allocate(tranche)
    application = Application.objects.select_related("municipality").get(pk=application.pk)
    # The decision in force, for the tests to read its deadlines and amount.
    application.decision = current_decision(application=application)
    return application


def signatory_of(application: Application):
    return UserFactory(signatory=True, municipality=application.municipality)


def realised_by_line(application: Application, units: list[int]) -> dict[int, int]:
    lines = list(application.unit_lines.order_by("pk"))
    assert len(lines) == len(units)
    return {line.pk: count for line, count in zip(lines, units, strict=True)}


def prepare(
    application: Application,
    user,
    *,
    started: date | None = None,
    completed: date | None = None,
    realised: list[int] | None = None,
    remarks: str = "",
) -> ProgressReport:
    """Save a draft report; realised units per unit line in line order, none realised when left out."""
    units = realised if realised is not None else [0] * application.unit_lines.count()
    return realisation_services.save_progress_report(
        application=application,
        user=user,
        construction_started_on=started,
        completed_on=completed,
        realised=realised_by_line(application, units),
        delay_remarks=remarks,
    )


def submit(application: Application, **report) -> ProgressReport:
    """Prepare and submit a report as a signatory of the application's municipality."""
    signatory = signatory_of(application)
    return realisation_services.submit_progress_report(report=prepare(application, signatory, **report), user=signatory)


def completed(application: Application, realised: list[int]) -> ProgressReport:
    """Report the project complete today, started a month ago, with these units realised per line; and, unless
    done before, certify this year's accountability report spending the whole grant, so that it can be settled."""
    today = timezone.localdate()
    report = submit(application, started=today - timedelta(days=30), completed=today, realised=realised)
    if not application.accountability_reports.filter(year=today.year).exists():
        certify_accounts(application)
    return report


def financial_officer_of(application: Application):
    return UserFactory(role=Role.MUNICIPAL_FINANCIAL_OFFICER, municipality=application.municipality)


def certify_accounts(
    application: Application,
    *,
    year: int | None = None,
    spent: str | None = None,
    cumulative: str | None = None,
    met: bool = True,
    used: bool = True,
) -> AccountabilityReport:
    """An editor prepares the year's accountability report (this year's by default) and the financial officer
    certifies it: spent in the year and to date the whole grant unless given, every granted unit realised, the
    obligations met and the units used for the target groups unless said otherwise."""
    amount = str(current_decision(application=application).amount)
    units: dict[int, int] = {}
    for group_id, count in application.unit_lines.values_list("target_group__national_group_id", "units"):
        units[group_id] = units.get(group_id, 0) + count
    account = accountability.Account(
        amount_spent=Decimal(spent or amount),
        amount_spent_cumulative=Decimal(cumulative or spent or amount),
        obligations_met=met,
        units_used_for_target_groups=used,
        units=units,
        remarks="" if met and used else "Vertraagd; de gemeente stuurt bij.",
    )
    editor = UserFactory(municipality=application.municipality)
    report = accountability.save_accountability_report(
        application=application, user=editor, year=year or timezone.localdate().year, account=account
    )
    report = accountability.offer_for_certification(report=report, user=editor)
    return accountability.certify_accountability_report(report=report, user=financial_officer_of(application))


def settle(application: Application) -> Settlement:
    """Prepare and confirm the settlement by two agency users."""
    settlement = prepare_settlement(decision=application.decision, user=UserFactory(assessor=True))
    return confirm_settlement(settlement=settlement, user=UserFactory(approver=True))
