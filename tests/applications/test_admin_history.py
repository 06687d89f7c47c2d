"""The back office's version history of an application: every page of it opens, read-only."""

import pytest
from django.urls import reverse

from accounts.services import sync_agency_group
from applications import services
from applications.models import Status
from tests.factories import TrancheFactory, UserFactory
from tests.portal import client_for, edit_data, line, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessor():
    user = UserFactory(assessor=True)
    user.groups.add(sync_agency_group())
    return user


@pytest.fixture
def application(assessor):
    """Drafted, edited and submitted in the portal, then taken into review: several versions."""
    signatory = UserFactory(signatory=True)
    tranche = TrancheFactory()
    draft = services.create_application(
        user=signatory, tranche=tranche, window=tranche.windows.get(), project_name="Het Baken", location="Utrecht"
    )
    portal = client_for(signatory)
    portal.post(url("application_edit", draft), edit_data(draft, [line(draft, units="40")], location="Zuilen"))
    portal.post(url("application_submit", draft), {"declaration": "on"})
    draft.refresh_from_db()
    return services.start_review(application=draft, user=assessor)


def history_url(application) -> str:
    return reverse("admin:applications_application_history", args=[application.pk])


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_history_lists_every_version_of_an_application(assessor, application, language):
    response = client_for(assessor, language=language).get(history_url(application))

    assert response.status_code == 200
    assert application.status == Status.IN_REVIEW
    assert len(response.context["page_obj"]) == application.history.count() >= 3


def test_every_version_of_an_application_opens_read_only(assessor, application):
    client = client_for(assessor)
    pages = {}

    for version in application.history.all():
        version_url = reverse("admin:applications_application_simple_history", args=[application.pk, version.pk])
        response = client.get(version_url)

        assert response.status_code == 200, version_url
        assert list(response.context["adminform"].form.fields) == []
        pages[version.pk] = response.content.decode()
    assert "Zuilen" in pages[application.history.latest().pk]
    assert "Zuilen" not in pages[application.history.earliest().pk]


def test_a_version_cannot_be_restored(assessor, application):
    version = application.history.earliest()
    version_url = reverse("admin:applications_application_simple_history", args=[application.pk, version.pk])

    response = client_for(assessor).post(version_url, {"project_name": "Anders"})

    assert response.status_code == 403
    application.refresh_from_db()
    assert (application.status, application.project_name) == (Status.IN_REVIEW, "Het Baken")
