"""The back office for allocation: preparing, importing, confirming and discarding runs; the ranked list."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib import messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import sync_agency_group
from allocation import services as allocation_services
from allocation.models import AllocationRun, Decision, LotterySeed, RunStatus
from applications.models import Application, Status
from applications.selectors import EXCHANGE_COLUMNS
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.portal import client_for

pytestmark = pytest.mark.django_db

RUNS = reverse("admin:allocation_allocationrun_changelist")
DECISIONS = reverse("admin:allocation_decision_changelist")


def agency(**role):
    user = UserFactory(**role)
    user.groups.add(sync_agency_group())
    return user


def tranche_url(name: str, tranche) -> str:
    return reverse(f"admin:grants_tranche_{name}", args=[tranche.pk])


def run_url(name: str, run: AllocationRun) -> str:
    return reverse(f"admin:allocation_allocationrun_{name}", args=[run.pk])


def oversubscribed_tranche(applications: int = 3):
    """Closed, with a ceiling of € 200,000 and `applications` requests of € 70,000: the third is partly funded."""
    tranche = closed_tranche(budget_ceiling=Decimal("200000.00"))
    for _ in range(applications):
        ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0363")
    return tranche


def preview(tranche, user=None) -> AllocationRun:
    return allocation_services.prepare_allocation(tranche=tranche, user=user or agency(assessor=True))


def notices(response) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in response.context["messages"]]


def import_file(tranche, rows: list[str]) -> SimpleUploadedFile:
    text = "\n".join([",".join(EXCHANGE_COLUMNS), *rows]) + "\n"
    return SimpleUploadedFile("applications.csv", text.encode("utf-8"), content_type="text/csv")


def import_row(reference: str, units: int = 10, municipality: str = "GM0363") -> str:
    received = timezone.now().isoformat()
    amount = f"{units * 7000}.00"
    fields = [reference, municipality, "all", f"Project {reference}", received, "homeless", "regular", "permanent"]
    return ",".join([*fields, "yes", "no", str(units), amount])


# --- preparing ------------------------------------------------------------------------------------------


def test_an_assessor_prepares_a_preview_of_all_windows_from_the_tranche():
    tranche = oversubscribed_tranche()
    assessor = agency(assessor=True)

    response = client_for(assessor).post(tranche_url("prepare_allocation", tranche), {"window": ""})

    run = AllocationRun.objects.get()
    sealed = LotterySeed.objects.get(tranche=tranche)
    assert response.status_code == 302
    assert response["Location"] == run_url("change", run)
    assert (run.status, run.window, run.seed, run.prepared_by) == (RunStatus.PREVIEW, None, sealed.seed, assessor)
    assert run.lines.count() == 3


def test_a_preview_can_be_prepared_for_one_window():
    tranche = oversubscribed_tranche()
    window = tranche.windows.get()

    client_for(agency(assessor=True)).post(tranche_url("prepare_allocation", tranche), {"window": window.pk})

    assert AllocationRun.objects.get().window == window


def test_staff_outside_the_agency_see_why_they_cannot_prepare_and_nothing_is_made():
    tranche = oversubscribed_tranche()
    client = client_for(agency(analyst=True, is_staff=True))

    page = client.get(tranche_url("prepare_allocation", tranche))
    client.post(tranche_url("prepare_allocation", tranche), {"window": ""})

    assert "Only agency staff can prepare an allocation." in page.content.decode()
    assert not AllocationRun.objects.exists()


def test_preparing_again_after_a_confirmed_run_shows_the_service_error():
    tranche = oversubscribed_tranche()
    run = preview(tranche)
    allocation_services.confirm_allocation(run=run, user=agency(approver=True), generate_letters=False)

    response = client_for(agency(assessor=True)).post(tranche_url("prepare_allocation", tranche), {"window": ""})

    assert response.status_code == 200
    assert "This window already has a confirmed allocation." in response.content.decode()
    assert AllocationRun.objects.count() == 1


# --- the lottery seed -----------------------------------------------------------------------------------


def test_the_seed_page_takes_an_external_seed_from_one_person_and_its_confirmation_from_another():
    tranche = oversubscribed_tranche()
    assessor, approver = agency(assessor=True), agency(approver=True)
    page = tranche_url("lottery_seed", tranche)
    entry = {"action": "enter", "enter-seed": "20230707", "enter-external_reference": "Notaris Jansen, akte 17"}

    entered = client_for(assessor).post(page, entry, follow=True)
    own = client_for(assessor).get(page)
    mistyped = client_for(approver).post(page, {"action": "confirm", "confirm-seed": "20230770"})
    confirmed = client_for(approver).post(page, {"action": "confirm", "confirm-seed": "20230707"}, follow=True)

    assert notices(entered) == [(messages.SUCCESS, "Seed entered; it is sealed when a second person confirms it.")]
    assert "You entered this seed; a second person must confirm it." in own.content.decode()
    assert "This is not the seed that was entered" in mistyped.content.decode()
    assert notices(confirmed) == [
        (messages.SUCCESS, "Seed confirmed and sealed; every preview of this tranche uses it.")
    ]
    assert 'value="enter"' not in confirmed.content.decode()
    sealed = LotterySeed.objects.get(tranche=tranche)
    assert (sealed.seed, sealed.entered_by, sealed.sealed_by) == (20230707, assessor, approver)
    assert preview(tranche).seed == 20230707


def test_a_municipal_user_cannot_open_the_seed_page_and_nothing_is_entered():
    tranche = oversubscribed_tranche()
    client = client_for(UserFactory(signatory=True, municipality__code="GM0363"))

    response = client.post(tranche_url("lottery_seed", tranche), {"action": "enter", "enter-seed": "1"})

    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert not LotterySeed.objects.exists()


# --- the run page and its export ------------------------------------------------------------------------


def test_the_run_page_states_the_seed_how_it_was_sealed_and_the_list_hash():
    run = preview(oversubscribed_tranche())

    page = client_for(agency(assessor=True)).get(run_url("change", run)).content.decode()

    assert str(run.seed) in page
    assert run.ranked_list_sha256 in page
    assert "drawn by the system and sealed at" in page


def test_the_run_page_shows_the_ranked_list_with_the_cut_off_and_the_reserve_list():
    tranche = closed_tranche(budget_ceiling=Decimal("200000.00"), last_application_rule="skip")
    first, second, third = (ApplicationFactory(eligible=True, tranche=tranche) for _ in range(3))
    run = preview(tranche)

    page = client_for(agency(assessor=True)).get(run_url("change", run)).content.decode()

    assert page.index(first.reference) < page.index(second.reference) < page.index('class="cut-off"')
    assert page.index('class="cut-off"') < page.index('first-not-funded"') < page.index(third.reference)
    reserve = page[page.index('id="reserve-list-all"') :]
    assert third.reference in reserve and first.reference not in reserve
    assert "€\u00a010.000,00" in page  # the oversubscription: 210,000 requested, 200,000 ceiling
    assert "last_application_rule" not in page  # the rules applied read as sentences, not as their JSON


def test_the_run_page_costs_the_same_queries_for_three_or_thirty_lines(django_assert_num_queries):
    client = client_for(agency(assessor=True))
    small = preview(oversubscribed_tranche(3))
    client.get(run_url("change", small))  # fills the per-process content type cache
    with CaptureQueriesContext(connection) as baseline:
        assert client.get(run_url("change", small)).status_code == 200
    large = preview(oversubscribed_tranche(30))

    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(run_url("change", large))

    assert response.content.decode().count("admin/applications/application/") >= 30


def test_the_ranked_list_downloads_as_csv_with_header_and_lines():
    tranche = oversubscribed_tranche()
    run = preview(tranche)

    response = client_for(agency(assessor=True), language="en").get(run_url("ranked_list", run))

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert response["Content-Type"].startswith("text/csv")
    assert rows[0][:3] == ["window", "rank", "receipt number"]
    references = list(tranche.applications.order_by("receipt_sequence").values_list("reference", flat=True))
    assert [(row[1], row[2], row[10]) for row in rows[1:]] == [
        ("1", references[0], "funded"),
        ("2", references[1], "funded"),
        ("3", references[2], "partially funded"),
    ]


def test_the_run_page_is_read_only_and_runs_cannot_be_added_or_deleted_through_forms():
    run = preview(oversubscribed_tranche())
    client = client_for(agency(approver=True))

    page = client.get(run_url("change", run)).content.decode()

    assert 'name="_save"' not in page
    assert client.get(reverse("admin:allocation_allocationrun_add")).status_code == 403
    assert client.get(run_url("delete", run)).status_code == 403
    assert client.post(run_url("change", run), {"seed": "1"}).status_code == 403


# --- confirming and discarding --------------------------------------------------------------------------


def test_the_approver_who_prepared_cannot_confirm_and_is_told_why():
    tranche = oversubscribed_tranche()
    approver = agency(approver=True)
    run = preview(tranche, approver)
    client = client_for(approver)

    page = client.get(run_url("confirm", run))
    response = client.post(run_url("confirm", run), follow=True)

    reason = "You prepared this allocation; another approver must confirm it."
    assert reason in page.content.decode()
    assert notices(response) == [(messages.ERROR, reason)]
    run.refresh_from_db()
    assert run.status == RunStatus.PREVIEW
    assert not Decision.objects.exists()
    assert set(tranche.applications.values_list("status", flat=True)) == {Status.ELIGIBLE}


def test_an_assessor_cannot_confirm():
    run = preview(oversubscribed_tranche())

    response = client_for(agency(assessor=True)).post(run_url("confirm", run), follow=True)

    assert notices(response) == [(messages.ERROR, "Only an agency approver can confirm an allocation.")]
    assert AllocationRun.objects.get().status == RunStatus.PREVIEW


def test_another_approver_confirms_and_decisions_are_issued():
    tranche = oversubscribed_tranche()
    run = preview(tranche)
    approver = agency(approver=True)

    response = client_for(approver).post(run_url("confirm", run), follow=True)

    assert [level for level, _text in notices(response)] == [messages.SUCCESS]
    run.refresh_from_db()
    assert (run.status, run.approved_by) == (RunStatus.CONFIRMED, approver)
    assert Decision.objects.filter(run=run).count() == 3
    assert sorted(tranche.applications.values_list("status", flat=True)) == [
        Status.GRANTED,
        Status.GRANTED,
        Status.PARTIALLY_GRANTED,
    ]
    assert 'name="_save"' not in response.content.decode()
    assert run_url("confirm", run) not in response.content.decode()


def test_a_preview_is_discarded():
    run = preview(oversubscribed_tranche())

    response = client_for(agency(assessor=True)).post(run_url("discard", run), follow=True)

    assert [level for level, _text in notices(response)] == [messages.SUCCESS]
    assert not AllocationRun.objects.exists()


def test_a_confirmed_run_cannot_be_discarded():
    run = preview(oversubscribed_tranche())
    allocation_services.confirm_allocation(run=run, user=agency(approver=True), generate_letters=False)

    response = client_for(agency(approver=True)).post(run_url("discard", run), follow=True)

    assert notices(response) == [
        (messages.ERROR, "This allocation has already been confirmed and can no longer be changed.")
    ]
    assert AllocationRun.objects.filter(pk=run.pk, status=RunStatus.CONFIRMED).exists()
    assert Decision.objects.filter(run=run).count() == 3


# --- importing applications -----------------------------------------------------------------------------


def test_a_good_file_is_imported_through_the_admin():
    tranche = TrancheFactory()
    rows = [import_row("ADM-0001"), import_row("ADM-0002", municipality="GM0344")]

    response = client_for(agency(assessor=True)).post(
        tranche_url("import_applications", tranche), {"file": import_file(tranche, rows)}, follow=True
    )

    assert notices(response) == [(messages.SUCCESS, "2 applications imported from applications.csv.")]
    imported = Application.objects.filter(tranche=tranche)
    assert sorted(imported.values_list("reference", "status")) == [
        ("ADM-0001", Status.ELIGIBLE),
        ("ADM-0002", Status.ELIGIBLE),
    ]


def test_a_bad_file_shows_every_row_error_and_imports_nothing():
    tranche = TrancheFactory()
    rows = [import_row("ADM-0001"), import_row("ADM-0002", municipality="GM9999"), import_row("ADM-0003", units=0)]

    response = client_for(agency(assessor=True)).post(
        tranche_url("import_applications", tranche), {"file": import_file(tranche, rows)}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "row 3: unknown municipality code &#x27;GM9999&#x27;" in page
    assert "row 4: units must be a whole number of at least 1" in page
    assert not Application.objects.filter(tranche=tranche).exists()


def test_a_file_that_is_not_utf8_is_refused():
    tranche = TrancheFactory()
    upload = SimpleUploadedFile("applications.csv", "reference,gemeente\nADM-1,Súdwest\n".encode("latin-1"))

    response = client_for(agency(assessor=True)).post(tranche_url("import_applications", tranche), {"file": upload})

    assert "The file is not UTF-8 text." in response.content.decode()
    assert not Application.objects.filter(tranche=tranche).exists()


# --- decisions ------------------------------------------------------------------------------------------


def test_the_decision_list_links_to_the_letters_at_a_constant_query_count(django_assert_num_queries):
    client = client_for(agency(assessor=True))
    small = preview(oversubscribed_tranche(2))
    allocation_services.confirm_allocation(run=small, user=agency(approver=True), generate_letters=False)
    client.get(DECISIONS)  # fills the per-process content type cache
    with CaptureQueriesContext(connection) as baseline:
        client.get(DECISIONS)
    large = preview(oversubscribed_tranche(12))
    allocation_services.confirm_allocation(run=large, user=agency(approver=True), generate_letters=False)

    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(DECISIONS)

    decision = Decision.objects.filter(run=large).first()
    page = response.content.decode()
    assert reverse("decisions:letter_pdf", args=[decision.public_id]) in page
    assert reverse("decisions:letter_html", args=[decision.public_id]) in page


def test_decisions_cannot_be_changed_in_the_admin():
    run = preview(oversubscribed_tranche())
    allocation_services.confirm_allocation(run=run, user=agency(approver=True), generate_letters=False)
    decision = Decision.objects.first()
    client = client_for(agency(approver=True))

    response = client.post(reverse("admin:allocation_decision_change", args=[decision.pk]), {"amount": "1.00"})

    assert response.status_code == 403
    decision.refresh_from_db()
    assert decision.amount != Decimal("1.00")


# --- access ---------------------------------------------------------------------------------------------


def test_a_municipal_user_has_no_access_to_the_allocation_back_office():
    tranche = oversubscribed_tranche()
    run = preview(tranche)
    client = client_for(UserFactory(signatory=True, municipality__code="GM0363"))

    pages = [
        RUNS,
        DECISIONS,
        run_url("change", run),
        run_url("ranked_list", run),
        run_url("confirm", run),
        tranche_url("prepare_allocation", tranche),
        tranche_url("import_applications", tranche),
    ]

    for page in pages:
        response = client.get(page)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login")), page
    assert client.post(run_url("discard", run)).status_code == 302
    assert AllocationRun.objects.filter(pk=run.pk).exists()
