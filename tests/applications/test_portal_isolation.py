"""Every portal view keeps municipalities apart: another municipality's application is a 404, anonymous users log in."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from applications.models import Application, Attachment, AttachmentKind, Status
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.files import PDF_MIME, pdf_bytes, upload
from tests.portal import client_for, edit_data, line, url

pytestmark = pytest.mark.django_db

# (url name, method, needs an attachment id)
APPLICATION_VIEWS = [
    ("application_detail", "get", False),
    ("application_edit", "get", False),
    ("application_edit", "post", False),
    ("application_submit", "get", False),
    ("application_submit", "post", False),
    ("application_withdraw", "get", False),
    ("application_withdraw", "post", False),
    ("attachment_upload", "post", False),
    ("attachment_download", "get", True),
    ("attachment_delete", "post", True),
]
VIEW_IDS = [f"{name}-{method}" for name, method, _ in APPLICATION_VIEWS]


@pytest.fixture
def owner():
    return UserFactory(signatory=True, municipality__code="GM0344")


@pytest.fixture
def application(owner):
    application = ApplicationFactory(municipality=owner.municipality, submitted=True)
    attachment = Attachment(
        application=application,
        kind=AttachmentKind.PROJECT_PLAN,
        original_name="plan.pdf",
        content_type=PDF_MIME,
        size=len(pdf_bytes()),
        sha256="0" * 64,
        uploaded_by=owner,
    )
    attachment.file.save("plan.pdf", upload("plan.pdf", pdf_bytes()), save=False)
    attachment.save()
    return application


def _request(client, application, name, method, with_attachment):
    args = [application.attachments.get().pk] if with_attachment else []
    target = url(name, application, *args)
    if method == "get":
        return client.get(target)
    data = {
        "application_edit": edit_data(application, [line(application, units="1")]),
        "application_withdraw": {"reason": "Weg ermee"},
        "attachment_upload": {"kind": "budget", "file": upload("b.pdf", pdf_bytes())},
    }.get(name, {})
    return client.post(target, data)


def _snapshot(application):
    application.refresh_from_db()
    return (
        application.status,
        application.project_name,
        list(application.unit_lines.values_list("units", "requested_amount")),
        list(application.attachments.values_list("pk", flat=True)),
        application.status_changes.count(),
    )


@pytest.mark.parametrize(("name", "method", "with_attachment"), APPLICATION_VIEWS, ids=VIEW_IDS)
def test_other_municipality_gets_404_and_changes_nothing(application, name, method, with_attachment):
    stranger = UserFactory(signatory=True, municipality__code="GM0363")
    before = _snapshot(application)
    response = _request(client_for(stranger), application, name, method, with_attachment)
    assert response.status_code == 404
    assert _snapshot(application) == before


@pytest.mark.parametrize(("name", "method", "with_attachment"), APPLICATION_VIEWS, ids=VIEW_IDS)
def test_anonymous_is_sent_to_login_and_changes_nothing(application, name, method, with_attachment):
    before = _snapshot(application)
    response = _request(Client(), application, name, method, with_attachment)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    assert _snapshot(application) == before


@pytest.mark.parametrize("name", ["portal:home", "portal:application_list"])
def test_anonymous_lists_are_sent_to_login(name):
    response = Client().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_lists_show_only_own_municipality(owner, application):
    ApplicationFactory(municipality__code="GM0363", project_name="Van de buren")
    client = client_for(owner)
    for name in ("portal:home", "portal:application_list"):
        response = client.get(reverse(name))
        assert list(response.context["applications"]) == [application]
        assert "Van de buren" not in response.content.decode()


def test_unknown_application_is_404(owner):
    response = client_for(owner).get(reverse("portal:application_detail", args=[uuid.uuid4()]))
    assert response.status_code == 404


@pytest.mark.parametrize("trait", ["assessor", "analyst"])
def test_non_municipal_user_cannot_create(trait):
    tranche = TrancheFactory()
    client = client_for(UserFactory(**{trait: True}))
    create_url = reverse("portal:application_create", args=[tranche.slug])
    page = client.get(create_url)
    post = client.post(create_url, {"project_name": "X", "location": "Y"})
    assert (page.status_code, post.status_code) == (403, 403)
    assert "Only municipal users can apply." in post.content.decode()
    assert not Application.objects.exists()


def test_closed_tranche_takes_no_new_drafts(owner):
    tranche = TrancheFactory(opens_at=timezone.now() - timedelta(days=30), closes_at=timezone.now() - timedelta(days=1))
    response = client_for(owner).post(
        reverse("portal:application_create", args=[tranche.slug]), {"project_name": "X", "location": "Y"}
    )
    assert response.status_code == 404
    assert not Application.objects.exists()


def test_agency_staff_neither_view_nor_edit_in_the_portal(application):
    assessor = UserFactory(assessor=True)
    client = client_for(assessor)
    Application.objects.filter(pk=application.pk).update(status=Status.INFORMATION_REQUESTED)
    assert client.get(url("application_detail", application)).status_code == 404
    assert client.get(url("application_edit", application)).status_code == 404
