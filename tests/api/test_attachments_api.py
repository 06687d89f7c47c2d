"""Attachments through the API: the portal's checks on the file, the size limit while it streams, audited downloads."""

import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditEntry
from applications.models import Attachment
from tests.api.helpers import token_client
from tests.factories import ApplicationFactory, UserFactory
from tests.files import PNG_BYTES, pdf_bytes, upload, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def signatory():
    return UserFactory(signatory=True)


@pytest.fixture
def draft(signatory):
    return ApplicationFactory(municipality=signatory.municipality)


def attachments_url(application) -> str:
    return reverse("api:attachment-list", kwargs={"application_public_id": application.public_id})


def send(client, application, name: str, content: bytes, kind: str = "project_plan"):
    return client.post(attachments_url(application), {"kind": kind, "file": upload(name, content)})


def test_a_document_is_attached_listed_and_downloaded_with_an_audit_entry(signatory, draft):
    api = token_client(signatory)

    response = send(api, draft, "plan.pdf", pdf_bytes())

    assert response.status_code == 201
    attachment = Attachment.objects.get(application=draft)
    assert response.json()["content_type"] == "application/pdf"
    [listed] = api.get(attachments_url(draft)).json()["results"]
    download = api.get(listed["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == pdf_bytes()
    assert download["Cache-Control"] == "private, no-store"
    assert AuditEntry.objects.filter(
        action=AuditAction.DOWNLOAD, actor=signatory, object_id=str(attachment.pk)
    ).exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("plan.pdf", b"", "The file is empty."),
        ("pixel.png", PNG_BYTES, "Only PDF, XLSX or DOCX documents are accepted; this file is none of them."),
        ("begroting.pdf", xlsx_bytes(), "The file name says .pdf but the content is something else."),
    ],
)
def test_a_file_the_portal_refuses_is_refused_with_its_message(signatory, draft, name, content, message):
    response = send(token_client(signatory), draft, name, content)

    assert response.status_code == 400
    assert response.json()["errors"] == {"file": [message]}
    assert not Attachment.objects.exists()


def test_an_upload_over_the_limit_is_stopped_while_it_streams(signatory, draft, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024

    response = send(token_client(signatory), draft, "plan.pdf", pdf_bytes("x" * 4000))

    assert response.status_code == 400
    assert response.json()["errors"] == {"file": ["The file is larger than 0 MB."]}


def test_a_kind_of_document_is_required(signatory, draft):
    response = send(token_client(signatory), draft, "plan.pdf", pdf_bytes(), kind="")

    assert response.json()["errors"] == {"kind": ["Choose the kind of document."]}


def test_an_attachment_is_removed_from_a_draft_but_not_from_a_submitted_application(signatory, draft):
    api = token_client(signatory)
    attachment_id = send(api, draft, "plan.pdf", pdf_bytes()).json()["id"]
    detail = reverse("api:attachment-detail", kwargs={"application_public_id": draft.public_id, "pk": attachment_id})

    assert api.delete(detail).status_code == 204
    assert not Attachment.objects.exists()
    submitted = ApplicationFactory(submitted=True, municipality=signatory.municipality)
    assert send(api, submitted, "plan.pdf", pdf_bytes()).status_code == 403


def test_agency_staff_download_a_submitted_applications_documents_but_add_none(signatory):
    application = ApplicationFactory(municipality=signatory.municipality)
    attachment_id = send(token_client(signatory), application, "plan.pdf", pdf_bytes()).json()["id"]
    agency = token_client(UserFactory(assessor=True))
    file_url = reverse(
        "api:attachment-file", kwargs={"application_public_id": application.public_id, "pk": attachment_id}
    )

    assert agency.get(file_url).status_code == 404
    application.status, application.reference, application.received_at = "submitted", "T-1", application.created_at
    application.save()
    assert agency.get(file_url).status_code == 200
    refused = send(agency, application, "plan.pdf", pdf_bytes())
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only the applying municipality can change this application."


def test_another_municipalitys_attachments_are_not_found(draft):
    other = token_client(UserFactory(signatory=True, municipality__code="GM0363"))

    assert other.get(attachments_url(draft)).status_code == 404
    assert send(other, draft, "plan.pdf", pdf_bytes()).status_code == 404
    bad_id = reverse("api:attachment-list", kwargs={"application_public_id": "not-a-uuid"})
    assert other.get(bad_id).status_code == 404
