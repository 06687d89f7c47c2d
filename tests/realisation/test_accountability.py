"""The yearly accountability report (SiSa): prepared by an editor or signatory, certified by the municipality's
financial officer, never changed after; the settlement it allows and caps; the portal pages and the back office."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import sync_agency_group
from ministry import tasks
from realisation.accountability import (
    Account,
    certify_accountability_report,
    offer_for_certification,
    save_accountability_report,
    units_field,
)
from realisation.models import AccountabilityReport, AccountabilityStatus, Settlement
from realisation.services import confirm_settlement, prepare_settlement
from tests.factories import UserFactory
from tests.portal import client_for
from tests.progress import (
    TEN_HOMELESS,
    certify_accounts,
    completed,
    financial_officer_of,
    granted,
    signatory_of,
    submit,
)

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FOUR_STUDENTS = ("students", 4, "flexible", None)


def next_year(month: int = 3):
    """Travel to the first of `month` next year, so that this year and next can both be accounted for."""
    return time_machine.travel(
        datetime.combine(date(timezone.localdate().year + 1, month, 1), time(12), tzinfo=AMSTERDAM), tick=False
    )


def national_groups(grant) -> list[int]:
    return sorted(set(grant.unit_lines.values_list("target_group__national_group_id", flat=True)))


def account(grant, *, spent="10000.00", to_date=None, met=True, used=True, units=None, remarks="") -> Account:
    """An account of a grant; units realised per national group in the order of national_groups(), 0 by default."""
    groups = national_groups(grant)
    return Account(
        amount_spent=None if spent is None else Decimal(spent),
        amount_spent_cumulative=Decimal(to_date or spent or "0"),
        obligations_met=met,
        units_used_for_target_groups=used,
        units=dict(zip(groups, units if units is not None else [0] * len(groups), strict=True)),
        remarks=remarks,
    )


def prepared(grant, editor=None, *, year=None, **figures) -> AccountabilityReport:
    """Save a report as an editor and offer it for certification."""
    editor = editor or UserFactory(municipality=grant.municipality)
    report = save_accountability_report(
        application=grant, user=editor, year=year or timezone.localdate().year, account=account(grant, **figures)
    )
    return offer_for_certification(report=report, user=editor)


@pytest.fixture
def grant():
    return granted(lines=(TEN_HOMELESS,))  # € 70.000 for 10 homes


@pytest.fixture
def officer(grant):
    return financial_officer_of(grant)


# --- preparing and certifying ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MUNICIPAL_EDITOR, Role.MUNICIPAL_SIGNATORY])
def test_financial_officer_certifies_a_prepared_report(grant, officer, role):
    preparer = UserFactory(role=role, municipality=grant.municipality)
    report = prepared(grant, preparer, spent="25000.00", units=[4])
    assert report.status == AccountabilityStatus.PREPARED

    certified = certify_accountability_report(report=report, user=officer)

    certified.refresh_from_db()
    assert certified.status == AccountabilityStatus.CERTIFIED
    assert (certified.prepared_by, certified.certified_by) == (preparer, officer)
    assert certified.certified_at is not None and certified.prepared_at <= certified.certified_at
    assert certified.amount_spent_cumulative == Decimal("25000.00")
    assert list(certified.units.values_list("units_realised", flat=True)) == [4]


def test_preparer_cannot_certify_own_report(grant):
    preparer = UserFactory(municipality=grant.municipality)
    report = prepared(grant, preparer)
    # The editor who prepared it has since become the municipality's financial officer.
    preparer.role = Role.MUNICIPAL_FINANCIAL_OFFICER
    preparer.save(update_fields=["role"])

    with pytest.raises(PermissionDenied):
        certify_accountability_report(report=report, user=preparer)
    report.refresh_from_db()
    assert (report.status, report.certified_by) == (AccountabilityStatus.PREPARED, None)


def test_the_database_refuses_a_report_certified_by_its_preparer(grant):
    report = prepared(grant)

    with pytest.raises(IntegrityError), transaction.atomic():
        AccountabilityReport.objects.filter(pk=report.pk).update(
            status=AccountabilityStatus.CERTIFIED, certified_by=report.prepared_by, certified_at=timezone.now()
        )


def test_financial_officer_cannot_prepare(grant, officer):
    with pytest.raises(PermissionDenied):
        save_accountability_report(
            application=grant, user=officer, year=timezone.localdate().year, account=account(grant)
        )
    assert not AccountabilityReport.objects.exists()


def test_an_editor_cannot_certify(grant):
    report = prepared(grant)

    with pytest.raises(PermissionDenied):
        certify_accountability_report(report=report, user=UserFactory(municipality=grant.municipality))
    assert AccountabilityReport.objects.get().status == AccountabilityStatus.PREPARED


def test_the_financial_officer_of_another_municipality_cannot_certify(grant):
    report = prepared(grant)
    stranger = UserFactory(role=Role.MUNICIPAL_FINANCIAL_OFFICER, municipality__code="GM0363")

    with pytest.raises(PermissionDenied):
        certify_accountability_report(report=report, user=stranger)


def test_another_municipality_cannot_prepare_a_report_on_the_grant(grant):
    with pytest.raises(PermissionDenied):
        save_accountability_report(
            application=grant,
            user=UserFactory(municipality__code="GM0363"),
            year=timezone.localdate().year,
            account=account(grant),
        )


def test_a_draft_is_not_certified_before_it_is_offered(grant, officer):
    report = save_accountability_report(
        application=grant,
        user=UserFactory(municipality=grant.municipality),
        year=timezone.localdate().year,
        account=account(grant),
    )

    with pytest.raises(ValidationError):
        certify_accountability_report(report=report, user=officer)
    assert AccountabilityReport.objects.get().status == AccountabilityStatus.DRAFT


def test_changing_a_report_awaiting_certification_takes_it_back_to_draft(grant):
    report = prepared(grant, spent="10000.00")

    save_accountability_report(
        application=grant,
        user=UserFactory(municipality=grant.municipality),
        year=report.year,
        account=account(grant, spent="12000.00"),
    )

    report.refresh_from_db()
    assert (report.status, report.amount_spent) == (AccountabilityStatus.DRAFT, Decimal("12000.00"))
    assert AccountabilityReport.objects.count() == 1


def test_certified_report_cannot_change(grant, officer):
    report = certify_accountability_report(report=prepared(grant, spent="10000.00"), user=officer)
    editor = UserFactory(municipality=grant.municipality)

    with pytest.raises(ValidationError):
        save_accountability_report(
            application=grant, user=editor, year=report.year, account=account(grant, spent="1.00")
        )
    with pytest.raises(ValidationError):
        offer_for_certification(report=report, user=editor)
    with pytest.raises(PermissionDenied):
        certify_accountability_report(report=report, user=financial_officer_of(grant))
    report.refresh_from_db()
    assert (report.status, report.amount_spent, report.certified_by) == (
        AccountabilityStatus.CERTIFIED,
        Decimal("10000.00"),
        officer,
    )


def test_the_database_keeps_one_report_per_grant_and_year(grant):
    report = prepared(grant)

    with pytest.raises(IntegrityError), transaction.atomic():
        AccountabilityReport.objects.create(
            application=grant,
            year=report.year,
            amount_spent=0,
            amount_spent_cumulative=0,
            obligations_met=True,
            units_used_for_target_groups=True,
            prepared_by=report.prepared_by,
            prepared_at=timezone.now(),
        )


def test_certifying_refreshes_the_totals_after_commit(grant, officer, django_capture_on_commit_callbacks):
    report = prepared(grant)

    with (
        mock.patch.object(tasks.refresh_totals, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        certify_accountability_report(report=report, user=officer)

    delay.assert_called_once_with()


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("figures", "field"),
    [
        ({"spent": "-1.00", "to_date": "5000.00"}, "amount_spent"),
        ({"spent": None}, "amount_spent"),
        ({"spent": "5000.00", "to_date": "4999.99"}, "amount_spent_cumulative"),
        ({"spent": "5000.00", "to_date": "70000.01"}, "amount_spent_cumulative"),
        ({"units": [-1]}, "units"),
        ({"units": [11]}, "units"),
        ({"units": [None]}, "units"),
        ({"met": None}, "obligations_met"),
        ({"used": None}, "units_used_for_target_groups"),
        ({"met": False}, "remarks"),
        ({"used": False, "remarks": "   "}, "remarks"),
    ],
)
def test_bad_figures_are_refused_on_their_field_and_nothing_is_saved(grant, figures, field):
    with pytest.raises(ValidationError) as refused:
        save_accountability_report(
            application=grant,
            user=UserFactory(municipality=grant.municipality),
            year=timezone.localdate().year,
            account=account(grant, **figures),
        )

    expected = units_field(national_groups(grant)[0]) if field == "units" else field
    assert list(refused.value.message_dict) == [expected]
    assert not AccountabilityReport.objects.exists()


def test_obligations_not_met_are_accepted_with_an_explanation(grant):
    report = prepared(grant, met=False, remarks="De bouw is een jaar vertraagd door stikstofregels.")

    assert report.obligations_met is False


@pytest.mark.parametrize("years_off", [-1, 1])
def test_a_year_before_the_decision_or_still_to_come_is_refused(grant, years_off):
    with pytest.raises(ValidationError) as refused:
        save_accountability_report(
            application=grant,
            user=UserFactory(municipality=grant.municipality),
            year=grant.decision.decision_date.year + years_off,
            account=account(grant),
        )

    assert list(refused.value.message_dict) == ["year"]


def test_the_amount_spent_to_date_follows_the_certified_earlier_year(grant):
    certify_accounts(grant, spent="30000.00")

    with next_year():
        editor = UserFactory(municipality=grant.municipality)
        year = timezone.localdate().year
        with pytest.raises(ValidationError) as refused:
            save_accountability_report(
                application=grant, user=editor, year=year, account=account(grant, spent="10000.00", to_date="35000.00")
            )
        report = save_accountability_report(
            application=grant, user=editor, year=year, account=account(grant, spent="10000.00", to_date="40000.00")
        )

    assert "€\u00a040.000,00" in refused.value.message_dict["amount_spent_cumulative"][0]
    assert report.amount_spent_cumulative == Decimal("40000.00")


def test_an_earlier_year_certified_later_is_checked_again_when_offering(grant):
    editor = UserFactory(municipality=grant.municipality)
    this_year = timezone.localdate().year
    with next_year():
        later = save_accountability_report(
            application=grant,
            user=editor,
            year=this_year + 1,
            account=account(grant, spent="5000.00", to_date="10000.00"),
        )
        certify_accounts(grant, year=this_year, spent="20000.00")

        with pytest.raises(ValidationError):
            offer_for_certification(report=later, user=editor)

    assert AccountabilityReport.objects.get(pk=later.pk).status == AccountabilityStatus.DRAFT


# --- the settlement -------------------------------------------------------------------------------------


def test_settlement_waits_for_a_certified_report(grant):
    today = timezone.localdate()
    submit(grant, started=today - timedelta(days=30), completed=today, realised=[10])
    assessor = UserFactory(assessor=True)

    with pytest.raises(ValidationError):
        prepare_settlement(decision=grant.decision, user=assessor)
    report = prepared(grant, spent="70000.00", units=[10])
    with pytest.raises(ValidationError):
        prepare_settlement(decision=grant.decision, user=assessor)
    certify_accountability_report(report=report, user=financial_officer_of(grant))
    settlement = prepare_settlement(decision=grant.decision, user=assessor)

    assert settlement.amount_settled == Decimal("70000.00")


def test_settlement_waits_for_the_report_of_the_year_of_completion(grant):
    certify_accounts(grant, spent="40000.00")
    with next_year():
        today = timezone.localdate()
        submit(grant, started=today - timedelta(days=30), completed=today, realised=[10])

        with pytest.raises(ValidationError) as refused:
            prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))
        certify_accounts(grant, spent="30000.00", cumulative="70000.00")
        settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    assert str(today.year) in refused.value.messages[0]
    assert settlement.amount_settled == Decimal("70000.00")


def test_settlement_is_capped_by_the_amount_spent(grant):
    completed_report = submit(
        grant, started=timezone.localdate() - timedelta(days=30), completed=timezone.localdate(), realised=[10]
    )
    certify_accounts(grant, spent="52500.00")

    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    assert settlement.progress_report == completed_report
    assert (settlement.units_realised, settlement.amount_paid) == (10, Decimal("70000.00"))
    assert (settlement.amount_settled, settlement.amount_reclaimed) == (Decimal("52500.00"), Decimal("17500.00"))


def test_the_per_unit_rule_still_applies_below_the_amount_spent(grant):
    completed(grant, [6])  # the whole grant certified as spent, 6 of 10 homes realised

    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    assert settlement.amount_settled == Decimal("42000.00")


def test_the_latest_certified_year_caps_the_settlement(grant):
    certify_accounts(grant, spent="20000.00")
    with next_year():
        certify_accounts(grant, spent="30000.00", cumulative="50000.00")
        today = timezone.localdate()
        submit(grant, started=today - timedelta(days=30), completed=today, realised=[10])
        settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    assert settlement.amount_settled == Decimal("50000.00")


def test_a_project_not_completed_by_its_deadline_settles_on_what_was_certified(grant):
    submit(grant, started=timezone.localdate(), realised=[10])
    certify_accounts(grant, spent="21000.00")
    after_deadline = timezone.now() + timedelta(days=(grant.decision.complete_by - timezone.localdate()).days + 1)

    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True), now=after_deadline)

    assert (settlement.amount_settled, settlement.amount_reclaimed) == (Decimal("21000.00"), Decimal("49000.00"))


def test_a_report_certified_after_preparing_stops_the_confirmation(grant):
    completed(grant, [10])
    settlement = prepare_settlement(decision=grant.decision, user=UserFactory(assessor=True))

    with next_year():
        certify_accounts(grant, spent="0.00", cumulative="70000.00")
        with pytest.raises(ValidationError):
            confirm_settlement(settlement=settlement, user=UserFactory(approver=True))

    assert Settlement.objects.get().status == "prepared"


# --- the portal -----------------------------------------------------------------------------------------


def page(name: str, grant, *args) -> str:
    return reverse(f"progress:{name}", args=[grant.public_id, *args])


def form_data(grant, *, spent="25.000,00", to_date="25.000,00", met="True", used="True", units="4", remarks=""):
    data = {
        "amount_spent": spent,
        "amount_spent_cumulative": to_date,
        "obligations_met": met,
        "units_used_for_target_groups": used,
        "remarks": remarks,
    }
    data.update({units_field(group): units for group in national_groups(grant)})
    return data


# Session, user, the header's municipality and reminders, the page's count, the page's grants, their reports.
LIST_QUERIES = 7


def test_the_accountability_list_shows_every_grant_per_year_at_a_fixed_cost(django_assert_num_queries):
    client = client_for(UserFactory())
    certify_accounts(granted(), spent="1000.00")
    with CaptureQueriesContext(connection) as one_grant:
        client.get(reverse("progress:accountability_list"))
    for _ in range(2):
        certify_accounts(granted(), spent="1000.00")

    with django_assert_num_queries(len(one_grant)):
        response = client.get(reverse("progress:accountability_list"))

    assert len(one_grant) <= LIST_QUERIES
    assert response.context["page"].paginator.count == 3
    rows = response.context["rows"]
    assert [[(item.year, item.report.status) for item in years] for _grant, years in rows] == [
        [(timezone.localdate().year, AccountabilityStatus.CERTIFIED)]
    ] * 3


def test_the_list_offers_the_years_still_to_account_for(grant):
    with next_year():
        response = client_for(UserFactory(municipality=grant.municipality)).get(reverse("progress:accountability_list"))

    [(_grant, years)] = response.context["rows"]
    this_year = grant.decision.decision_date.year
    assert [(item.year, item.report) for item in years] == [(this_year + 1, None), (this_year, None)]


def test_another_municipality_gets_404_on_every_accountability_page(grant):
    report = prepared(grant)
    stranger = client_for(UserFactory(role=Role.MUNICIPAL_FINANCIAL_OFFICER, municipality__code="GM0363"))
    editor = client_for(UserFactory(municipality__code="GM0363"))

    assert stranger.get(page("accountability_grant", grant)).status_code == 404
    assert editor.get(page("accountability_edit", grant, report.year)).status_code == 404
    assert editor.post(page("accountability_offer", grant, report.year)).status_code == 404
    assert stranger.post(page("accountability_certify", grant, report.year)).status_code == 404
    assert AccountabilityReport.objects.get().status == AccountabilityStatus.PREPARED


def test_an_editor_prepares_and_offers_the_report_in_the_portal(grant):
    client = client_for(UserFactory(municipality=grant.municipality))
    year = timezone.localdate().year

    saved = client.post(page("accountability_edit", grant, year), form_data(grant))
    offered = client.post(page("accountability_offer", grant, year))

    assert saved.status_code == offered.status_code == 302
    report = AccountabilityReport.objects.get()
    assert (report.status, report.amount_spent) == (AccountabilityStatus.PREPARED, Decimal("25000.00"))
    assert list(report.units.values_list("units_realised", flat=True)) == [4]


def test_the_form_shows_what_is_wrong_next_to_the_field(grant):
    client = client_for(UserFactory(municipality=grant.municipality))

    response = client.post(
        page("accountability_edit", grant, timezone.localdate().year), form_data(grant, spent="-5,00", met="False")
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["amount_spent"] == ["The amount spent cannot be negative."]
    assert "remarks" in form.errors
    assert not AccountabilityReport.objects.exists()


def test_the_financial_officer_certifies_in_the_portal_and_sees_it_certified(grant, officer):
    report = prepared(grant, spent="25000.00")
    client = client_for(officer)

    before = client.get(page("accountability_grant", grant))
    response = client.post(page("accountability_certify", grant, report.year))
    after = client.get(page("accountability_grant", grant))

    assert [item.may_certify for item in before.context["years"]] == [True]
    assert response.status_code == 302
    assert AccountabilityReport.objects.get().status == AccountabilityStatus.CERTIFIED
    assert after.context["latest_certified"] == report
    assert "€\u00a025.000,00" in after.content.decode()


def test_the_financial_officer_cannot_open_the_form_and_an_editor_cannot_certify(grant, officer):
    report = prepared(grant)

    form = client_for(officer).get(page("accountability_edit", grant, report.year))
    certify = client_for(signatory_of(grant)).post(page("accountability_certify", grant, report.year))

    assert (form.status_code, certify.status_code) == (403, 403)
    assert AccountabilityReport.objects.get().status == AccountabilityStatus.PREPARED


def test_a_certified_report_cannot_be_edited_in_the_portal(grant, officer):
    report = certify_accountability_report(report=prepared(grant), user=officer)
    client = client_for(UserFactory(municipality=grant.municipality))

    response = client.post(page("accountability_edit", grant, report.year), form_data(grant, spent="1,00"))

    assert response.status_code == 403
    assert AccountabilityReport.objects.get().amount_spent == Decimal("10000.00")


@pytest.mark.parametrize("years_off", [-1, 1])
def test_a_year_outside_the_reporting_years_has_no_page(grant, years_off):
    client = client_for(UserFactory(municipality=grant.municipality))

    response = client.get(page("accountability_edit", grant, grant.decision.decision_date.year + years_off))

    assert response.status_code == 404


# --- the back office ------------------------------------------------------------------------------------


def test_the_agency_reads_the_reports_in_the_back_office(grant):
    report = certify_accounts(grant, spent="25000.00")
    assessor = UserFactory(assessor=True)
    assessor.groups.add(sync_agency_group())
    client = client_for(assessor)

    listing = client.get(reverse("admin:realisation_accountabilityreport_changelist"))
    detail = client.get(reverse("admin:realisation_accountabilityreport_change", args=[report.pk]))

    assert listing.status_code == detail.status_code == 200
    assert grant.reference in listing.content.decode()
    assert "€\u00a025.000,00" in detail.content.decode()
    assert not detail.context["has_change_permission"]
