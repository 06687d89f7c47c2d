"""The case file (dossier) on the application page: every step and document in time order, with downloads that only
the municipality of the application (and the agency) can open, at a query count that does not grow with the file.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation

from allocation.models import Decision, Letter, LetterKind, Objection, Waiver
from applications import case_file as case_file_module
from applications import selectors, services
from applications.case_file import CaseFileEntry, case_file, register_case_file_source
from applications.models import Application, InformationRequest, Status
from realisation.models import AccountabilityReport, ChangeRequest, ProgressReport, Reclaim, Settlement
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.figures import allocate
from tests.files import pdf_bytes
from tests.portal import client_for, url
from tests.progress import granted

pytestmark = pytest.mark.django_db

LETTER_HTML = b"<p>Wij hebben uw bezwaarschrift ontvangen.</p>"


def _later_decision(application: Application, *, kind: str, on, amount: Decimal | None = None, **fields) -> Decision:
    """Replace the decision in force as the deciding services do: the old one first loses its place."""
    with transaction.atomic():
        old = Decision.objects.select_for_update().get(application=application, is_current=True)
        old.is_current = False
        old.save(update_fields=["is_current"])
        amount = old.amount if amount is None else amount
        decision = Decision.objects.create(
            application=application,
            kind=kind,
            replaces=old,
            outcome="granted" if amount == old.requested else "partially_granted",
            requested=old.requested,
            amount=amount,
            decision_date=on,
            start_construction_by=old.start_construction_by,
            complete_by=old.complete_by,
            units_available_until=old.units_available_until,
            **fields,
        )
        services.record_decision(application=application, user=None, status=decision.outcome)
    return decision


def _letter(application: Application, *, at: datetime, with_pdf: bool = True, **fields) -> Letter:
    letter = Letter(application=application, kind=LetterKind.OBJECTION_RECEIPT, issued_at=at, **fields)
    letter.html.save("ontvangstbevestiging.html", ContentFile(LETTER_HTML), save=False)
    if with_pdf:
        letter.pdf.save("ontvangstbevestiging.pdf", ContentFile(pdf_bytes("Ontvangstbevestiging")), save=False)
    letter.save()
    return letter


def _objection(decision: Decision, *, at: datetime, by) -> Objection:
    return Objection.objects.create(
        contested=decision,
        received_on=at.date(),
        term_ends_on=at.date() + timedelta(days=42),
        filed_in_time=True,
        grounds="Het toegekende bedrag is te laag.",
        decide_by=at.date() + timedelta(days=84),
        registered_by=by,
        registered_at=at,
    )


def _progress_report(application: Application, *, at: datetime, by) -> ProgressReport:
    return ProgressReport.objects.create(
        application=application,
        status="submitted",
        construction_started_on=at.date(),
        prepared_by=by,
        prepared_at=at,
        submitted_by=by,
        submitted_at=at,
    )


def _accountability_report(application: Application, *, year: int, at: datetime, by, officer):
    return AccountabilityReport.objects.create(
        application=application,
        year=year,
        amount_spent=Decimal("20000.00"),
        amount_spent_cumulative=Decimal("20000.00"),
        obligations_met=True,
        units_used_for_target_groups=True,
        status="certified",
        prepared_by=by,
        prepared_at=at,
        certified_by=officer,
        certified_at=at,
    )


@pytest.fixture
def life():
    """An application of Utrecht through its whole life so far, every step on its own instant."""
    signatory = UserFactory(signatory=True)
    assessor = UserFactory(assessor=True)
    tranche = TrancheFactory(budget_ceiling=Decimal("1000000.00"))
    application = ApplicationFactory(tranche=tranche, municipality=signatory.municipality)
    services.submit_application(application=application, user=signatory)
    services.start_review(application=application, user=assessor)
    services.request_information(application=application, user=assessor, reason="Het raadsbesluit ontbreekt.")
    services.resubmit_application(application=application, user=signatory)
    services.start_review(application=application, user=assessor)
    services.mark_eligible(application=application, user=assessor)
    allocate(tranche)
    first = Decision.objects.get(application=application)
    start = timezone.now()
    objection = _objection(first, at=start + timedelta(days=3), by=assessor)
    letter = _letter(application, at=start + timedelta(days=4), objection=objection)
    _progress_report(application, at=start + timedelta(days=10), by=signatory)
    waived_at = start + timedelta(days=20)
    waiver_decision = _later_decision(
        application, kind="waiver", on=timezone.localdate(waived_at), amount=Decimal("50000.00")
    )
    Waiver.objects.create(
        decision=waiver_decision,
        amount_before=Decimal("70000.00"),
        amount_after=Decimal("50000.00"),
        reason="Twee woningen minder.",
        submitted_by=signatory,
        submitted_at=waived_at,
    )
    waiver_decision.letter_html.save("afstand.html", ContentFile(b"<p>Afstand</p>"), save=False)
    waiver_decision.letter_pdf.save("afstand.pdf", ContentFile(pdf_bytes("Afstand")), save=False)
    waiver_decision.save()
    officer = UserFactory(municipality=signatory.municipality)
    _accountability_report(application, year=2026, at=start + timedelta(days=40), by=signatory, officer=officer)
    application.refresh_from_db()
    return {"application": application, "signatory": signatory, "first": first, "letter": letter}


def _entries(client, application):
    response = client.get(url("application_detail", application))
    assert response.status_code == 200
    return response, response.context["case_file"]


def test_the_page_lists_every_step_and_document_in_time_order(life):
    response, entries = _entries(client_for(life["signatory"]), life["application"])
    with translation.override("en"):
        decided = formats.date_format(life["first"].decision_date, "j F Y")
    assert [entry.title for entry in entries] == [
        "Application submitted",
        "Assessment started",
        "Information requested",
        "Requested information sent",
        "Assessment started",
        "Application found eligible",
        "Decision on the application",
        f"Objection to the decision of {decided}",
        "Acknowledgement of an objection",
        "Progress report",
        "Change after a waiver",
        "Accountability report 2026",
    ]
    assert [entry.at for entry in entries] == sorted(entry.at for entry in entries)
    html = response.content.decode()
    assert 'id="case-file-heading"' in html
    assert f"Receipt number {life['application'].reference}." in entries[0].text
    assert entries[2].text == "Het raadsbesluit ontbreekt.\nAnswered."


def test_each_decision_says_what_it_decided_and_whether_it_is_still_in_force(life):
    _, entries = _entries(client_for(life["signatory"]), life["application"])
    by_title = {entry.title: entry for entry in entries}
    first, waiver = by_title["Decision on the application"], by_title["Change after a waiver"]
    assert first.text.splitlines() == ["Granted: €\u00a070.000,00.", "Replaced by a later decision."]
    assert waiver.text.splitlines() == [
        "Partially granted: €\u00a050.000,00 of the €\u00a070.000,00 requested.",
        "After your waiver the grant went from €\u00a070.000,00 to €\u00a050.000,00.",
        "In force.",
    ]
    assert waiver.day == Decision.objects.get(application=life["application"], is_current=True).decision_date


def test_decisions_and_letters_come_with_their_downloads_and_reports_with_their_page(life):
    application, first, letter = life["application"], life["first"], life["letter"]
    response, entries = _entries(client_for(life["signatory"]), application)
    by_title = {entry.title: entry for entry in entries}
    assert [link.url for link in by_title["Decision on the application"].downloads] == [
        reverse("decisions:letter_pdf", args=[first.public_id]),
        reverse("decisions:letter_html", args=[first.public_id]),
    ]
    assert [link.url for link in by_title["Acknowledgement of an objection"].downloads] == [
        reverse("decisions:case_letter_pdf", args=[letter.public_id]),
        reverse("decisions:case_letter_html", args=[letter.public_id]),
    ]
    assert len(by_title["Change after a waiver"].downloads) == 2
    assert by_title["Progress report"].link.url == reverse("progress:detail", args=[application.public_id])
    html = response.content.decode()
    for entry in entries:
        for link in entry.downloads:
            assert f'href="{link.url}"' in html


def test_the_owner_downloads_the_decision_letter_made_on_first_download_as_pdf_and_html(life):
    client, first = client_for(life["signatory"]), life["first"]
    assert not first.letter_pdf
    pdf = client.get(reverse("decisions:letter_pdf", args=[first.public_id]))
    html = client.get(reverse("decisions:letter_html", args=[first.public_id]))
    assert pdf.status_code == html.status_code == 200
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")
    assert life["application"].reference in b"".join(html.streaming_content).decode()


def test_the_owner_downloads_a_letter_as_pdf_and_html_kept_out_of_shared_caches(life):
    client, letter = client_for(life["signatory"]), life["letter"]
    pdf = client.get(reverse("decisions:case_letter_pdf", args=[letter.public_id]))
    html = client.get(reverse("decisions:case_letter_html", args=[letter.public_id]))
    assert pdf.status_code == html.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert "attachment" in pdf["Content-Disposition"]
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")
    assert b"".join(html.streaming_content) == LETTER_HTML
    assert pdf["Cache-Control"] == html["Cache-Control"] == "private, no-store"


def test_a_letter_kept_without_pdf_offers_only_its_html(life):
    application, client = life["application"], client_for(life["signatory"])
    letter = _letter(application, at=timezone.now() + timedelta(days=50), with_pdf=False)
    _, entries = _entries(client, application)
    assert [link.label for link in entries[-1].downloads] == ["Letter (HTML)"]
    assert client.get(reverse("decisions:case_letter_pdf", args=[letter.public_id])).status_code == 404
    assert client.get(reverse("decisions:case_letter_html", args=[letter.public_id])).status_code == 200


@pytest.mark.parametrize(
    "stranger",
    [{"municipality__code": "GM0363"}, {"signatory": True, "municipality__code": "GM0363"}, {"analyst": True}],
    ids=["other-editor", "other-signatory", "ministry-analyst"],
)
def test_another_municipality_and_the_ministry_get_404_for_page_and_downloads(life, stranger):
    client = client_for(UserFactory(**stranger))
    first, letter = life["first"], life["letter"]
    for address in [
        url("application_detail", life["application"]),
        reverse("decisions:letter_pdf", args=[first.public_id]),
        reverse("decisions:letter_html", args=[first.public_id]),
        reverse("decisions:case_letter_pdf", args=[letter.public_id]),
        reverse("decisions:case_letter_html", args=[letter.public_id]),
    ]:
        assert client.get(address).status_code == 404, address


def test_agency_staff_open_a_letter_from_the_back_office(life):
    response = client_for(UserFactory(assessor=True)).get(
        reverse("decisions:case_letter_html", args=[life["letter"].public_id])
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode() == "<p>Wij hebben uw bezwaarschrift ontvangen.</p>"


def test_drafts_and_unconfirmed_work_stay_out_of_the_case_file():
    application = granted()
    signatory = UserFactory(signatory=True, municipality=application.municipality)
    assessor = UserFactory(assessor=True)
    now = timezone.now()
    ProgressReport.objects.create(application=application, prepared_by=signatory, prepared_at=now)
    AccountabilityReport.objects.create(
        application=application,
        year=2026,
        amount_spent=Decimal("1.00"),
        amount_spent_cumulative=Decimal("1.00"),
        obligations_met=True,
        units_used_for_target_groups=True,
        status="prepared",
        prepared_by=signatory,
        prepared_at=now,
    )
    Reclaim.objects.create(
        application=application,
        ground="units_not_realised",
        reason="Minder woningen.",
        units_not_realised=1,
        amount_per_unit=Decimal("7000.00"),
        amount=Decimal("7000.00"),
        prepared_by=assessor,
        prepared_at=now,
    )
    with translation.override("en"):
        titles = [entry.title for entry in case_file(Application.objects.get(pk=application.pk), signatory)]
    assert titles == ["Application found eligible", "Decision on the application"]


def _fill(application: Application, count: int, *, signatory, assessor, approver) -> None:
    """`count` entries of every kind the case file shows, after the grant of `granted()`."""
    now = timezone.now()
    for index in range(count):
        at = now + timedelta(days=index + 1)
        InformationRequest.objects.create(
            application=application, requested_at=at - timedelta(days=60), answered_at=at - timedelta(days=59)
        )
        decision = _later_decision(application, kind="change", on=at.date())
        _objection(decision, at=at, by=assessor)
        _letter(application, at=at)
        _progress_report(application, at=at, by=signatory)
        # Only one request of a kind may be open at a time; earlier ones were rejected.
        ChangeRequest.objects.create(
            application=application,
            kind="planning",
            motivation="Later.",
            submitted_by=signatory,
            submitted_at=at,
            status="rejected",
            assessed_by=assessor,
            assessed_at=at,
            assessment="Niet nodig.",
        )
        Reclaim.objects.create(
            application=application,
            ground="start_missed",
            reason="Te laat.",
            units_not_realised=1,
            amount_per_unit=Decimal("1.00"),
            amount=Decimal("1.00"),
            due_on=at.date(),
            status="confirmed",
            prepared_by=assessor,
            prepared_at=at,
            approved_by=approver,
            confirmed_at=at,
            decision=_later_decision(application, kind="reclaim", on=at.date()),
        )
        Settlement.objects.create(
            decision=decision,
            status="confirmed",
            units_granted=10,
            units_realised=10,
            amount_paid=decision.amount,
            amount_settled=decision.amount,
            amount_reclaimed=Decimal("0"),
            prepared_by=assessor,
            prepared_at=at,
            approved_by=approver,
            confirmed_at=at,
        )
        officer = UserFactory(municipality=application.municipality)
        _accountability_report(application, year=2026 + index, at=at, by=signatory, officer=officer)


def test_the_page_reads_as_many_queries_for_five_entries_of_each_kind_as_for_one(django_assert_num_queries):
    signatory = UserFactory(signatory=True)
    assessor, approver = UserFactory(assessor=True), UserFactory(approver=True)
    one, five = granted(), granted()
    _fill(one, 1, signatory=signatory, assessor=assessor, approver=approver)
    _fill(five, 5, signatory=signatory, assessor=assessor, approver=approver)
    client = client_for(signatory)
    client.get(url("application_detail", one))  # warm-up: process-wide caches such as content types fill once
    with CaptureQueriesContext(connection) as few:
        _, entries_of_one = _entries(client, one)
    with django_assert_num_queries(len(few.captured_queries)):
        _, entries_of_five = _entries(client, five)
    # Per kind: information request, two later decisions, objection, letter, progress report, change request,
    # reclaim, settlement and accountability report; plus the first decision and the eligibility of granted().
    assert len(entries_of_one) == 2 + 10
    assert len(entries_of_five) == 2 + 50


def test_an_entry_needs_an_aware_instant():
    with pytest.raises(ValueError, match="aware"):
        CaseFileEntry(at=datetime(2026, 3, 1, 12, 0), title="Brief")


def test_a_registered_source_is_merged_in_time_order_and_registered_only_once(monkeypatch):
    monkeypatch.setattr(case_file_module, "_sources", [])
    application = ApplicationFactory(submitted=True)
    status_change = application.status_changes.get()
    before = CaseFileEntry(at=status_change.at - timedelta(hours=1), title="Eerder")
    same = CaseFileEntry(at=status_change.at, title="Tegelijk")

    def source(application, user):
        return [same, before]

    register_case_file_source(source)
    register_case_file_source(source)
    with translation.override("en"):
        titles = [str(entry.title) for entry in case_file(application, UserFactory())]
    assert titles == [
        "Eerder",
        "Application submitted",
        "Tegelijk",
    ]
    assert application.status == Status.SUBMITTED


# Decisions, their objections and the letters (allocation); progress reports, settlements, change requests,
# reclaims and accountability reports (realisation). The application's own steps come with the detail selector.
CASE_FILE_QUERIES = 3 + 5


def test_a_decided_application_costs_eight_queries_and_an_undecided_one_none(django_assert_num_queries):
    decided = granted()
    user = UserFactory(municipality=decided.municipality)
    undecided = ApplicationFactory(submitted=True, municipality=decided.municipality)
    for application, queries in [(decided, CASE_FILE_QUERIES), (undecided, 0)]:
        application = selectors.application_for_detail(user=user, public_id=application.public_id)
        with django_assert_num_queries(queries):
            case_file(application, user)
