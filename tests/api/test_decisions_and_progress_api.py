"""Decisions, letters and progress reports through the API: a municipality reads and reports its own, agency
staff read every decision and every submitted report."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEntry
from allocation.models import Letter, LetterKind
from realisation.models import ProgressReport, ProgressStatus
from tests.api.helpers import post, token_client
from tests.factories import UserFactory
from tests.files import pdf_bytes
from tests.progress import granted, signatory_of, submit

pytestmark = pytest.mark.django_db

DECISIONS = reverse("api:decision-list")
LETTERS = reverse("api:letter-list")
REPORTS = reverse("api:progress-report-list")
# The token with its user, the count, the page of decisions with their application, tranche and predecessor.
DECISION_LIST_QUERIES = 3


@pytest.fixture
def grant():
    return granted(lines=[("homeless", 10, "permanent", None), ("homeless", 4, "flexible", None)])


def letter_on(application) -> Letter:
    letter = Letter(application=application, kind=LetterKind.OBJECTION_RECEIPT, issued_at=timezone.now())
    letter.html.save("ontvangstbevestiging.html", ContentFile(b"<p>Ontvangen</p>"), save=False)
    letter.save()
    return letter


def test_a_municipality_reads_its_decision_and_downloads_its_letter(grant):
    signatory = signatory_of(grant)
    api = token_client(signatory)

    [decision] = api.get(DECISIONS, {"application": str(grant.public_id)}).json()["results"]

    assert decision["public_id"] == str(grant.decision.public_id)
    assert (decision["outcome"], decision["amount"], decision["is_current"]) == ("granted", "98000.00", True)
    letter = api.get(decision["letter_pdf"])
    assert letter.status_code == 200 and letter["Content-Type"] == "application/pdf"
    assert b"".join(letter.streaming_content).startswith(b"%PDF")
    assert AuditEntry.objects.filter(action=AuditAction.DOWNLOAD, actor=signatory).count() == 1


def test_another_municipality_reads_no_decision_or_letter(grant):
    letter = letter_on(grant)
    other = token_client(UserFactory(signatory=True, municipality__code="GM0363"))

    assert other.get(DECISIONS).json()["count"] == 0
    assert other.get(reverse("api:decision-detail", args=[grant.decision.public_id])).status_code == 404
    assert other.get(reverse("api:decision-letter-pdf", args=[grant.decision.public_id])).status_code == 404
    assert other.get(reverse("api:letter-html", args=[letter.public_id])).status_code == 404


def test_letters_on_the_case_are_listed_with_the_formats_they_were_kept_in(grant):
    letter = letter_on(grant)
    api = token_client(signatory_of(grant))

    [listed] = api.get(LETTERS).json()["results"]

    assert (listed["kind"], listed["pdf"]) == ("objection_receipt", None)
    assert b"".join(api.get(listed["html"]).streaming_content) == b"<p>Ontvangen</p>"
    assert api.get(reverse("api:letter-pdf", args=[letter.public_id])).status_code == 404
    letter.pdf.save("ontvangstbevestiging.pdf", ContentFile(pdf_bytes()))
    assert api.get(LETTERS).json()["results"][0]["pdf"].endswith(f"/letters/{letter.public_id}/pdf/")


def test_agency_staff_read_every_decision_in_a_fixed_number_of_queries(grant, django_assert_num_queries):
    agency = token_client(UserFactory(assessor=True))
    agency.get(DECISIONS)
    with django_assert_num_queries(DECISION_LIST_QUERIES):
        first = agency.get(DECISIONS)
    granted(municipality="GM0363")
    with django_assert_num_queries(DECISION_LIST_QUERIES):
        response = agency.get(DECISIONS, {"outcome": "granted", "is_current": "true"})

    assert first.json()["count"] == 1 and response.json()["count"] == 2
    assert agency.get(DECISIONS, {"tranche": grant.tranche.slug}).json()["count"] == 1


def test_a_municipal_system_prepares_a_progress_report_and_a_signatory_submits_it(grant):
    signatory = signatory_of(grant)
    api = token_client(signatory)
    lines = list(grant.unit_lines.order_by("pk").values_list("pk", flat=True))
    started = timezone.localdate() - timedelta(days=10)

    response = post(
        api,
        REPORTS,
        {
            "application": str(grant.public_id),
            "construction_started_on": started.isoformat(),
            "realised": [{"unit_line": lines[0], "units": 3}, {"unit_line": lines[1], "units": 0}],
        },
    )

    assert response.status_code == 201
    report = response.json()
    assert (report["status"], report["construction_started_on"]) == ("draft", started.isoformat())
    assert report["realised"] == [{"unit_line": lines[0], "units": 3}, {"unit_line": lines[1], "units": 0}]
    submitted = post(api, reverse("api:progress-report-submit", args=[report["public_id"]]))
    assert (submitted.json()["status"], submitted.json()["is_latest"]) == ("submitted", True)


def test_a_progress_report_with_errors_names_the_line_in_the_request(grant):
    api = token_client(signatory_of(grant))
    lines = list(grant.unit_lines.order_by("pk").values_list("pk", flat=True))
    body = {
        "application": str(grant.public_id),
        "realised": [{"unit_line": lines[1], "units": 0}, {"unit_line": lines[0], "units": 11}],
    }

    response = post(api, REPORTS, body)

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "realised.1.units": ["At most 10: the units granted on this line."],
    }
    missing = post(api, REPORTS, {**body, "realised": [{"unit_line": lines[0], "units": 0}]})
    assert missing.json()["errors"] == {
        "realised": [f"Give the units realised on every unit line; missing: {lines[1]}."]
    }
    unknown = post(api, REPORTS, {**body, "realised": [{"unit_line": 0, "units": 0}]})
    assert unknown.json()["errors"] == {"realised.0.unit_line": ["Not a unit line of this application."]}
    future = post(
        api,
        REPORTS,
        {
            **body,
            "construction_started_on": "2099-01-01",
            "realised": [{"unit_line": line, "units": 0} for line in lines],
        },
    )
    assert future.json()["errors"] == {
        "construction_started_on": ["The start of construction cannot be in the future."]
    }
    assert not ProgressReport.objects.exists()


def test_an_editor_prepares_but_may_not_submit_a_progress_report(grant):
    editor = token_client(UserFactory(municipality=grant.municipality))
    body = {
        "application": str(grant.public_id),
        "realised": [{"unit_line": line.pk, "units": 0} for line in grant.unit_lines.all()],
    }
    report = post(editor, REPORTS, body).json()

    response = post(editor, reverse("api:progress-report-submit", args=[report["public_id"]]))

    assert response.status_code == 403
    assert response.json()["detail"] == "Only a signatory of the municipality may submit a progress report."


def test_progress_is_reported_only_on_an_own_grant(grant):
    other = token_client(UserFactory(signatory=True, municipality__code="GM0363"))
    agency = token_client(UserFactory(assessor=True))
    body = {"application": str(grant.public_id), "realised": []}

    assert post(other, REPORTS, body).json()["errors"] == {"application": ["No granted application found."]}
    assert post(agency, REPORTS, body).status_code == 403


def test_agency_staff_read_submitted_reports_and_no_drafts(grant):
    submit(grant)
    signatory = signatory_of(grant)
    post(
        token_client(signatory),
        REPORTS,
        {
            "application": str(grant.public_id),
            "realised": [{"unit_line": line.pk, "units": 0} for line in grant.unit_lines.all()],
        },
    )
    agency = token_client(UserFactory(assessor=True))

    listed = agency.get(REPORTS).json()["results"]

    assert [report["status"] for report in listed] == [ProgressStatus.SUBMITTED]
    assert token_client(signatory).get(REPORTS, {"status": "draft"}).json()["count"] == 1
