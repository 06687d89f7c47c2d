"""Applications through the API: the same services, rules and messages as the portal, as JSON with field errors."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from applications.models import Application, InformationRequest, Status, StatusChange
from tests.api.helpers import application_url, draft_body, patch, post, token_client
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory

pytestmark = pytest.mark.django_db

APPLICATIONS = reverse("api:application-list")
# The token with its user, the count, the page of applications with their totals.
LIST_QUERIES = 3


@pytest.fixture
def signatory():
    return UserFactory(signatory=True)


@pytest.fixture
def municipality_api(signatory):
    return token_client(signatory)


@pytest.fixture
def tranche():
    return TrancheFactory()


def test_a_municipal_system_creates_a_draft_with_its_unit_lines(municipality_api, signatory, tranche):
    response = post(municipality_api, APPLICATIONS, draft_body(tranche))

    assert response.status_code == 201
    body = response.json()
    application = Application.objects.get(public_id=body["public_id"])
    assert (application.status, application.municipality, application.created_by) == (
        Status.DRAFT,
        signatory.municipality,
        signatory,
    )
    assert body["window"] == "all" and body["municipality"] == signatory.municipality.code
    [line] = body["unit_lines"]
    # No amount asked: the maximum, as on the portal.
    assert (line["units"], line["requested_amount"]) == (10, "70000.00")
    assert (body["units_total"], body["amount_requested"]) == (10, "70000.00")
    assert [change["to_status"] for change in body["status_changes"]] == ["draft"]


def test_an_amount_above_the_maximum_is_refused_with_the_portals_message_on_its_field(municipality_api, tranche):
    body = draft_body(tranche)
    body["unit_lines"][0]["requested_amount"] = "70000.01"

    response = post(municipality_api, APPLICATIONS, body)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request is not valid; see errors.",
        "code": "invalid",
        "errors": {"unit_lines.0.requested_amount": ["At most € 70,000.00: 10 units × € 7,000.00 per unit."]},
    }
    assert not Application.objects.exists()


def test_messages_follow_the_language_of_the_request(signatory, tranche):
    body = draft_body(tranche)
    body["unit_lines"][0]["units"] = 0

    response = post(token_client(signatory, language="nl"), APPLICATIONS, body)

    assert response.json()["errors"] == {"unit_lines.0.units": ["Het aantal eenheden moet minstens 1 zijn."]}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"project_name": "De Rank\x00"}, "project_name", "Remove the control characters"),
        ({"description": "Regel\x07"}, "description", "Remove the control characters"),
        ({"planned_start": "0001-01-01"}, "planned_start", "Enter a date between 2000 and 2100."),
        ({"window": "nope"}, "window", "No window with code nope in this tranche."),
        ({"tranche": "no slug!"}, "tranche", "Enter a valid"),
        ({"tranche": "rha-2020"}, "tranche", "This tranche does not take applications now."),
        ({"planned_start": "2027-05-01", "planned_completion": "2027-04-01"}, "planned_completion", "cannot be before"),
    ],
)
def test_bad_fields_are_refused_by_field(municipality_api, tranche, change, field, message):
    response = post(municipality_api, APPLICATIONS, draft_body(tranche, **change))

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field]
    assert message in errors[field][0]


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ({"units": "٧٠"}, "units", "Write the number with the digits 0 to 9 only."),
        ({"requested_amount": "٧٠٠٠"}, "requested_amount", "digits 0 to 9 and a decimal point"),
        ({"requested_amount": "7.000,00"}, "requested_amount", "digits 0 to 9 and a decimal point"),
        ({"target_group": "astronauts"}, "target_group", "No target group with code astronauts in this tranche."),
        ({"housing_type": "castle"}, "housing_type", "No housing type with code castle."),
        ({"target_group": None}, "target_group", "Choose a target group."),
        ({"permanence": "forever"}, "permanence", "is not a valid choice"),
    ],
)
def test_bad_unit_lines_are_refused_on_the_line_and_field(municipality_api, tranche, line, field, message):
    body = draft_body(tranche)
    body["unit_lines"][0].update(line)

    response = post(municipality_api, APPLICATIONS, body)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [f"unit_lines.0.{field}"]
    assert message in errors[f"unit_lines.0.{field}"][0]


def test_a_tranche_that_is_not_open_takes_no_application(municipality_api):
    closed = TrancheFactory(opens_at="2020-01-01T09:00:00Z", closes_at="2020-02-01T17:00:00Z")

    response = post(municipality_api, APPLICATIONS, draft_body(closed))

    assert response.json()["errors"] == {"tranche": ["This tranche does not take applications now."]}


def test_a_draft_is_edited_and_its_unit_lines_replaced(municipality_api, signatory):
    draft = ApplicationFactory(municipality=signatory.municipality)
    lines = [
        {"target_group": "homeless", "housing_type": "regular", "permanence": "flexible", "units": 4},
        {
            "target_group": "homeless",
            "housing_type": "regular",
            "permanence": "permanent",
            "units": 2,
            "requested_amount": 9000,
        },
    ]

    response = patch(municipality_api, application_url(draft), {"project_name": "Nieuwe naam", "unit_lines": lines})

    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.project_name == "Nieuwe naam"
    assert list(draft.unit_lines.order_by("pk").values_list("permanence", "units", "requested_amount")) == [
        ("flexible", 4, Decimal("28000.00")),
        ("permanent", 2, Decimal("9000.00")),
    ]
    assert response.json()["amount_requested"] == "37000.00"


def test_editing_only_a_field_keeps_the_unit_lines(municipality_api, signatory):
    draft = ApplicationFactory(municipality=signatory.municipality)

    response = patch(municipality_api, application_url(draft), {"location": "Dorpsstraat 2"})

    assert response.status_code == 200
    assert response.json()["location"] == "Dorpsstraat 2"
    assert draft.unit_lines.count() == 1


def test_a_submitted_application_is_not_edited(municipality_api, signatory):
    submitted = ApplicationFactory(submitted=True, municipality=signatory.municipality)

    response = patch(municipality_api, application_url(submitted), {"project_name": "Anders"})

    assert response.status_code == 403
    assert response.json()["detail"] == "This application has been submitted and can no longer be changed."


def test_a_signatory_submits_and_the_receipt_is_stamped(municipality_api, signatory):
    draft = ApplicationFactory(municipality=signatory.municipality)

    response = post(municipality_api, application_url(draft, "submit"))

    assert response.status_code == 200
    draft.refresh_from_db()
    assert response.json()["status"] == Status.SUBMITTED
    assert response.json()["reference"] == draft.reference == f"{draft.tranche.receipt_prefix}-0001"


def test_submission_answers_every_problem_the_portal_lists(municipality_api, signatory):
    tranche = TrancheFactory(required_attachments=["project_plan"])
    empty = ApplicationFactory(municipality=signatory.municipality, tranche=tranche, lines=[])

    response = post(municipality_api, application_url(empty, "submit"))

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "non_field_errors": ["Add at least one unit line.", "Attach the project plan."]
    }
    empty.refresh_from_db()
    assert empty.status == Status.DRAFT


def test_an_editor_may_not_submit(signatory):
    editor = UserFactory(municipality=signatory.municipality)
    draft = ApplicationFactory(municipality=signatory.municipality)

    response = post(token_client(editor), application_url(draft, "submit"))

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only a signatory of the municipality may submit an application.",
        "code": "permission_denied",
        "errors": {},
    }


def test_answering_an_information_request_resubmits(municipality_api, signatory):
    application = ApplicationFactory(
        submitted=True, status=Status.INFORMATION_REQUESTED, municipality=signatory.municipality
    )
    InformationRequest.objects.create(application=application, requested_at=application.received_at, reason="Plan?")

    response = post(municipality_api, application_url(application, "submit"))

    assert response.json()["status"] == Status.RESUBMITTED
    assert response.json()["information_requests"][0]["answered_at"] is not None


def test_withdrawing_needs_a_reason(municipality_api, signatory):
    submitted = ApplicationFactory(submitted=True, municipality=signatory.municipality)

    refused = post(municipality_api, application_url(submitted, "withdraw"), {"reason": ""})
    withdrawn = post(municipality_api, application_url(submitted, "withdraw"), {"reason": "Project vervalt."})

    assert refused.json()["errors"] == {"reason": ["Give a reason."]}
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status_changes"][-1] | {"at": None} == {
        "from_status": "submitted",
        "to_status": "withdrawn",
        "at": None,
        "reason": "Project vervalt.",
    }


def test_another_municipalitys_application_is_not_found(municipality_api):
    foreign = ApplicationFactory(submitted=True, municipality__code="GM0363")

    assert municipality_api.get(application_url(foreign)).status_code == 404
    assert post(municipality_api, application_url(foreign, "withdraw"), {"reason": "x"}).status_code == 404
    assert patch(municipality_api, application_url(foreign), {"location": "x"}).status_code == 404
    assert municipality_api.get(reverse("api:application-detail", args=["not-a-uuid"])).status_code == 404


def test_the_list_shows_the_municipalitys_own_applications_in_a_fixed_number_of_queries(
    municipality_api, signatory, django_assert_num_queries
):
    ApplicationFactory(municipality=signatory.municipality)
    ApplicationFactory(municipality__code="GM0363")
    # The first request notes when the token was last used, a write made at most once a minute.
    municipality_api.get(APPLICATIONS)
    with django_assert_num_queries(LIST_QUERIES):
        first = municipality_api.get(APPLICATIONS)
    for _ in range(3):
        ApplicationFactory(submitted=True, municipality=signatory.municipality)
    with django_assert_num_queries(LIST_QUERIES):
        response = municipality_api.get(APPLICATIONS, {"status": ["draft", "submitted"], "page_size": 2})

    assert first.json()["count"] == 1
    assert response.json()["count"] == 4 and len(response.json()["results"]) == 2
    assert municipality_api.get(APPLICATIONS, {"status": "submitted"}).json()["count"] == 3
    assert municipality_api.get(APPLICATIONS, {"status": "nonsense"}).status_code == 400


def test_agency_tooling_reads_every_submitted_application_and_no_draft():
    ApplicationFactory(municipality__code="GM0344")
    submitted = [ApplicationFactory(submitted=True, municipality__code=code) for code in ("GM0344", "GM0363")]
    agency = token_client(UserFactory(assessor=True))

    listed = agency.get(APPLICATIONS).json()

    assert {row["public_id"] for row in listed["results"]} == {str(app.public_id) for app in submitted}
    assert agency.get(application_url(submitted[1])).json()["reference"] == submitted[1].reference


def test_agency_staff_move_an_application_through_the_assessment():
    application = ApplicationFactory(submitted=True)
    agency = token_client(UserFactory(assessor=True))

    review = post(agency, application_url(application, "start-review"))
    ask = post(agency, application_url(application, "request-information"), {"reason": "Stuur het projectplan."})

    assert (review.json()["status"], ask.json()["status"]) == ("in_review", "information_requested")
    assert ask.json()["information_requests"][0]["reason"] == "Stuur het projectplan."
    application.status = Status.IN_REVIEW
    application.save()
    assert post(agency, application_url(application, "mark-ineligible"), {}).json()["errors"] == {
        "reason": ["Give a reason."]
    }
    assert post(agency, application_url(application, "mark-eligible")).json()["status"] == "eligible"


def test_a_transition_the_lifecycle_does_not_allow_is_refused():
    application = ApplicationFactory(submitted=True)
    agency = token_client(UserFactory(assessor=True))

    response = post(agency, application_url(application, "mark-eligible"))

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "non_field_errors": ["An application that is submitted cannot become eligible."]
    }


def test_a_municipality_cannot_assess_its_own_application(municipality_api, signatory):
    application = ApplicationFactory(submitted=True, municipality=signatory.municipality)

    response = post(municipality_api, application_url(application, "start-review"))

    assert response.status_code == 403
    assert response.json()["detail"] == "Only agency staff can handle applications."
    assert StatusChange.objects.filter(application=application).count() == 1


def test_agency_staff_cannot_create_or_change_applications(tranche):
    draft_elsewhere = ApplicationFactory(submitted=True)
    agency = token_client(UserFactory(assessor=True))

    assert post(agency, APPLICATIONS, draft_body(tranche)).json()["detail"] == "Only municipal users can apply."
    assert patch(agency, application_url(draft_elsewhere), {"location": "x"}).status_code == 403


def test_the_ministry_reads_totals_not_applications():
    analyst = token_client(UserFactory(analyst=True))

    response = analyst.get(APPLICATIONS)

    assert response.status_code == 403
    with translation.override("nl"):
        expected = translation.gettext(
            "These endpoints are for municipal users and agency staff; the ministry reads the totals."
        )
    assert response.json()["detail"] == expected
