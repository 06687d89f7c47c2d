"""What applications.services says and records, to the letter: the refusals of an upload and of a change of
status, the records of a new application, and the amounts and days it computes (docs/testing.md, "Mutation
testing")."""

import hashlib
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from applications import services, uploads
from applications.models import Application, Attachment, Status, StatusChange, UnitLine
from applications.submission import confirm_ready
from tests.factories import ApplicationFactory, TrancheFactory
from tests.files import docx_bytes, pdf_bytes, upload, xlsx_bytes

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def refusal(call, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        call(**kwargs)
    return raised.value.message_dict


# --- an upload ------------------------------------------------------------------------------------------


def attach(draft, editor, name: str, content: bytes, kind: str = "budget") -> Attachment:
    return services.add_attachment(application=draft, user=editor, kind=kind, uploaded_file=upload(name, content))


def upload_refusal(draft, editor, name: str, content: bytes, kind: str = "budget") -> dict[str, list[str]]:
    errors = refusal(attach, draft=draft, editor=editor, name=name, content=content, kind=kind)
    assert not Attachment.objects.exists()
    return errors


def test_an_upload_of_an_unknown_kind_is_refused_on_the_kind(editor, draft):
    assert upload_refusal(draft, editor, "plan.pdf", pdf_bytes(), kind="photo") == {
        "kind": ["Choose the kind of document."]
    }


def test_an_empty_file_is_refused(editor, draft):
    assert upload_refusal(draft, editor, "plan.pdf", b"") == {"file": ["The file is empty."]}


def test_a_file_one_byte_over_the_limit_is_refused_and_one_at_it_taken(editor, draft, settings):
    content = pdf_bytes()
    settings.ATTACHMENT_MAX_BYTES = len(content) - 1

    assert upload_refusal(draft, editor, "plan.pdf", content) == {"file": ["The file is larger than 0 MB."]}

    settings.ATTACHMENT_MAX_BYTES = len(content)
    assert attach(draft, editor, "plan.pdf", content).size == len(content)


@pytest.mark.parametrize("name", ["notities.pdf", "notities.txt", "notities"])
def test_content_that_is_no_document_is_refused_whatever_its_name(editor, draft, name):
    assert upload_refusal(draft, editor, name, b"Alleen wat tekst, geen document.") == {
        "file": ["Only PDF, XLSX or DOCX documents are accepted; this file is none of them."]
    }


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("plan.docx", pdf_bytes(), ".docx"),
        ("plan", pdf_bytes(), "-"),
        ("begroting.pdf", xlsx_bytes(), ".pdf"),
        ("besluit.xlsx", docx_bytes(), ".xlsx"),
        ("map.pdf/plan", pdf_bytes(), "-"),
    ],
)
def test_a_name_that_contradicts_the_content_is_refused_with_the_ending_it_says(editor, draft, name, content, said):
    assert upload_refusal(draft, editor, name, content) == {
        "file": [f"The file name says {said} but the content is something else."]
    }


@pytest.mark.parametrize(
    ("name", "content", "stored_name", "mime"),
    [
        ("PLAN.PDF", pdf_bytes(), "PLAN.PDF", "application/pdf"),
        ("map/onder/plan.v2.pdf", pdf_bytes(), "plan.v2.pdf", "application/pdf"),
        ("begroting.XLSX", xlsx_bytes(), "begroting.XLSX", XLSX),
        ("besluit.docx", docx_bytes(), "besluit.docx", DOCX),
    ],
)
def test_a_document_is_stored_with_its_name_type_size_digest_and_uploader(
    editor, draft, name, content, stored_name, mime
):
    attachment = attach(draft, editor, name, content, kind="project_plan")

    stored = Attachment.objects.get()
    assert stored == attachment
    assert (stored.application, stored.kind, stored.original_name, stored.content_type) == (
        draft,
        "project_plan",
        stored_name,
        mime,
    )
    assert (stored.size, stored.sha256, stored.uploaded_by) == (
        len(content),
        hashlib.sha256(content).hexdigest(),
        editor,
    )
    stored.file.open("rb")
    assert stored.file.read() == content


def test_an_upload_refused_by_the_virus_scanner_names_the_virus_and_is_logged(editor, draft, monkeypatch, caplog):
    monkeypatch.setattr(uploads, "scan", lambda uploaded_file: "Eicar-Signature")

    with caplog.at_level(logging.WARNING, logger="applications.services"):
        errors = upload_refusal(draft, editor, "plan.pdf", pdf_bytes())

    assert errors == {"file": ["The file contains a virus (Eicar-Signature) and has been refused."]}
    assert caplog.messages == [
        f"attachment for application {draft.public_id} refused: the scanner found Eicar-Signature"
    ]


def test_an_upload_while_the_scanner_is_away_is_refused_for_now_and_logged(editor, draft, settings, tmp_path, caplog):
    settings.CLAMAV_SOCKET = str(tmp_path / "clamd.sock")

    with caplog.at_level(logging.ERROR, logger="applications.services"):
        errors = upload_refusal(draft, editor, "plan.pdf", pdf_bytes())

    assert errors == {"file": ["The file could not be checked for viruses just now. Try again later."]}
    assert caplog.messages == [
        f"virus scanner unavailable for an attachment of application {draft.public_id}: "
        "[Errno 2] No such file or directory"
    ]


def test_an_upload_ends_the_ready_state_of_the_draft(editor, signatory, draft):
    ready = ready_draft(draft, signatory)

    attach(ready, editor, "plan.pdf", pdf_bytes())

    ready.refresh_from_db()
    assert (ready.ready_hash, ready.ready_at) == ("", None)


def ready_draft(draft, signatory) -> Application:
    return confirm_ready(application=draft, user=signatory)


# --- a new application ----------------------------------------------------------------------------------


def create(user, tranche, **fields):
    values = {"project_name": "Het Baken", "location": "Stationsstraat 1", "window": tranche.windows.get()}
    values.update(fields)
    return services.create_application(user=user, tranche=tranche, **values)


def test_a_new_application_records_what_was_given_and_who_made_it(editor, tranche):
    application = create(
        editor,
        tranche,
        description="Veertig woningen",
        planned_start=date(2027, 3, 1),
        planned_completion=date(2028, 6, 30),
    )

    stored = Application.objects.get()
    assert stored == application
    assert (stored.municipality, stored.tranche, stored.window, stored.created_by, stored.status) == (
        editor.municipality,
        tranche,
        tranche.windows.get(),
        editor,
        Status.DRAFT,
    )
    assert (stored.project_name, stored.location, stored.description) == (
        "Het Baken",
        "Stationsstraat 1",
        "Veertig woningen",
    )
    assert (stored.planned_start, stored.planned_completion) == (date(2027, 3, 1), date(2028, 6, 30))
    [change] = StatusChange.objects.filter(application=stored)
    assert (change.from_status, change.to_status, change.actor, change.reason) == ("", Status.DRAFT, editor, "")
    assert change.at is not None


def test_a_new_application_without_a_description_or_dates_has_none(editor, tranche):
    create(editor, tranche)

    stored = Application.objects.get()
    assert (stored.description, stored.planned_start, stored.planned_completion) == ("", None, None)


def test_only_municipal_users_create_applications(assessor, tranche):
    with pytest.raises(PermissionDenied, match="Only municipal users can apply."):
        create(assessor, tranche)
    assert not Application.objects.exists()


def test_a_new_application_in_a_window_of_another_tranche_is_refused(editor, tranche):
    other = TrancheFactory()

    assert refusal(create, user=editor, tranche=tranche, window=other.windows.get()) == {
        "window": ["This window is not part of the tranche."]
    }
    assert not Application.objects.exists()


def test_a_new_application_is_checked_in_full_before_it_is_stored(editor, tranche):
    errors = refusal(create, user=editor, tranche=tranche, project_name="x" * 201)
    assert list(errors) == ["project_name"]

    with pytest.raises(ValidationError):
        create(editor, tranche, planned_start=date(2028, 1, 1), planned_completion=date(2027, 1, 1))
    assert not Application.objects.exists()


# --- changes of status ----------------------------------------------------------------------------------


def test_a_review_records_who_started_it_without_a_reason_and_says_so_in_the_log(assessor, caplog):
    application = ApplicationFactory(submitted=True)

    with caplog.at_level(logging.INFO, logger="applications.services"):
        services.start_review(application=application, user=assessor)

    change = StatusChange.objects.filter(application=application).latest("pk")
    assert (change.from_status, change.to_status, change.actor, change.reason) == (
        Status.SUBMITTED,
        Status.IN_REVIEW,
        assessor,
        "",
    )
    assert caplog.messages == [f"application {application.public_id}: submitted -> in_review by {assessor}"]


def test_a_withdrawn_application_cannot_be_reviewed(assessor):
    application = ApplicationFactory(submitted=True, status=Status.WITHDRAWN)

    with pytest.raises(ValidationError) as raised:
        services.start_review(application=application, user=assessor)

    assert raised.value.messages == ["An application that is withdrawn cannot become in review."]


def test_a_change_of_status_the_lifecycle_does_not_allow_is_refused_in_words(assessor, draft):
    with pytest.raises(ValidationError) as raised:
        services.start_review(application=draft, user=assessor)

    assert raised.value.messages == ["An application that is draft cannot become in review."]
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert not StatusChange.objects.filter(application=draft, to_status=Status.IN_REVIEW).exists()


def test_a_change_of_status_records_from_to_who_when_and_why(assessor):
    application = ApplicationFactory(submitted=True)
    services.start_review(application=application, user=assessor)
    at = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)

    services.request_information(application=application, user=assessor, reason="Begroting ontbreekt", now=at)

    change = StatusChange.objects.filter(application=application).latest("pk")
    assert (change.from_status, change.to_status, change.actor, change.at, change.reason) == (
        Status.IN_REVIEW,
        Status.INFORMATION_REQUESTED,
        assessor,
        at,
        "Begroting ontbreekt",
    )
    application.refresh_from_db()
    assert application.status == Status.INFORMATION_REQUESTED


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_a_change_that_needs_a_reason_is_refused_without_one(assessor, reason):
    application = ApplicationFactory(submitted=True)
    services.start_review(application=application, user=assessor)

    assert refusal(services.mark_ineligible, application=application, user=assessor, reason=reason) == {
        "reason": ["Give a reason."]
    }


def test_a_reason_of_one_character_is_a_reason(assessor):
    application = ApplicationFactory(submitted=True)
    services.start_review(application=application, user=assessor)

    services.mark_ineligible(application=application, user=assessor, reason="x")

    assert Application.objects.get(pk=application.pk).status == Status.INELIGIBLE


# --- a decision's status --------------------------------------------------------------------------------


def test_a_decision_moves_the_application_to_its_status_with_the_reason(approver):
    application = ApplicationFactory(eligible=True)

    result = services.record_decision(
        application=application, user=approver, status=Status.PARTIALLY_GRANTED, reason="Budget op"
    )

    assert result.status == Status.PARTIALLY_GRANTED
    assert Application.objects.get(pk=application.pk).status == Status.PARTIALLY_GRANTED
    change = StatusChange.objects.filter(application=application).latest("pk")
    assert (change.from_status, change.to_status, change.actor, change.reason) == (
        Status.ELIGIBLE,
        Status.PARTIALLY_GRANTED,
        approver,
        "Budget op",
    )


def test_a_decision_without_a_reason_records_none(approver):
    application = ApplicationFactory(eligible=True)

    services.record_decision(application=application, user=approver, status=Status.REFUSED)

    change = StatusChange.objects.filter(application=application).latest("pk")
    assert (change.to_status, change.reason) == (Status.REFUSED, "")


def test_a_later_decision_that_keeps_the_status_records_no_change(approver):
    application = ApplicationFactory(eligible=True)
    services.record_decision(application=application, user=approver, status=Status.GRANTED)
    changes = StatusChange.objects.filter(application=application).count()

    result = services.record_decision(application=application, user=approver, status=Status.GRANTED, reason="x")

    assert result.status == Status.GRANTED
    assert StatusChange.objects.filter(application=application).count() == changes


@pytest.mark.parametrize("status", [Status.ELIGIBLE, Status.WITHDRAWN, "granted_twice"])
def test_a_decision_to_a_status_that_is_no_decision_is_a_programming_error(approver, status):
    application = ApplicationFactory(eligible=True)

    with pytest.raises(ValueError, match=str(status)):
        services.record_decision(application=application, user=approver, status=status)


# --- amounts and days -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "units", "new_units", "expected"),
    [
        ("70000.00", 10, 10, "70000.00"),
        ("70000.00", 10, 7, "49000.00"),
        ("1000.00", 3, 2, "666.66"),
        ("1000.00", 3, 1, "333.33"),
        ("100.01", 2, 1, "50.00"),
        ("0.99", 2, 3, "1.48"),
    ],
)
def test_a_request_for_other_units_keeps_the_request_per_unit_rounded_down_to_the_cent(
    requested, units, new_units, expected
):
    line = UnitLine(requested_amount=Decimal(requested), units=units)

    amount = services.requested_for_units(line, new_units)

    assert amount == Decimal(expected)
    assert str(amount) == expected


@pytest.mark.parametrize(
    ("requested_at", "term", "deadline"),
    [
        (datetime(2026, 11, 3, 9, 0, tzinfo=UTC), 14, date(2026, 11, 17)),
        (datetime(2026, 11, 3, 23, 30, tzinfo=UTC), 14, date(2026, 11, 18)),
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), 1, date(2026, 3, 30)),
        (datetime(2026, 10, 24, 22, 30, tzinfo=UTC), 7, date(2026, 11, 1)),
    ],
)
def test_the_information_deadline_counts_calendar_days_from_the_amsterdam_day(requested_at, term, deadline):
    tranche = TrancheFactory(information_term_days=term)

    assert services.information_deadline(requested_at=requested_at, tranche=tranche) == deadline


def test_a_document_whose_name_has_spaces_keeps_its_whole_name(editor, draft):
    attach(draft, editor, "Plan van aanpak 2027.pdf", pdf_bytes())

    assert Attachment.objects.get().original_name == "Plan van aanpak 2027.pdf"


def test_the_information_deadline_counts_amsterdam_days_in_a_process_on_another_time_zone():
    tranche = TrancheFactory(information_term_days=14)

    with timezone.override("UTC"):
        deadline = services.information_deadline(
            requested_at=datetime(2026, 11, 3, 23, 30, tzinfo=UTC), tranche=tranche
        )

    assert deadline == date(2026, 11, 18)


def test_a_draft_submitted_without_a_declaration_records_none(signatory, draft):
    services.submit_application(application=draft, user=signatory, now=draft.tranche.opens_at + timedelta(minutes=1))
    draft.refresh_from_db()
    assert (draft.status, draft.declaration, draft.declared_at) == (Status.SUBMITTED, "", None)


def test_the_declaration_given_with_a_submission_is_kept(signatory, draft):
    submitted_at = draft.tranche.opens_at + timedelta(minutes=1)
    services.submit_application(application=draft, user=signatory, now=submitted_at, declaration="Naar waarheid.")
    draft.refresh_from_db()
    assert (draft.declaration, draft.declared_at) == ("Naar waarheid.", submitted_at)
