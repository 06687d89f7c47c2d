"""The ranked list of a stored run under the skip rule: each application funded past a skipped one is marked."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from accounts.services import sync_agency_group
from accounts.spreadsheets import csv_bytes
from allocation import selectors as allocation_selectors
from allocation import services as allocation_services
from allocation.admin import ranked_list
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory
from tests.portal import client_for

pytestmark = pytest.mark.django_db

MARK = "gehonoreerd voorbij een overgeslagen aanvraag"
MARK_EN = "funded past a skipped application"
PASSES = MARK_EN  # the CSV column that marks it


def agency(**role):
    user = UserFactory(**role)
    user.groups.add(sync_agency_group())
    return user


def run_of(rule: str):
    """€ 150,000 to spend on requests of € 70,000, € 140,000, € 70,000 and € 70,000, in that order.

    Under skip the second no longer fits and the third is funded past it; then € 10,000 is left for the fourth.
    """
    tranche = closed_tranche(budget_ceiling=Decimal("150000.00"), last_application_rule=rule)
    applications = [
        ApplicationFactory(eligible=True, tranche=tranche, lines=[("homeless", units, "permanent")])
        for units in (10, 20, 10, 10)
    ]
    run = allocation_services.prepare_allocation(tranche=tranche, user=agency(assessor=True))
    return run, applications


def page_of(run, language: str = "nl") -> str:
    url = reverse("admin:allocation_allocationrun_change", args=[run.pk])
    return client_for(agency(assessor=True), language=language).get(url).content.decode()


def csv_rows(run) -> list[dict[str, str]]:
    """The ranked list's export as the English interface writes it, in the Dutch Excel dialect."""
    with translation.override("en"):
        data = csv_bytes(*allocation_selectors.ranked_list_table(run=run))
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def row_of(page: str, reference: str) -> str:
    """The table row of the ranked list that holds `reference`."""
    at = page.index(reference, page.index('id="ranked-list-all"'))
    return page[page.rindex("<tr", 0, at) : page.index("</tr>", at)]


def test_skip_run_marks_the_application_funded_past_a_skipped_one_instead_of_a_cut_off():
    run, (first, too_big, passing, last) = run_of("skip")
    assert list(run.lines.order_by("rank").values_list("outcome", flat=True)) == [
        "funded",
        "reserve",
        "funded",
        "reserve",
    ]

    page = page_of(run)

    assert 'class="cut-off"' not in page
    assert "passes-skipped" in row_of(page, passing.reference) and MARK in row_of(page, passing.reference)
    for other in (first, too_big, last):
        assert "passes-skipped" not in row_of(page, other.reference) and MARK not in row_of(page, other.reference)
    (part,) = ranked_list(allocation_selectors.run_lines(run=run))
    assert (part.passing_ranks, part.cut_off_rank) == ({3}, None)
    assert MARK_EN in row_of(page_of(run, "en"), passing.reference)


def test_skip_run_csv_says_which_application_was_funded_past_a_skipped_one():
    run, applications = run_of("skip")

    rows = csv_rows(run)

    assert [(row["receipt number"], row["outcome"], row[PASSES]) for row in rows] == [
        (applications[0].reference, "funded", "no"),
        (applications[1].reference, "reserve list", "no"),
        (applications[2].reference, "funded", "yes"),
        (applications[3].reference, "reserve list", "no"),
    ]


@pytest.mark.parametrize(("rule", "outcomes"), [("partial", ["funded", "partial"]), ("stop", ["funded", "reserve"])])
def test_partial_and_stop_runs_keep_the_one_cut_off_line(rule, outcomes):
    run, (first, second, *_) = run_of(rule)
    assert list(run.lines.order_by("rank").values_list("outcome", flat=True))[:2] == outcomes

    page = page_of(run)

    assert page.count('class="cut-off"') == 1
    assert page.index(first.reference) < page.index('class="cut-off"') < page.index(second.reference)
    assert "passes-skipped" not in page and MARK not in page
    (part,) = ranked_list(allocation_selectors.run_lines(run=run))
    assert (part.passing_ranks, part.cut_off_rank) == (frozenset(), 2)
    assert {row[PASSES] for row in csv_rows(run)} == {"no"}


def test_allocate_command_marks_the_application_funded_past_a_skipped_one_instead_of_a_cut_off():
    run, applications = run_of("skip")
    out = io.StringIO()

    call_command("allocate", "--tranche", run.tranche.slug, stdout=out)

    lines = out.getvalue().splitlines()
    third = next(line for line in lines if applications[2].reference in line)
    second = next(line for line in lines if applications[1].reference in line)
    assert third.endswith("funded past a skipped application")
    assert not second.endswith("funded past a skipped application")
    assert not any("cut-off" in line for line in lines)
