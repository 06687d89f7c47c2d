"""Applications belong to the municipality in the portal: agency staff see them from submission on, in the back
office only; the ministry sees totals, never an application or its documents."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from accounts.services import sync_agency_group
from applications.models import Application, Attachment, AttachmentKind
from tests.factories import ApplicationFactory, UserFactory
from tests.files import PDF_MIME, pdf_bytes
from tests.portal import client_for, url

pytestmark = pytest.mark.django_db

STAFF = ["assessor", "approver", "analyst"]


def staff(trait: str):
    user = UserFactory(**{trait: True})
    user.groups.add(sync_agency_group())
    return user


def with_attachment(application: Application) -> Attachment:
    attachment = Attachment(
        application=application,
        kind=AttachmentKind.PROJECT_PLAN,
        original_name="plan.pdf",
        content_type=PDF_MIME,
        size=len(pdf_bytes()),
        sha256="0" * 64,
        uploaded_by=UserFactory(municipality=application.municipality),
    )
    attachment.file.save("plan.pdf", ContentFile(pdf_bytes()), save=False)
    attachment.save()
    return attachment


def admin_url(name: str, application: Application, *args) -> str:
    return reverse(f"admin:applications_application_{name}", args=[application.pk, *args])


@pytest.mark.parametrize("trait", STAFF)
@pytest.mark.parametrize("submitted", [False, True], ids=["draft", "submitted"])
def test_staff_get_404_on_an_application_and_its_attachment_in_the_portal(trait, submitted):
    application = ApplicationFactory(submitted=submitted)
    attachment = with_attachment(application)
    client = client_for(staff(trait))

    assert client.get(url("application_detail", application)).status_code == 404
    assert client.get(url("attachment_download", application, attachment.pk)).status_code == 404
    assert client.get(url("application_submit", application)).status_code == 404


@pytest.mark.parametrize("trait", STAFF)
def test_the_portal_lists_no_applications_to_staff(trait):
    ApplicationFactory(project_name="Het Concept")
    ApplicationFactory(submitted=True, project_name="De Ingediende")

    response = client_for(staff(trait)).get(reverse("portal:application_list"))

    assert response.status_code == 200
    assert list(response.context["applications"]) == []
    assert "Het Concept" not in response.content.decode()
    assert "De Ingediende" not in response.content.decode()


def test_the_municipality_still_opens_its_own_draft_and_attachment():
    application = ApplicationFactory()
    attachment = with_attachment(application)
    client = client_for(UserFactory(municipality=application.municipality))

    page = client.get(url("application_detail", application))
    download = client.get(url("attachment_download", application, attachment.pk))

    assert page.status_code == download.status_code == 200
    assert application.project_name in page.content.decode()
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_the_agency_opens_a_submitted_application_and_its_attachment_in_the_back_office():
    application = ApplicationFactory(submitted=True)
    attachment = with_attachment(application)
    client = client_for(staff("assessor"))

    page = client.get(admin_url("change", application))
    download = client.get(admin_url("attachment", application, attachment.pk))

    assert page.status_code == download.status_code == 200
    assert application.reference in page.content.decode()
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def assert_not_found(response) -> None:
    """404, or for the change page the admin's answer to an unknown object: back to the index with a message."""
    if response.status_code == 302:
        assert response["Location"] == reverse("admin:index")
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("page", ["change", "history", "attachment"])
def test_a_draft_is_not_found_in_the_back_office(page):
    draft = ApplicationFactory()
    attachment = with_attachment(draft)
    args = [attachment.pk] if page == "attachment" else []

    assert_not_found(client_for(staff("assessor")).get(admin_url(page, draft, *args)))


def test_a_version_of_a_draft_is_not_found_in_the_back_office():
    draft = ApplicationFactory()
    version = draft.history.earliest()

    response = client_for(staff("assessor")).get(admin_url("simple_history", draft, version.history_id))

    assert response.status_code == 404


@pytest.mark.parametrize("page", ["change", "history", "attachment"])
def test_ministry_staff_in_the_back_office_find_no_application(page):
    application = ApplicationFactory(submitted=True)
    attachment = with_attachment(application)
    args = [attachment.pk] if page == "attachment" else []
    analyst = staff("analyst")
    analyst.is_staff = True
    analyst.save()
    client = client_for(analyst)

    listed = client.get(reverse("admin:applications_application_changelist"))

    assert list(listed.context["cl"].result_list) == []
    assert_not_found(client.get(admin_url(page, application, *args)))
