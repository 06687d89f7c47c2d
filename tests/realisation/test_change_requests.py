"""Change requests after the grant: what approving changes, what it never changes, who may, bad input, the portal."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from allocation.models import DecisionKind, Letter, LetterKind
from allocation.selectors import current_decision, granted_per_window
from allocation.services import add_months
from realisation.changes import (
    approve_change_request,
    current_location,
    reject_change_request,
    submit_change_request,
    units_field,
)
from realisation.models import ChangeKind, ChangeRequest, ChangeRequestStatus
from realisation.selectors import compute_settlement
from tests.factories import UserFactory
from tests.portal import client_for
from tests.progress import TEN_HOMELESS, completed, granted, settle, signatory_of, submit

pytestmark = pytest.mark.django_db

FOUR_STUDENTS = ("students", 4, "flexible", None)


@pytest.fixture
def grant():
    return granted()


def ask(grant, kind, *, user=None, motivation="The contractor went bankrupt.", **proposal):
    return submit_change_request(
        application=grant, user=user or signatory_of(grant), kind=kind, motivation=motivation, **proposal
    )


def units_of(grant, *counts) -> dict[int, int]:
    lines = list(grant.unit_lines.order_by("pk"))
    return {line.pk: count for line, count in zip(lines, counts, strict=True)}


def approve(change, user=None, assessment="The delay is beyond the municipality's control."):
    return approve_change_request(change_request=change, user=user or UserFactory(assessor=True), assessment=assessment)


# --- what approving changes -----------------------------------------------------------------------------


def test_approved_extension_moves_the_completion_deadline(grant):
    before = grant.decision
    later = before.complete_by + timedelta(days=180)

    change = approve(ask(grant, ChangeKind.COMPLETION_EXTENSION, proposed_complete_by=later))

    decision = current_decision(application=grant)
    assert (decision.kind, decision.replaces_id, change.decision_id) == (DecisionKind.CHANGE, before.pk, decision.pk)
    assert decision.complete_by == later
    assert decision.units_available_until == add_months(later, 12 * grant.tranche.years_for_target_groups)
    assert (decision.start_construction_by, decision.amount) == (before.start_construction_by, before.amount)
    assert change.status == ChangeRequestStatus.APPROVED
    assert Letter.objects.get(application=grant).kind == LetterKind.CHANGE_REQUEST_DECISION


def test_approved_start_extension_moves_only_the_start_deadline(grant):
    before = grant.decision
    later = before.start_construction_by + timedelta(days=90)

    approve(ask(grant, ChangeKind.START_EXTENSION, proposed_start_by=later))

    decision = current_decision(application=grant)
    assert (decision.start_construction_by, decision.complete_by) == (later, before.complete_by)


def test_fewer_units_lower_the_grant_pro_rata():
    # € 70.000 for 10 homes and € 28.000 for 4 student units; two homes fewer cost 2 × € 7.000.
    grant = granted(lines=(TEN_HOMELESS, FOUR_STUDENTS))
    window_before = granted_per_window(tranche=grant.tranche)[grant.window_id]

    approve(ask(grant, ChangeKind.UNITS, units=units_of(grant, 8, 4)))

    decision = current_decision(application=grant)
    assert (decision.outcome, decision.requested, decision.amount) == (
        "granted",
        Decimal("84000.00"),
        Decimal("84000.00"),
    )
    assert list(grant.unit_lines.order_by("pk").values_list("units", "requested_amount")) == [
        (8, Decimal("56000.00")),
        (4, Decimal("28000.00")),
    ]
    # The € 14.000 no longer granted is free for the reserve list.
    assert granted_per_window(tranche=grant.tranche)[grant.window_id] == window_before - Decimal("14000.00")


def test_fewer_units_lower_a_partial_grant_by_its_share_per_unit():
    # Half of € 98.000 granted: € 3.500 per unit. Two homes fewer: € 42.000 of € 84.000 requested.
    grant = granted(lines=(TEN_HOMELESS, FOUR_STUDENTS), ceiling="49000.00")

    approve(ask(grant, ChangeKind.UNITS, units=units_of(grant, 8, 4)))

    decision = current_decision(application=grant)
    assert (decision.outcome, decision.requested, decision.amount) == (
        "partially_granted",
        Decimal("84000.00"),
        Decimal("42000.00"),
    )


def test_after_a_units_change_the_settlement_funds_each_line_at_its_amount_per_unit():
    grant = granted(lines=(TEN_HOMELESS, FOUR_STUDENTS))
    approve(ask(grant, ChangeKind.UNITS, units=units_of(grant, 6, 6)))
    completed(grant, [6, 3])

    computed = compute_settlement(decision=current_decision(application=grant))

    assert [line.amount_settled for line in computed.lines] == [Decimal("42000.00"), Decimal("21000.00")]


def test_change_request_can_never_raise_the_grant():
    # Homes at € 5.000 a unit, student units at € 7.000: moving two homes to the students asks € 4.000 more.
    grant = granted(lines=(("homeless", 10, "permanent", "50000.00"), FOUR_STUDENTS))
    before = grant.decision

    approve(ask(grant, ChangeKind.UNITS, units=units_of(grant, 8, 6)))

    decision = current_decision(application=grant)
    assert decision.amount == before.amount == Decimal("78000.00")
    assert (decision.outcome, decision.requested) == ("partially_granted", Decimal("82000.00"))


def test_a_units_change_keeps_the_old_values_in_the_line_history():
    grant = granted(lines=(TEN_HOMELESS, FOUR_STUDENTS))
    assessor = UserFactory(assessor=True)

    approve(ask(grant, ChangeKind.UNITS, units=units_of(grant, 7, 4)), user=assessor)

    line = grant.unit_lines.order_by("pk").first()
    newest, previous = line.history.order_by("-history_date", "-history_id")[:2]
    assert (previous.units, previous.requested_amount) == (10, Decimal("70000.00"))
    assert (newest.units, newest.requested_amount, newest.history_user) == (7, Decimal("49000.00"), assessor)


def test_an_approved_location_is_the_location_in_force(grant):
    approve(ask(grant, ChangeKind.LOCATION, proposed_location="Kanaalweg 12, Utrecht"))

    assert current_location(grant) == "Kanaalweg 12, Utrecht"
    assert current_decision(application=grant).amount == grant.decision.amount


def test_rejected_change_request_leaves_obligations(grant):
    change = ask(grant, ChangeKind.COMPLETION_EXTENSION, proposed_complete_by=grant.decision.complete_by + timedelta(1))

    change = reject_change_request(change_request=change, user=UserFactory(approver=True), assessment="No reason.")

    decision = current_decision(application=grant)
    assert decision.pk == grant.decision.pk
    assert decision.complete_by == grant.decision.complete_by
    assert (change.status, change.decision) == (ChangeRequestStatus.REJECTED, None)
    assert Letter.objects.filter(application=grant, kind=LetterKind.CHANGE_REQUEST_DECISION).count() == 1


def test_fields_of_another_kind_are_not_kept(grant):
    change = ask(grant, ChangeKind.LOCATION, proposed_location="Elders", proposed_start_by=timezone.localdate())

    assert (change.proposed_location, change.proposed_start_by, change.proposed_units) == ("Elders", None, [])


# --- who may and when -----------------------------------------------------------------------------------


def test_an_editor_cannot_submit_a_change_request(grant):
    with pytest.raises(PermissionDenied):
        ask(grant, ChangeKind.PLANNING, user=UserFactory(municipality=grant.municipality))


def test_another_municipality_cannot_ask_to_change_the_grant(grant):
    with pytest.raises(PermissionDenied):
        ask(grant, ChangeKind.PLANNING, user=UserFactory(signatory=True, municipality__code="GM0363"))


def test_municipal_users_cannot_assess(grant):
    change = ask(grant, ChangeKind.PLANNING)

    with pytest.raises(PermissionDenied):
        approve(change, user=signatory_of(grant))


def test_only_one_open_request_of_a_kind(grant):
    ask(grant, ChangeKind.PLANNING)

    with pytest.raises(ValidationError) as refused:
        ask(grant, ChangeKind.PLANNING)

    assert "kind" in refused.value.message_dict
    ask(grant, ChangeKind.LOCATION, proposed_location="Elders")
    assert ChangeRequest.objects.filter(application=grant).count() == 2


def test_no_change_request_after_the_settlement(grant):
    completed(grant, [10])
    settle(grant)

    with pytest.raises(ValidationError):
        ask(grant, ChangeKind.PLANNING)


def test_an_assessed_request_cannot_be_assessed_again(grant):
    change = approve(ask(grant, ChangeKind.PLANNING))

    with pytest.raises(ValidationError):
        reject_change_request(change_request=change, user=UserFactory(assessor=True), assessment="Changed my mind.")


def test_an_assessment_is_required(grant):
    change = ask(grant, ChangeKind.PLANNING)

    with pytest.raises(ValidationError) as refused:
        approve(change, assessment="  ")

    assert "assessment" in refused.value.message_dict
    change.refresh_from_db()
    assert change.status == ChangeRequestStatus.SUBMITTED


# --- bad input ------------------------------------------------------------------------------------------


def errors_of(grant, kind, **proposal) -> dict:
    with pytest.raises(ValidationError) as refused:
        ask(grant, kind, **proposal)
    return refused.value.message_dict


def test_an_extension_must_be_later_than_the_deadline_in_force(grant):
    errors = errors_of(grant, ChangeKind.COMPLETION_EXTENSION, proposed_complete_by=grant.decision.complete_by)

    assert list(errors) == ["proposed_complete_by"]


def test_a_later_start_cannot_pass_the_completion_deadline(grant):
    too_late = grant.decision.complete_by + timedelta(days=1)

    assert list(errors_of(grant, ChangeKind.START_EXTENSION, proposed_start_by=too_late)) == ["proposed_start_by"]


def test_a_request_without_motivation_or_date_is_refused_on_both_fields(grant):
    errors = errors_of(grant, ChangeKind.START_EXTENSION, motivation=" ")

    assert set(errors) == {"motivation", "proposed_start_by"}


def test_units_cannot_be_added(grant):
    assert list(errors_of(grant, ChangeKind.UNITS, units=units_of(grant, 11))) == ["proposed_units"]


def test_a_unit_line_cannot_be_emptied_or_go_below_what_was_realised(grant):
    submit(grant, started=timezone.localdate(), realised=[6])
    line = grant.unit_lines.get()

    assert list(errors_of(grant, ChangeKind.UNITS, units=units_of(grant, 0))) == [units_field(line.pk)]
    assert "6" in errors_of(grant, ChangeKind.UNITS, units=units_of(grant, 5))[units_field(line.pk)][0]


def test_the_same_location_is_not_a_change(grant):
    errors = errors_of(grant, ChangeKind.LOCATION, proposed_location=grant.location)

    assert list(errors) == ["proposed_location"]


def test_an_unknown_kind_is_refused(grant):
    assert "kind" in errors_of(grant, "budget")


# --- the portal -----------------------------------------------------------------------------------------


def url(name: str, grant) -> str:
    return reverse(f"progress:{name}", args=[grant.public_id])


def form_data(grant, kind, **fields) -> dict:
    data = {"kind": kind, "motivation": "The site is not available.", **fields}
    data.update(
        {f"units-{line.pk}": str(line.units) for line in grant.unit_lines.all() if f"units-{line.pk}" not in data}
    )
    return data


@pytest.mark.parametrize(("name", "method"), [("changes", "get"), ("change_new", "get"), ("change_new", "post")])
def test_another_municipality_gets_404(grant, name, method):
    outsider = client_for(UserFactory(signatory=True, municipality__code="GM0363"))

    response = getattr(outsider, method)(url(name, grant), form_data(grant, ChangeKind.PLANNING))

    assert response.status_code == 404
    assert not ChangeRequest.objects.exists()


def test_the_progress_page_links_to_the_change_requests(grant):
    response = client_for(signatory_of(grant)).get(url("detail", grant))

    assert url("changes", grant) in response.content.decode()


def test_a_signatory_submits_a_change_request_in_the_portal(grant):
    later = grant.decision.complete_by + timedelta(days=60)
    client = client_for(signatory_of(grant))

    response = client.post(
        url("change_new", grant),
        form_data(grant, ChangeKind.COMPLETION_EXTENSION, proposed_complete_by=later.isoformat()),
        follow=True,
    )

    change = ChangeRequest.objects.get()
    assert (change.kind, change.proposed_complete_by) == (ChangeKind.COMPLETION_EXTENSION, later)
    assert "The site is not available." in response.content.decode()


def test_an_editor_sees_the_requests_but_may_not_submit_one(grant):
    client = client_for(UserFactory(municipality=grant.municipality))

    page = client.get(url("changes", grant))

    assert page.status_code == 200
    assert grant.reference in page.content.decode()
    assert client.get(url("change_new", grant)).status_code == 403


def test_bad_input_is_shown_next_to_its_field_and_nothing_is_saved(grant):
    client = client_for(signatory_of(grant))
    earlier = grant.decision.complete_by - timedelta(days=1)

    response = client.post(
        url("change_new", grant), form_data(grant, ChangeKind.COMPLETION_EXTENSION, proposed_complete_by=earlier)
    )

    assert response.status_code == 200
    assert response.context["form"].errors["proposed_complete_by"]
    assert not ChangeRequest.objects.exists()


def test_the_decision_letter_is_listed_with_the_request(grant):
    change = approve(ask(grant, ChangeKind.PLANNING))
    letter = Letter.objects.get(application=grant)

    response = client_for(signatory_of(grant)).get(url("changes", grant))

    assert response.context["requests"] == [(change, letter)]
    assert reverse("decisions:case_letter_html", args=[letter.public_id]) in response.content.decode()


# --- the letter -----------------------------------------------------------------------------------------


def test_the_letter_states_the_lowered_grant_in_dutch_and_gets_its_pdf_after_commit(
    django_capture_on_commit_callbacks,
):
    grant = granted(lines=(TEN_HOMELESS, FOUR_STUDENTS))
    change = ask(grant, ChangeKind.UNITS, units=units_of(grant, 8, 4))

    with django_capture_on_commit_callbacks(execute=True):
        approve(change)

    letter = Letter.objects.get(application=grant)
    html = letter.html.open("rb").read().decode("utf-8")
    assert "Wij stemmen in met uw wijzigingsverzoek" in html
    assert "€ 98.000,00" in html
    assert "€ 84.000,00" in html
    assert letter.pdf


def test_the_change_requests_page_costs_the_same_queries_for_one_request_or_many(grant):
    client = client_for(signatory_of(grant))

    def queries() -> int:
        client.get(url("changes", grant))
        with CaptureQueriesContext(connection) as captured:
            client.get(url("changes", grant))
        return len(captured)

    approve(ask(grant, ChangeKind.PLANNING))
    one = queries()
    approve(ask(grant, ChangeKind.LOCATION, proposed_location="Elders"))
    reject_change_request(
        change_request=ask(grant, ChangeKind.PLANNING), user=UserFactory(assessor=True), assessment="No."
    )

    assert queries() == one


def test_the_case_file_shows_what_a_change_request_asked(grant):
    approve(ask(grant, ChangeKind.LOCATION, proposed_location="Kanaalweg 12, Utrecht"))

    response = client_for(signatory_of(grant)).get(reverse("portal:application_detail", args=[grant.public_id]))

    assert "New location: Kanaalweg 12, Utrecht." in response.content.decode()
