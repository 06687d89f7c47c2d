"""Objections against decisions: registering, hearing, deciding, the revised decision and its over-commitment,
the letters, who may do what, and the back office."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation

from accounts.security import AUTHENTICATED_AT
from accounts.services import sync_agency_group
from allocation import objections
from allocation import tasks as allocation_tasks
from allocation.budget import budget_left
from allocation.models import Decision, DecisionKind, Letter, LetterKind, Objection, ObjectionOutcome
from allocation.objections import OverCommitment
from applications.models import Status
from grants.templatetags.money import format_euro
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory
from tests.figures import allocate
from tests.portal import client_for

pytestmark = pytest.mark.django_db

GROUNDS = "Er was nog € 30.000 over; die had ons project moeten krijgen."
REASONS = "Het resterende budget van de tranche had aan uw aanvraag moeten worden toegekend."


@pytest.fixture(autouse=True)
def _english():
    # The refusals below are matched by their English text; requests still choose their own language.
    with translation.override("en"):
        yield


def user(**traits):
    return UserFactory(password=None, **traits)


def refused_decision(*, rule: str = "stop") -> Decision:
    """Two requests of € 70,000 under a ceiling of € 100,000: one granted in full, the other (by lot) decided by
    `rule`: refused with € 30,000 left unused (stop), or partly granted € 30,000 (partial). Sent today."""
    tranche = closed_tranche(budget_ceiling=Decimal("100000.00"), last_application_rule=rule)
    for code in ("GM0344", "GM0363"):
        ApplicationFactory(eligible=True, tranche=tranche, municipality__code=code, project_name=f"Kamers {code}")
    allocate(tranche)
    decision = Decision.objects.current().filter(application__tranche=tranche).exclude(outcome="granted").get()
    return objections.record_dispatch(decision=decision, user=user(assessor=True), dispatched_on=decision.decision_date)


def register(decision: Decision, **extra) -> Objection:
    extra.setdefault("received_on", timezone.localdate())
    return objections.register_objection(decision=decision, user=user(assessor=True), grounds=GROUNDS, **extra)


def decide(objection: Objection, outcome: str, *, by=None, amount: str | None = None, **extra) -> Objection:
    return objections.decide_objection(
        objection=objection,
        user=by or user(approver=True),
        outcome=outcome,
        reason=REASONS,
        amount=None if amount is None else Decimal(amount),
        **extra,
    )


def heard(objection: Objection) -> Objection:
    return objections.waive_hearing(objection=objection, user=user(assessor=True))


# --- registering ----------------------------------------------------------------------------------------


def test_registering_an_objection_needs_the_dispatch_date_first():
    decision = refused_decision()
    Decision.objects.filter(pk=decision.pk).update(dispatched_on=None)

    with pytest.raises(ValidationError, match="Record first on which day the decision on .* was sent"):
        register(decision)

    assert not Objection.objects.exists()


@pytest.mark.parametrize("days", [-1, 1])
def test_dispatch_cannot_be_recorded_before_the_decision_or_in_the_future(days):
    decision = refused_decision()

    with pytest.raises(ValidationError) as refused:
        objections.record_dispatch(
            decision=decision, user=user(assessor=True), dispatched_on=decision.decision_date + timedelta(days=days)
        )

    assert "dispatched_on" in refused.value.message_dict
    decision.refresh_from_db()
    assert decision.dispatched_on == decision.decision_date


def test_dispatch_date_stays_once_an_objection_counts_its_term_from_it():
    decision = refused_decision()
    register(decision)

    tomorrow = decision.decision_date + timedelta(days=1)

    with pytest.raises(ValidationError, match="counts its term from the dispatch date"):
        objections.record_dispatch(decision=decision, user=user(assessor=True), dispatched_on=tomorrow, today=tomorrow)


def test_objection_received_before_dispatch_is_refused():
    decision = refused_decision()

    with pytest.raises(ValidationError) as refused:
        register(decision, received_on=decision.dispatched_on - timedelta(days=1))

    assert "received_on" in refused.value.message_dict
    assert not Objection.objects.exists()


def test_objection_received_in_the_future_is_refused():
    with pytest.raises(ValidationError) as refused:
        register(refused_decision(), received_on=timezone.localdate() + timedelta(days=1))

    assert "received_on" in refused.value.message_dict


def test_objection_without_grounds_is_refused():
    with pytest.raises(ValidationError) as refused:
        objections.register_objection(
            decision=refused_decision(), user=user(assessor=True), received_on=timezone.localdate(), grounds=" "
        )

    assert "grounds" in refused.value.message_dict


def test_a_second_open_objection_against_the_same_decision_is_refused():
    decision = refused_decision()
    register(decision)

    with pytest.raises(ValidationError, match="already being handled"):
        register(decision)

    assert Objection.objects.count() == 1


@pytest.mark.parametrize("traits", [{"signatory": True}, {"analyst": True}])
def test_only_agency_staff_register_and_decide_objections(traits):
    decision = refused_decision()
    outsider = user(**traits)

    with pytest.raises(PermissionDenied, match="Only agency staff"):
        objections.register_objection(
            decision=decision, user=outsider, received_on=timezone.localdate(), grounds=GROUNDS
        )
    objection = heard(register(decision))
    with pytest.raises(PermissionDenied, match="Only agency staff"):
        decide(objection, ObjectionOutcome.UNFOUNDED, by=outsider)

    objection.refresh_from_db()
    assert objection.is_open


def test_who_took_part_in_the_decision_cannot_handle_the_objection():
    # Awb 7:5: the approver who confirmed the allocation run decided the contested decision.
    decision = refused_decision()

    with pytest.raises(PermissionDenied, match="took part in the decision"):
        register(decision, handler=decision.run.approved_by)

    objection = register(decision, handler=user(assessor=True))
    assert objection.handler.role == "agency_assessor"


# --- hearing --------------------------------------------------------------------------------------------


def test_planning_a_hearing_needs_a_handler_and_a_time_in_the_future():
    objection = register(refused_decision())
    tomorrow = timezone.now() + timedelta(days=1)

    with pytest.raises(ValidationError, match="Assign a handler first"):
        objections.schedule_hearing(objection=objection, user=user(assessor=True), at=tomorrow)
    objections.assign_handler(objection=objection, user=user(assessor=True), handler=user(assessor=True))
    with pytest.raises(ValidationError) as refused:
        objections.schedule_hearing(
            objection=objection, user=user(assessor=True), at=timezone.now() - timedelta(hours=1)
        )
    assert "hearing_at" in refused.value.message_dict

    objections.schedule_hearing(objection=objection, user=user(assessor=True), at=tomorrow)
    objection.refresh_from_db()
    assert objection.hearing_at == tomorrow
    assert objection.letters.filter(kind=LetterKind.HEARING_INVITATION).count() == 1


def test_unfounded_objection_needs_a_hearing_and_keeps_the_decision():
    decision = refused_decision()
    objection = register(decision, handler=user(assessor=True))
    hearing_at = timezone.now() + timedelta(days=7)
    objections.schedule_hearing(objection=objection, user=user(assessor=True), at=hearing_at)

    with pytest.raises(ValidationError, match="Hear the objector first"):
        decide(objection, ObjectionOutcome.UNFOUNDED, by=user(assessor=True))
    objection = decide(
        objection, ObjectionOutcome.UNFOUNDED, by=user(assessor=True), now=hearing_at + timedelta(hours=2)
    )

    assert objection.outcome == ObjectionOutcome.UNFOUNDED
    assert objection.revised_decision is None
    assert Decision.objects.current().get(application=decision.application) == decision


def test_waived_hearing_lets_the_objection_be_decided_without_one():
    objection = heard(register(refused_decision()))

    objection = decide(objection, ObjectionOutcome.UNFOUNDED, by=user(assessor=True))

    assert objection.hearing_waived
    assert objection.decided_by.role == "agency_assessor"


# --- deciding -------------------------------------------------------------------------------------------


def test_founded_objection_against_a_refusal_grants_from_the_ceiling_left():
    refusal = refused_decision(rule="stop")
    application = refusal.application
    assert budget_left(tranche=application.tranche).total == Decimal("30000.00")
    approver = user(approver=True)

    objection = decide(register(refusal), ObjectionOutcome.FOUNDED, by=approver, amount="30000.00")

    revised = objection.revised_decision
    assert revised.kind == DecisionKind.OBJECTION
    assert revised.replaces == refusal
    assert revised.is_current
    assert revised.outcome == "partially_granted"
    assert revised.amount == Decimal("30000.00")
    assert revised.over_commitment == Decimal("0")
    assert revised.decided_by == approver
    assert revised.explanation == REASONS
    assert revised.start_construction_by is not None
    assert budget_left(tranche=application.tranche).total == Decimal("0")
    application.refresh_from_db()
    assert application.status == Status.PARTIALLY_GRANTED
    change = application.status_changes.order_by("at", "pk").last()
    assert (change.from_status, change.to_status, change.actor, change.reason) == (
        Status.REFUSED,
        Status.PARTIALLY_GRANTED,
        approver,
        REASONS,
    )
    assert objection.decided_on == timezone.localdate()


def test_founded_objection_beyond_the_ceiling_is_recorded_as_over_commitment():
    refusal = refused_decision(rule="stop")

    objection = decide(register(refusal), ObjectionOutcome.FOUNDED, amount="70000.00")

    revised = objection.revised_decision
    assert revised.outcome == "granted"
    assert revised.amount == Decimal("70000.00")
    # € 30,000 was left under the ceiling; the other € 40,000 comes on top of it.
    assert revised.over_commitment == Decimal("40000.00")
    left = budget_left(tranche=refusal.application.tranche)
    assert (left.total, left.over_ceiling) == (Decimal("0"), Decimal("40000.00"))


def test_raising_a_partial_grant_on_objection_is_over_commitment_when_nothing_is_left():
    partial = refused_decision(rule="partial")
    assert partial.amount == Decimal("30000.00")

    objection = heard(register(partial))
    objection = decide(objection, ObjectionOutcome.PARTLY_FOUNDED, amount="50000.00")

    assert objection.revised_decision.over_commitment == Decimal("20000.00")
    # The deadlines of the grant stay those of the decision it replaces.
    assert objection.revised_decision.complete_by == partial.complete_by


def test_over_commitment_is_shown_to_the_ministry_per_tranche():
    refusal = refused_decision(rule="stop")
    decide(register(refusal), ObjectionOutcome.FOUNDED, amount="70000.00")
    tranche = refusal.application.tranche

    response = client_for(user(analyst=True)).get(reverse("ministry:dashboard"))

    assert response.status_code == 200
    assert response.context["over_commitment"] == [
        OverCommitment(tranche=tranche.title, decisions=1, amount=Decimal("40000.00"))
    ]
    section = response.content.decode().split('id="over-commitment"')[1].split("</section>")[0]
    assert tranche.title in section
    assert format_euro(Decimal("40000.00")) in section


def test_ministry_dashboard_says_when_no_tranche_is_over_committed():
    decide(register(refused_decision(rule="stop")), ObjectionOutcome.FOUNDED, amount="30000.00")

    response = client_for(user(analyst=True)).get(reverse("ministry:dashboard"))

    assert response.context["over_commitment"] == []
    assert "No tranche is over-committed." in response.content.decode()


def test_an_assessor_cannot_decide_an_objection_that_grants_money():
    refusal = refused_decision()
    objection = register(refusal)

    with pytest.raises(PermissionDenied, match="Only an agency approver"):
        decide(objection, ObjectionOutcome.FOUNDED, by=user(assessor=True), amount="30000.00")

    objection.refresh_from_db()
    assert objection.is_open
    assert Decision.objects.current().get(application=refusal.application) == refusal


def test_amount_above_the_request_is_refused():
    refusal = refused_decision()

    with pytest.raises(ValidationError) as refused:
        decide(register(refusal), ObjectionOutcome.FOUNDED, amount="70000.01")

    assert "amount" in refused.value.message_dict
    assert Decision.objects.current().get(application=refusal.application) == refusal


@pytest.mark.parametrize(
    ("outcome", "amount"),
    [(ObjectionOutcome.FOUNDED, None), (ObjectionOutcome.UNFOUNDED, "30000.00")],
)
def test_only_a_founded_objection_sets_an_amount(outcome, amount):
    with pytest.raises(ValidationError) as refused:
        decide(heard(register(refused_decision())), outcome, amount=amount)

    assert "amount" in refused.value.message_dict


def test_a_decision_on_objection_cannot_be_objected_to():
    revised = decide(register(refused_decision()), ObjectionOutcome.FOUNDED, amount="30000.00").revised_decision
    objections.record_dispatch(decision=revised, user=user(assessor=True), dispatched_on=revised.decision_date)

    with pytest.raises(ValidationError, match="open to appeal"):
        register(revised)


def test_deciding_twice_is_refused():
    objection = decide(register(refused_decision()), ObjectionOutcome.FOUNDED, amount="30000.00")

    with pytest.raises(ValidationError, match="already been decided"):
        decide(objection, ObjectionOutcome.FOUNDED, amount="70000.00")

    assert Decision.objects.filter(kind=DecisionKind.OBJECTION).count() == 1


def test_decision_needs_reasons():
    with pytest.raises(ValidationError) as refused:
        objections.decide_objection(
            objection=heard(register(refused_decision())),
            user=user(approver=True),
            outcome=ObjectionOutcome.UNFOUNDED,
            reason="",
        )

    assert "outcome_reason" in refused.value.message_dict


def late_objection() -> Objection:
    decision = refused_decision()
    received = objections.objection_term_end(decision.dispatched_on) + timedelta(days=1)
    return register(decision, received_on=received, now=timezone.now() + timedelta(days=60))


def test_late_objection_without_excuse_can_only_be_declared_inadmissible():
    objection = late_objection()

    with pytest.raises(ValidationError, match="filed late without excuse"):
        decide(objection, ObjectionOutcome.FOUNDED, amount="30000.00")
    objection = decide(objection, ObjectionOutcome.INADMISSIBLE, by=user(assessor=True))

    assert objection.outcome == ObjectionOutcome.INADMISSIBLE
    assert objection.revised_decision is None


def test_objection_in_time_cannot_be_declared_inadmissible():
    with pytest.raises(ValidationError, match="it is admissible"):
        decide(register(refused_decision()), ObjectionOutcome.INADMISSIBLE)


def test_excused_late_objection_is_decided_on_its_merits():
    objection = objections.excuse_lateness(objection=late_objection(), user=user(assessor=True))

    objection = decide(objection, ObjectionOutcome.FOUNDED, amount="30000.00")

    assert objection.lateness_excused
    assert objection.revised_decision.amount == Decimal("30000.00")


def test_objection_in_time_needs_no_excuse():
    decision = refused_decision()
    with pytest.raises(ValidationError) as refused:
        register(decision, lateness_excused=True)
    assert "lateness_excused" in refused.value.message_dict

    with pytest.raises(ValidationError, match="needs no excuse"):
        objections.excuse_lateness(objection=register(decision), user=user(assessor=True))


def test_withdrawn_objection_changes_no_decision_and_gets_no_decision_letter():
    refusal = refused_decision()

    objection = decide(register(refusal), ObjectionOutcome.WITHDRAWN, by=user(assessor=True))

    assert objection.outcome == ObjectionOutcome.WITHDRAWN
    assert Decision.objects.current().get(application=refusal.application) == refusal
    assert list(objection.letters.values_list("kind", flat=True)) == [LetterKind.OBJECTION_RECEIPT]


# --- letters --------------------------------------------------------------------------------------------


def html_of(letter: Letter) -> str:
    with letter.html.open("rb") as stored:
        return stored.read().decode("utf-8")


def dutch(day) -> str:
    with translation.override("nl"):
        return formats.date_format(day, "j F Y")


def test_objection_letters_are_issued(django_capture_on_commit_callbacks):
    refusal = refused_decision()
    handler = user(assessor=True, first_name="Anna", last_name="de Vries")
    hearing_at = timezone.now() + timedelta(days=10)

    with django_capture_on_commit_callbacks(execute=True):
        objection = register(refusal, handler=handler)
    with django_capture_on_commit_callbacks(execute=True):
        objections.schedule_hearing(objection=objection, user=handler, at=hearing_at)
    with django_capture_on_commit_callbacks(execute=True):
        decide(objection, ObjectionOutcome.FOUNDED, amount="30000.00")

    letters = {letter.kind: letter for letter in Letter.objects.filter(objection=objection)}
    assert set(letters) == {
        LetterKind.OBJECTION_RECEIPT,
        LetterKind.HEARING_INVITATION,
        LetterKind.OBJECTION_DECISION,
    }
    for letter in letters.values():
        assert letter.application == refusal.application
        assert letter.pdf.read(5) == b"%PDF-"
    receipt = html_of(letters[LetterKind.OBJECTION_RECEIPT])
    assert "van de gemeente" in receipt
    assert refusal.application.reference in receipt
    assert "Uw bezwaarschrift is op tijd ingediend." in receipt
    assert f"tot en met {dutch(objection.term_ends_on)}" in receipt
    assert f"uiterlijk op {dutch(objection.decide_by)}" in receipt
    invitation = html_of(letters[LetterKind.HEARING_INVITATION])
    assert f"om {timezone.localtime(hearing_at):%H:%M} uur" in invitation
    assert "Anna de Vries" in invitation
    decision_letter = html_of(letters[LetterKind.OBJECTION_DECISION])
    assert "<strong>gegrond</strong>" in decision_letter
    assert "€ 30.000,00" in decision_letter
    assert REASONS in decision_letter
    assert "beroep instellen" in decision_letter


def test_inadmissible_objection_letter_says_why():
    objection = decide(late_objection(), ObjectionOutcome.INADMISSIBLE, by=user(assessor=True))

    letter = objection.letters.get(kind=LetterKind.OBJECTION_DECISION)

    assert "<strong>niet-ontvankelijk</strong>" in html_of(letter)


def test_letter_pdf_task_is_safe_to_run_twice(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        objection = register(refused_decision())
    letter = objection.letters.get()
    name = letter.pdf.name

    assert allocation_tasks.generate_letter_pdf(letter.pk) is False
    letter.refresh_from_db()
    assert letter.pdf.name == name


def test_a_municipality_sees_only_its_own_objections_and_letters():
    objection = register(refused_decision())
    own = objection.contested.application.municipality.code
    other = "GM0344" if own == "GM0363" else "GM0363"

    mine, theirs = user(signatory=True, municipality__code=own), user(signatory=True, municipality__code=other)

    assert list(objections.objections_visible_to(user=mine)) == [objection]
    assert list(objections.letters_visible_to(user=mine)) == list(objection.letters.all())
    assert not objections.objections_visible_to(user=theirs).exists()
    assert not objections.letters_visible_to(user=theirs).exists()
    assert not objections.objections_visible_to(user=user(analyst=True)).exists()


# --- back office ----------------------------------------------------------------------------------------

OBJECTIONS = reverse("admin:allocation_objection_changelist")


def back_office(**role):
    """An agency user with the Agency group and the permissions to open the objection and letter pages."""
    staff = user(**role)
    staff.groups.add(sync_agency_group())
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="allocation", codename__in=["view_objection", "view_letter"])
    )
    return staff


def test_objection_list_filters_open_and_overdue_objections_in_a_fixed_number_of_queries(
    django_assert_num_queries,
):
    client = client_for(back_office(assessor=True))
    overdue = register(refused_decision(), handler=user(assessor=True))
    Objection.objects.filter(pk=overdue.pk).update(decide_by=timezone.localdate() - timedelta(days=1))
    with CaptureQueriesContext(connection) as one:
        client.get(OBJECTIONS, {"state": "open"})
    register(refused_decision(), handler=user(assessor=True))
    decide(register(refused_decision()), ObjectionOutcome.WITHDRAWN, by=user(assessor=True))

    with django_assert_num_queries(len(one)):
        response = client.get(OBJECTIONS, {"state": "open"})
    overdue_page = client.get(OBJECTIONS, {"state": "overdue"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    assert [o.pk for o in overdue_page.context["cl"].result_list] == [overdue.pk]
    assert reverse("admin:allocation_objection_register") in response.content.decode()


def test_agency_registers_an_objection_in_the_back_office():
    refusal = refused_decision()
    client = client_for(back_office(assessor=True))
    page = reverse("admin:allocation_objection_register")

    response = client.post(
        page,
        {
            "action": "register",
            "register-reference": refusal.application.reference,
            "register-received_on": timezone.localdate().isoformat(),
            "register-grounds": GROUNDS,
        },
    )

    objection = Objection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:allocation_objection_change", args=[objection.pk])
    assert objection.contested == refusal
    assert objection.letters.get().kind == LetterKind.OBJECTION_RECEIPT
    change_page = client.get(response["Location"])
    assert reverse("admin:allocation_objection_decide", args=[objection.pk]) in change_page.content.decode()


def test_back_office_asks_to_record_the_dispatch_date_first():
    refusal = refused_decision()
    Decision.objects.filter(pk=refusal.pk).update(dispatched_on=None)
    client = client_for(back_office(assessor=True))
    page = reverse("admin:allocation_objection_register")
    form = {
        "action": "register",
        "register-reference": refusal.application.reference,
        "register-received_on": timezone.localdate().isoformat(),
        "register-grounds": GROUNDS,
    }

    refused = client.post(page, form)
    recorded = client.post(
        page,
        {
            "action": "dispatch",
            "dispatch-reference": refusal.application.reference,
            "dispatch-dispatched_on": refusal.decision_date.isoformat(),
        },
    )
    registered = client.post(page, form)

    assert refused.status_code == 200
    assert "Record first on which day" in refused.content.decode()
    assert recorded.status_code == 302
    assert registered.status_code == 302
    assert Objection.objects.get().term_ends_on == objections.objection_term_end(refusal.decision_date)


def test_assessor_deciding_a_grant_in_the_back_office_is_told_why_not():
    objection = register(refused_decision())
    client = client_for(back_office(assessor=True))

    response = client.post(
        reverse("admin:allocation_objection_decide", args=[objection.pk]),
        {"outcome": ObjectionOutcome.FOUNDED, "amount": "30000.00", "reason": REASONS},
    )

    assert response.status_code == 200
    assert "Only an agency approver can decide an objection that grants money." in response.content.decode()
    objection.refresh_from_db()
    assert objection.is_open


def test_approver_decides_in_the_back_office():
    objection = register(refused_decision())
    client = client_for(back_office(approver=True))

    response = client.post(
        reverse("admin:allocation_objection_decide", args=[objection.pk]),
        {"outcome": ObjectionOutcome.FOUNDED, "amount": "30000.00", "reason": REASONS},
    )

    assert response.status_code == 302
    objection.refresh_from_db()
    assert objection.revised_decision.amount == Decimal("30000.00")


def test_deciding_in_the_back_office_asks_for_the_password_again_after_a_while():
    objection = register(refused_decision())
    client = client_for(back_office(approver=True))
    session = client.session
    session[AUTHENTICATED_AT] = 0
    session.save()

    response = client.post(
        reverse("admin:allocation_objection_decide", args=[objection.pk]),
        {"outcome": ObjectionOutcome.FOUNDED, "amount": "30000.00", "reason": REASONS},
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:reauthenticate"))
    objection.refresh_from_db()
    assert objection.is_open


def test_letters_are_downloadable_in_the_back_office():
    letter = register(refused_decision()).letters.get()
    client = client_for(back_office(assessor=True))

    pdf = client.get(reverse("admin:allocation_letter_download", args=[letter.pk, "pdf"]))
    html = client.get(reverse("admin:allocation_letter_download", args=[letter.pk, "html"]))

    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content).startswith(b"%PDF-")
    assert "ontvangstbevestiging-bezwaar" in pdf["Content-Disposition"]
    assert "Wij hebben uw bezwaarschrift ontvangen" in b"".join(html.streaming_content).decode()


def test_municipal_users_do_not_reach_the_objection_pages():
    objection = register(refused_decision())
    client = client_for(user(signatory=True))

    assert client.get(OBJECTIONS).status_code == 302
    assert client.get(reverse("admin:allocation_objection_decide", args=[objection.pk])).status_code == 302
