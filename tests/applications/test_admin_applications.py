from decimal import Decimal

import pytest
from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import sync_agency_group
from applications import services
from applications.models import Application, Attachment, Status, StatusChange
from grants.models import TargetGroup
from tests.factories import ApplicationFactory, UserFactory
from tests.files import pdf_bytes

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:applications_application_changelist")


def change_url(application: Application) -> str:
    return reverse("admin:applications_application_change", args=[application.pk])


@pytest.fixture
def assessor():
    user = UserFactory(assessor=True)
    user.groups.add(sync_agency_group())
    return user


@pytest.fixture
def agency_client(client, assessor):
    client.force_login(assessor)
    return client


def run_action(client, action: str, applications, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [a.pk for a in applications], **extra}
    return client.post(CHANGELIST, data, follow=True)


def reported(response) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in response.context["messages"]]


# --- access ---------------------------------------------------------------------------------------------


def test_municipal_user_gets_no_admin_access(client):
    client.force_login(UserFactory(signatory=True))
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_staff_without_agency_role_sees_applications_without_actions(client):
    analyst = UserFactory(analyst=True, is_staff=True)
    analyst.groups.add(sync_agency_group())
    ApplicationFactory(submitted=True)
    client.force_login(analyst)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert response.context["action_form"] is None


def test_agency_user_gets_the_status_actions(agency_client):
    response = agency_client.get(CHANGELIST)
    actions = {name for name, _ in response.context["action_form"].fields["action"].choices if name}
    assert actions == {"start_review", "request_information", "mark_eligible", "mark_ineligible"}


# --- changelist -----------------------------------------------------------------------------------------


def test_changelist_shows_received_applications_with_totals_and_leaves_drafts_out(agency_client, tranche):
    received = ApplicationFactory(
        submitted=True, tranche=tranche, lines=[("homeless", 10, "permanent"), ("students", 4, "flexible")]
    )
    ApplicationFactory(tranche=tranche)
    response = agency_client.get(CHANGELIST)
    rows = list(response.context["cl"].result_list)
    assert [row.pk for row in rows] == [received.pk]
    assert (rows[0].units_total, rows[0].amount_requested) == (14, Decimal("98000.00"))


def test_target_group_filter_neither_multiplies_nor_trims_the_totals(agency_client, tranche):
    application = ApplicationFactory(
        submitted=True,
        tranche=tranche,
        lines=[("homeless", 10, "permanent"), ("homeless", 2, "flexible"), ("students", 5, "flexible")],
    )
    ApplicationFactory(submitted=True, tranche=tranche, lines=[("students", 3, "permanent")])
    homeless = TargetGroup.objects.get(code="homeless")
    response = agency_client.get(CHANGELIST, {"unit_lines__target_group__national_group__id__exact": homeless.pk})
    rows = list(response.context["cl"].result_list)
    assert [row.pk for row in rows] == [application.pk]
    assert (rows[0].units_total, rows[0].amount_requested) == (17, Decimal("119000.00"))


def test_province_filter_keeps_only_that_provinces_municipalities(agency_client, tranche):
    amsterdam = ApplicationFactory(submitted=True, tranche=tranche, municipality__code="GM0363")
    ApplicationFactory(submitted=True, tranche=tranche, municipality__code="GM0344")
    response = agency_client.get(CHANGELIST, {"municipality__province__exact": "Noord-Holland"})
    assert [row.pk for row in response.context["cl"].result_list] == [amsterdam.pk]


def test_tranche_window_and_status_filters_combine(agency_client, tranche):
    wanted = ApplicationFactory(eligible=True, tranche=tranche)
    ApplicationFactory(submitted=True, tranche=tranche)
    ApplicationFactory(eligible=True)
    response = agency_client.get(
        CHANGELIST,
        {
            "tranche__id__exact": tranche.pk,
            "window__id__exact": tranche.windows.get().pk,
            "status__exact": Status.ELIGIBLE,
        },
    )
    assert [row.pk for row in response.context["cl"].result_list] == [wanted.pk]


@pytest.mark.parametrize("term", ["reference", "GM0363", "Amsterdam", "Woontoren"])
def test_search_finds_by_reference_municipality_code_or_name_and_project(agency_client, tranche, term):
    wanted = ApplicationFactory(
        submitted=True, tranche=tranche, municipality__code="GM0363", project_name="Woontoren Noord"
    )
    ApplicationFactory(submitted=True, tranche=tranche, municipality__code="GM0344", project_name="Hofje Zuid")
    query = wanted.reference if term == "reference" else term
    response = agency_client.get(CHANGELIST, {"q": query})
    assert [row.pk for row in response.context["cl"].result_list] == [wanted.pk]


def test_changelist_queries_do_not_grow_with_the_number_of_applications(
    agency_client, tranche, django_assert_num_queries
):
    filters = {
        "tranche__id__exact": tranche.pk,
        "municipality__province__exact": "Utrecht",
        "unit_lines__target_group__national_group__id__exact": TargetGroup.objects.get(code="homeless").pk,
    }
    ApplicationFactory.create_batch(2, submitted=True, tranche=tranche)
    agency_client.get(CHANGELIST, filters)  # warm-up: process-wide caches such as content types fill once
    with CaptureQueriesContext(connection) as few:
        assert agency_client.get(CHANGELIST, filters).status_code == 200
    ApplicationFactory.create_batch(
        25, submitted=True, tranche=tranche, lines=[("homeless", 4, "permanent"), ("students", 6, "flexible")]
    )
    with django_assert_num_queries(len(few.captured_queries)):
        response = agency_client.get(CHANGELIST, filters)
    assert response.context["cl"].result_count == 27


# --- read-only content ----------------------------------------------------------------------------------


def test_submitted_application_is_shown_read_only(agency_client):
    application = ApplicationFactory(submitted=True)
    response = agency_client.get(change_url(application))
    assert response.status_code == 200
    assert 'name="project_name"' not in response.content.decode()
    assert application.project_name in response.content.decode()


def test_posting_changes_to_an_application_is_refused_and_changes_nothing(agency_client):
    application = ApplicationFactory(submitted=True, project_name="Origineel")
    response = agency_client.post(change_url(application), {"project_name": "Gewijzigd", "location": "Elders"})
    assert response.status_code == 403
    application.refresh_from_db()
    assert (application.project_name, application.location) == ("Origineel", "Stationsstraat 1")


def test_a_municipalitys_draft_stays_out_of_the_back_office(agency_client):
    draft = ApplicationFactory()
    response = agency_client.get(change_url(draft))
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_nobody_adds_or_deletes_applications_in_the_back_office(client):
    client.force_login(UserFactory(assessor=True, is_superuser=True))
    application = ApplicationFactory(submitted=True)
    assert client.get(reverse("admin:applications_application_add")).status_code == 403
    delete = reverse("admin:applications_application_delete", args=[application.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Application.objects.filter(pk=application.pk).exists()


def test_history_view_is_available(agency_client):
    application = ApplicationFactory(submitted=True)
    response = agency_client.get(reverse("admin:applications_application_history", args=[application.pk]))
    assert response.status_code == 200
    assert application.reference in response.content.decode()


def test_restoring_an_old_version_from_history_is_refused(agency_client, assessor):
    application = ApplicationFactory(submitted=True)
    version = application.history.earliest()
    services.start_review(application=application, user=assessor)
    url = reverse("admin:applications_application_simple_history", args=[application.pk, version.history_id])
    assert agency_client.post(url, {}).status_code == 403
    application.refresh_from_db()
    assert application.status == Status.IN_REVIEW


def test_audit_trail_and_unit_lines_are_shown(agency_client):
    application = ApplicationFactory(submitted=True, lines=[("students", 7, "flexible")])
    response = agency_client.get(change_url(application))
    assert [line.units for line, _checks in response.context["lines"]] == [7]
    assert len(response.context["history"]) == 1


# --- attachments ----------------------------------------------------------------------------------------


def attach(application: Application, *, name: str = "plan.pdf") -> Attachment:
    content = pdf_bytes()
    attachment = Attachment(
        application=application,
        kind="project_plan",
        original_name=name,
        content_type="application/pdf",
        size=len(content),
        sha256="0" * 64,
        uploaded_by=UserFactory(municipality=application.municipality),
    )
    attachment.file.save(name, ContentFile(content), save=True)
    return attachment


def test_attachment_downloads_under_its_original_name(agency_client):
    application = ApplicationFactory(submitted=True)
    attachment = attach(application, name="Projectplan Zuid.pdf")
    response = agency_client.get(change_url(application))
    url = reverse("admin:applications_application_attachment", args=[application.pk, attachment.pk])
    assert url in response.content.decode()
    download = agency_client.get(url)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert 'filename="Projectplan Zuid.pdf"' in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == pdf_bytes()


def test_attachment_of_another_application_is_not_found_through_this_one(agency_client):
    application, other = ApplicationFactory(submitted=True), ApplicationFactory(submitted=True)
    attachment = attach(other)
    url = reverse("admin:applications_application_attachment", args=[application.pk, attachment.pk])
    assert agency_client.get(url).status_code == 404


def test_attachment_of_a_draft_is_not_found(agency_client):
    draft = ApplicationFactory()
    attachment = attach(draft)
    url = reverse("admin:applications_application_attachment", args=[draft.pk, attachment.pk])
    assert agency_client.get(url).status_code == 404


# --- status actions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "start", "reason", "expected"),
    [
        ("start_review", Status.SUBMITTED, None, Status.IN_REVIEW),
        ("request_information", Status.IN_REVIEW, "Raadsbesluit ontbreekt", Status.INFORMATION_REQUESTED),
        ("mark_eligible", Status.IN_REVIEW, None, Status.ELIGIBLE),
        ("mark_ineligible", Status.IN_REVIEW, "Geen toevoeging aan de voorraad", Status.INELIGIBLE),
    ],
)
def test_action_changes_status_through_the_service_and_audits_it(
    agency_client, assessor, action, start, reason, expected
):
    application = ApplicationFactory(submitted=True, status=start)
    extra = {"apply": "yes", "reason": reason} if reason else {}
    response = run_action(agency_client, action, [application], **extra)
    application.refresh_from_db()
    assert application.status == expected
    change = application.status_changes.latest("id")
    assert (change.from_status, change.to_status, change.actor, change.reason) == (
        start,
        expected,
        assessor,
        reason or "",
    )
    [(level, text)] = reported(response)
    assert level == messages.SUCCESS
    assert application.reference in text


def test_forbidden_transition_reports_the_error_and_changes_nothing(agency_client):
    application = ApplicationFactory(eligible=True)
    audit_before = StatusChange.objects.filter(application=application).count()
    response = run_action(agency_client, "start_review", [application])
    application.refresh_from_db()
    assert application.status == Status.ELIGIBLE
    assert StatusChange.objects.filter(application=application).count() == audit_before
    [(level, text)] = reported(response)
    assert level == messages.ERROR
    assert application.reference in text


def test_each_application_in_a_selection_gets_its_own_outcome(agency_client):
    submitted = ApplicationFactory(submitted=True)
    eligible = ApplicationFactory(eligible=True)
    response = run_action(agency_client, "start_review", [submitted, eligible])
    outcomes = {
        a.reference: level for level, text in reported(response) for a in (submitted, eligible) if a.reference in text
    }
    assert outcomes == {submitted.reference: messages.SUCCESS, eligible.reference: messages.ERROR}
    submitted.refresh_from_db()
    assert submitted.status == Status.IN_REVIEW


@pytest.mark.parametrize("action", ["request_information", "mark_ineligible"])
def test_action_that_needs_a_reason_asks_for_it_first(agency_client, action):
    application = ApplicationFactory(submitted=True, status=Status.IN_REVIEW)
    response = run_action(agency_client, action, [application])
    assert response.status_code == 200
    assert "admin/applications/application/reason_form.html" in [t.name for t in response.templates]
    assert application.reference in response.content.decode()
    application.refresh_from_db()
    assert application.status == Status.IN_REVIEW


@pytest.mark.parametrize("action", ["request_information", "mark_ineligible"])
def test_action_without_a_reason_is_refused_and_changes_nothing(agency_client, action):
    application = ApplicationFactory(submitted=True, status=Status.IN_REVIEW)
    response = run_action(agency_client, action, [application], apply="yes", reason="   ")
    assert response.context["form"].errors["reason"]
    application.refresh_from_db()
    assert application.status == Status.IN_REVIEW
    assert not application.status_changes.filter(to_status__in=[Status.INFORMATION_REQUESTED, Status.INELIGIBLE])
