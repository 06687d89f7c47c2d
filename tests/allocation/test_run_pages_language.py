"""A run as the back office shows it: times in Amsterdam, the rules applied as sentences, the list on the confirm
page, and the ranked list's export in the dialect Dutch Excel reads, named for what it is and when."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from accounts.services import sync_agency_group
from allocation import services as allocation_services
from allocation.admin.runs import ranked_list_filename
from allocation.applied_rules import describe_rules
from allocation.models import AllocationRun
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory
from tests.portal import client_for

pytestmark = pytest.mark.django_db


def agency(**role):
    user = UserFactory(**role)
    user.groups.add(sync_agency_group())
    return user


def run_url(name: str, run: AllocationRun) -> str:
    return reverse(f"admin:allocation_allocationrun_{name}", args=[run.pk])


def prepared_run(*, at: datetime | None = None, slug: str = "rha-2026") -> AllocationRun:
    """Three requests of € 70,000 under € 150,000 with rule stop: two funded, the third on the reserve list;
    prepared `at` that instant (the tranche closed a minute before), or now."""
    with time_machine.travel(at or timezone.now(), tick=False):
        tranche = closed_tranche(budget_ceiling=Decimal("150000.00"), last_application_rule="stop", slug=slug)
        for _ in range(3):
            ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0363")
        return allocation_services.prepare_allocation(tranche=tranche, user=agency(assessor=True))


def test_a_run_prepared_at_01_41_utc_in_winter_reads_02_41_in_its_title_and_breadcrumbs():
    run = prepared_run(at=datetime(2026, 12, 2, 1, 41, tzinfo=UTC))

    with translation.override("en"):
        title = str(run)
    page = client_for(agency(approver=True)).get(run_url("confirm", run)).content.decode()

    assert "2 December 2026 02:41" in title and "01:41" not in title
    breadcrumbs = page[page.index('class="breadcrumbs"') : page.index("</div>", page.index('class="breadcrumbs"'))]
    assert "02:41" in breadcrumbs and "01:41" not in breadcrumbs


def test_the_rules_applied_read_as_sentences_with_amounts_in_euros():
    run = prepared_run()

    with translation.override("en"):
        groups = describe_rules(rules=run.rules, windows=list(run.tranche.windows.all()))
    page = client_for(agency(assessor=True)).get(run_url("change", run)).content.decode()

    run_rules, window_rules = groups
    assert "Allocation stops at the first application that no longer fits." in run_rules.sentences
    assert "There is no maximum per municipality." in run_rules.sentences
    assert window_rules.title == run.tranche.windows.get().name
    assert "Budget ceiling € 150.000,00; available for this run € 150.000,00." in [
        sentence.replace("\u00a0", " ") for sentence in window_rules.sentences
    ]
    assert "Allocation stops at the first application that no longer fits." in page
    assert '"last_application_rule"' not in page


def test_the_confirm_page_shows_the_lines_the_cut_off_the_reserve_list_the_seed_and_the_list_hash():
    run = prepared_run()
    first, second, third = run.lines.order_by("rank").select_related("application")

    page = client_for(agency(approver=True)).get(run_url("confirm", run)).content.decode()

    assert page.index(first.application.reference) < page.index(second.application.reference)
    assert page.index(second.application.reference) < page.index('class="cut-off"')
    assert page.index('class="cut-off"') < page.index(third.application.reference)
    reserve = page[page.index(f'id="reserve-list-{third.window.code}"') :]
    assert third.application.reference in reserve and first.application.reference not in reserve
    third_row = page[page.rindex("<tr", 0, page.index(third.application.reference)) :]
    assert "<td>reserve list</td>" in third_row[: third_row.index("</tr>")]  # the outcome in words
    assert str(run.seed) in page and run.ranked_list_sha256 in page
    assert 'name="csrfmiddlewaretoken"' in page  # the approver may confirm from here


def test_the_discard_page_keeps_to_the_totals():
    run = prepared_run()
    (third,) = run.lines.filter(rank=3).select_related("application")

    page = client_for(agency(approver=True)).get(run_url("discard", run)).content.decode()

    assert third.application.reference not in page


def test_the_ranked_list_exports_in_the_dutch_excel_dialect_with_a_name_that_says_what_and_when():
    run = prepared_run(at=datetime(2023, 7, 7, 8, 0, tzinfo=UTC), slug="rha-2023")

    response = client_for(agency(assessor=True), language="nl").get(run_url("ranked_list", run))

    data = b"".join(response.streaming_content)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    with translation.override("nl"):
        assert response["Content-Disposition"] == f'attachment; filename="{ranked_list_filename(run)}"'
    with translation.override("en"):
        assert ranked_list_filename(run) == "ranked-list-rha-2023-preview-20230707.csv"
    assert data.startswith("\ufeff".encode())
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert len(header) == 13 and len(rows) == 3
    assert [row[7] for row in rows] == ["70000,00", "70000,00", "70000,00"]
    assert rows[2][8] == "0,00"
    assert rows[0][0] == run.tranche.windows.get().name


def test_the_ranked_list_header_and_words_follow_the_language():
    run = prepared_run()

    english = client_for(agency(assessor=True), language="en").get(run_url("ranked_list", run))

    header, first, *_ = list(
        csv.reader(io.StringIO(b"".join(english.streaming_content).decode("utf-8-sig")), delimiter=";")
    )
    assert header[:3] == ["window", "rank", "receipt number"]
    assert (first[6], first[10], first[11], first[12]) == (
        "no",
        "funded",
        "The request fits within the budget ceiling.",
        "no",
    )
