"""The ministry's view of the yearly accountability (SiSa): what the financial officers certified, per tranche and
year, at a fixed number of queries; reports not certified do not count."""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from applications.models import Application
from realisation.accountability import Account, save_accountability_report
from tests.factories import ApplicationFactory, TrancheFactory, UnitLineFactory
from tests.figures import allocate, client_for, user
from tests.progress import certify_accounts, granted

pytestmark = pytest.mark.django_db

PAGE = reverse("ministry:accountability")
# Session, user, the header's notifications, the reports per tranche and year, their units per target group, the
# tranches, the target groups.
PAGE_QUERIES = 7


def grants_in_one_tranche(*lines_per_grant) -> list[Application]:
    """Granted applications of one new tranche, one per item: (municipality code, [(group, units, permanence)])."""
    tranche = TrancheFactory(budget_ceiling=Decimal("1000000.00"))
    made = []
    for code, lines in lines_per_grant:
        application = ApplicationFactory(eligible=True, tranche=tranche, municipality__code=code, lines=[])
        for group, units, permanence in lines:
            UnitLineFactory(application=application, group_code=group, units=units, permanence=permanence)
        made.append(application)
    allocate(tranche)
    return [Application.objects.select_related("municipality").get(pk=application.pk) for application in made]


def next_year():
    moment = datetime.combine(date(timezone.localdate().year + 1, 3, 1), time(12), tzinfo=ZoneInfo("Europe/Amsterdam"))
    return time_machine.travel(moment, tick=False)


def _page(viewer=None):
    response = client_for(viewer or user(analyst=True)).get(PAGE)
    assert response.status_code == 200
    return response


def test_ministry_dashboard_shows_reported_spending_per_tranche_and_year():
    utrecht, amsterdam = grants_in_one_tranche(
        ("GM0344", [("homeless", 10, "permanent"), ("students", 4, "flexible")]),
        ("GM0363", [("homeless", 5, "permanent")]),
    )
    elsewhere = granted(municipality="GM0014")
    this_year = timezone.localdate().year
    certify_accounts(utrecht, spent="30000.00")
    certify_accounts(elsewhere, spent="7000.00")
    with next_year():
        certify_accounts(utrecht, spent="20000.00", cumulative="50000.00")
        certify_accounts(amsterdam, spent="35000.00")

    reported = {(row.tranche, row.year): row for row in _page().context["reported"]}

    assert set(reported) == {
        (utrecht.tranche, this_year),
        (utrecht.tranche, this_year + 1),
        (elsewhere.tranche, this_year),
    }
    later = reported[utrecht.tranche, this_year + 1]
    assert (later.reports_certified, later.amount_spent, later.amount_spent_cumulative) == (
        2,
        Decimal("55000.00"),
        Decimal("85000.00"),
    )
    # certify_accounts reports every granted unit realised: 10 + 5 homes, 4 student units.
    assert [(group.code, units) for group, units in later.units_by_group] == [("homeless", 15), ("students", 4)]
    assert later.units_realised == 19
    earlier = reported[utrecht.tranche, this_year]
    assert (earlier.reports_certified, earlier.amount_spent) == (1, Decimal("30000.00"))
    assert reported[elsewhere.tranche, this_year].amount_spent_cumulative == Decimal("7000.00")


def test_the_newest_year_comes_first():
    grant = granted()
    certify_accounts(grant, spent="1000.00")
    with next_year():
        certify_accounts(grant, spent="1000.00", cumulative="2000.00")

    years = [row.year for row in _page().context["reported"]]

    assert years == sorted(years, reverse=True) and len(years) == 2


def test_grants_reporting_obligations_not_met_or_units_not_used_are_counted():
    first, second, third = grants_in_one_tranche(
        *[(code, [("homeless", 10, "permanent")]) for code in ("GM0344", "GM0363", "GM0014")]
    )
    for grant, met, used in ((first, False, True), (second, False, False), (third, True, True)):
        certify_accounts(grant, spent="1000.00", met=met, used=used)

    [row] = _page().context["reported"]

    assert (row.reports_certified, row.obligations_not_met, row.units_not_used) == (3, 2, 1)


def test_reports_not_certified_do_not_count():
    grant = granted()
    year = timezone.localdate().year
    group = grant.unit_lines.values_list("target_group__national_group_id", flat=True).first()
    save_accountability_report(
        application=grant,
        user=user(municipality=grant.municipality),
        year=year,
        account=Account(
            amount_spent=Decimal("5000.00"),
            amount_spent_cumulative=Decimal("5000.00"),
            obligations_met=True,
            units_used_for_target_groups=True,
            units={group: 3},
        ),
    )

    response = _page()

    assert response.context["reported"] == []
    assert "No accountability report has been certified yet." in response.content.decode()


def test_the_page_reads_a_fixed_number_of_queries(django_assert_num_queries):
    client = client_for(user(analyst=True))
    certify_accounts(granted(), spent="1000.00")
    with CaptureQueriesContext(connection) as one_report:
        client.get(PAGE)
    for code in ("GM0363", "GM0014"):
        certify_accounts(granted(municipality=code, lines=(("students", 4, "flexible", None),)), spent="1000.00")

    with django_assert_num_queries(len(one_report)):
        response = client.get(PAGE)

    assert len(one_report) <= PAGE_QUERIES
    assert len(response.context["reported"]) == 3


def test_the_dashboard_links_to_the_accountability():
    response = client_for(user(analyst=True)).get(reverse("ministry:dashboard"))

    assert PAGE in response.content.decode()


def test_agency_staff_read_it_and_municipal_users_do_not():
    grant = granted()
    certify_accounts(grant, spent="7000.00")

    assert [row.tranche for row in _page(user(approver=True)).context["reported"]] == [grant.tranche]
    assert client_for(user(signatory=True)).get(PAGE).status_code == 403


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
