"""Uploading, downloading and removing attachments on the application page."""

import pytest
from django.conf import settings
from django.core.files.base import ContentFile

from applications.models import Attachment, AttachmentKind
from tests.factories import ApplicationFactory, UserFactory
from tests.files import DOCX_MIME, PDF_MIME, PNG_BYTES, XLSX_MIME, docx_bytes, pdf_bytes, upload, xlsx_bytes
from tests.portal import client_for, url

pytestmark = pytest.mark.django_db


def _attach(application, user, *, name="projectplan.pdf", content=None):
    attachment = Attachment(
        application=application,
        kind=AttachmentKind.PROJECT_PLAN,
        original_name=name,
        content_type=PDF_MIME,
        size=len(content or pdf_bytes()),
        sha256="0" * 64,
        uploaded_by=user,
    )
    attachment.file.save(name, ContentFile(content or pdf_bytes()), save=False)
    attachment.save()
    return attachment


def _stored_files(settings):
    root = settings.MEDIA_ROOT
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("projectplan.pdf", pdf_bytes(), PDF_MIME),
        ("begroting.xlsx", xlsx_bytes(), XLSX_MIME),
        ("raadsbesluit.docx", docx_bytes(), DOCX_MIME),
    ],
    ids=["pdf", "xlsx", "docx"],
)
def test_upload_of_real_document_is_stored_with_detected_type(editor, draft, name, content, mime):
    response = client_for(editor).post(
        url("attachment_upload", draft), {"kind": "budget", "file": upload(name, content, "text/plain")}
    )
    assert response.status_code == 302
    attachment = draft.attachments.get()
    assert (attachment.original_name, attachment.content_type, attachment.size) == (name, mime, len(content))
    assert attachment.file.read() == content


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("projectplan.pdf", PNG_BYTES),
        ("projectplan.pdf", b"Dit is gewoon tekst, geen PDF.\n" * 10),
        ("begroting.xlsx", docx_bytes()),
        ("projectplan.png", pdf_bytes()),
    ],
    ids=["png-named-pdf", "text-named-pdf", "docx-named-xlsx", "pdf-named-png"],
)
def test_disguised_file_is_refused_on_the_form_and_nothing_is_stored(editor, draft, settings, name, content):
    response = client_for(editor).post(
        url("attachment_upload", draft), {"kind": "budget", "file": upload(name, content)}
    )
    assert response.status_code == 200
    assert "file" in response.context["attachment_form"].errors
    assert not Attachment.objects.exists()
    assert _stored_files(settings) == []


def test_oversized_file_is_refused_on_the_form_and_nothing_is_stored(editor, draft, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    content = pdf_bytes() + b"%" + b"0" * (1024 * 1024)
    response = client_for(editor).post(
        url("attachment_upload", draft), {"kind": "budget", "file": upload("plan.pdf", content)}
    )
    [message] = response.context["attachment_form"].errors["file"]
    assert "larger than 1 MB" in message
    assert not Attachment.objects.exists()
    assert _stored_files(settings) == []


def test_empty_file_is_refused_on_the_form(editor, draft):
    response = client_for(editor).post(
        url("attachment_upload", draft), {"kind": "budget", "file": upload("leeg.pdf", b"")}
    )
    assert "file" in response.context["attachment_form"].errors
    assert not Attachment.objects.exists()


def test_upload_without_kind_is_refused_on_the_kind_field(editor, draft):
    response = client_for(editor).post(
        url("attachment_upload", draft), {"kind": "", "file": upload("a.pdf", pdf_bytes())}
    )
    assert "kind" in response.context["attachment_form"].errors
    assert not Attachment.objects.exists()


def test_error_is_shown_next_to_the_field_and_described_by_it(editor, draft):
    response = client_for(editor).post(
        url("attachment_upload", draft), {"kind": "budget", "file": upload("a.pdf", PNG_BYTES)}
    )
    html = response.content.decode()
    assert 'id="id_file_error"' in html
    assert 'aria-describedby="id_file_helptext id_file_error"' in html
    assert 'aria-invalid="true"' in html


def test_upload_to_submitted_application_is_forbidden(editor):
    application = ApplicationFactory(municipality=editor.municipality, submitted=True)
    response = client_for(editor).post(
        url("attachment_upload", application), {"kind": "budget", "file": upload("a.pdf", pdf_bytes())}
    )
    assert response.status_code == 403
    assert not Attachment.objects.exists()


def test_owner_downloads_the_stored_bytes_as_attachment(editor, draft):
    content = pdf_bytes("Het Baken")
    attachment = _attach(draft, editor, name="plan van aanpak.pdf", content=content)
    response = client_for(editor).get(url("attachment_download", draft, attachment.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == PDF_MIME
    assert response["Content-Disposition"].startswith("attachment;")
    assert "plan" in response["Content-Disposition"]


def test_agency_staff_download_in_the_back_office_not_in_the_portal(editor):
    application = ApplicationFactory(municipality=editor.municipality, submitted=True)
    attachment = _attach(application, editor)
    response = client_for(UserFactory(assessor=True)).get(url("attachment_download", application, attachment.pk))
    assert response.status_code == 404


def test_other_municipality_cannot_download(editor, draft):
    attachment = _attach(draft, editor)
    stranger = UserFactory(municipality__code="GM0363")
    response = client_for(stranger).get(url("attachment_download", draft, attachment.pk))
    assert response.status_code == 404


def test_attachment_of_another_application_is_not_found_under_this_one(editor, draft):
    other = ApplicationFactory(municipality=editor.municipality)
    attachment = _attach(other, editor)
    response = client_for(editor).get(url("attachment_download", draft, attachment.pk))
    assert response.status_code == 404


def test_owner_removes_attachment_and_its_file(editor, draft, settings):
    attachment = _attach(draft, editor)
    response = client_for(editor).post(url("attachment_delete", draft, attachment.pk), {"confirm": "yes"})
    assert response.status_code == 302
    assert not Attachment.objects.exists()
    assert _stored_files(settings) == []


def test_other_municipality_cannot_remove_attachment(editor, draft):
    attachment = _attach(draft, editor)
    stranger = UserFactory(municipality__code="GM0363")
    response = client_for(stranger).post(url("attachment_delete", draft, attachment.pk))
    assert response.status_code == 404
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_attachment_of_submitted_application_cannot_be_removed(editor):
    application = ApplicationFactory(municipality=editor.municipality, submitted=True)
    attachment = _attach(application, editor)
    response = client_for(editor).post(url("attachment_delete", application, attachment.pk))
    assert response.status_code == 403
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_remove_asks_before_it_removes(editor, draft):
    attachment = _attach(draft, editor)
    response = client_for(editor).get(url("attachment_delete", draft, attachment.pk))
    assert response.status_code == 200
    assert Attachment.objects.filter(pk=attachment.pk).exists()


def test_stored_file_is_not_served_from_a_public_media_url(editor, draft):
    attachment = _attach(draft, editor)
    response = client_for(editor).get(f"/{settings.MEDIA_URL}{attachment.file.name}")
    assert response.status_code == 404
