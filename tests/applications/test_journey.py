"""The municipal user's journey: check your answers, the declaration, the confirmation and receipt, the request to
the signatory, the tasks on the home page, the reply to an information request, the decision, and who lands where."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import AuditEntry
from applications import receipt_document, services, submission, worklist
from applications.models import Application, Status
from notifications.models import Delivery, Reminder, ReminderKind
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.files import pdf_objects
from tests.portal import client_for, url
from tests.progress import granted

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DECLARATION = {"declaration": "on"}


@pytest.fixture
def application(signatory):
    tranche = TrancheFactory(
        opens_at=datetime(2026, 10, 1, 9, tzinfo=AMSTERDAM), closes_at=datetime(2027, 12, 1, 17, tzinfo=AMSTERDAM)
    )
    return ApplicationFactory(
        municipality=signatory.municipality, tranche=tranche, project_name="Het Baken", description="Tien woningen."
    )


def _announced():
    """A tranche that opens in 2030: its drafts are confirmed as ready before the opening."""
    return TrancheFactory(
        opens_at=datetime(2030, 1, 1, 9, tzinfo=AMSTERDAM), closes_at=datetime(2030, 3, 1, 17, tzinfo=AMSTERDAM)
    )


def _received(application, signatory, *, at=None):
    services.submit_application(application=application, user=signatory, now=at, declaration="Ik verklaar.")
    return Application.objects.get(pk=application.pk)


# --- check your answers and the declaration -------------------------------------------------------------


def test_check_your_answers_shows_every_answer_with_links_to_change_them(signatory, application):
    html = client_for(signatory).get(url("application_submit", application)).content.decode()
    for answer in ("Het Baken", "Stationsstraat 1", "Tien woningen.", "Alle groepen", "€\u00a070.000,00", ">10<"):
        assert answer in html
    assert html.count(">Change<") == 3
    assert url("application_edit", application) in html
    assert f"{url('application_detail', application)}#attachments" in html


def test_the_declaration_names_the_municipality_and_is_a_required_checkbox(signatory, application):
    html = client_for(signatory).get(url("application_submit", application)).content.decode()
    name = signatory.municipality.name
    assert f"I declare that I am authorised to act on behalf of the municipality of {name}" in html
    assert 'type="checkbox" name="declaration"' in html and "required" in html


def test_submitting_without_the_declaration_is_refused_and_the_draft_kept(signatory, application):
    response = client_for(signatory).post(url("application_submit", application))
    assert response.status_code == 200
    assert "Tick the declaration to confirm it." in response.content.decode()
    application.refresh_from_db()
    assert application.status == Status.DRAFT and application.reference is None


def test_confirming_ready_without_the_declaration_is_refused(signatory):
    tranche = _announced()
    draft = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    response = client_for(signatory).post(url("application_ready", draft))
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.ready_hash == "" and draft.declared_at is None


def test_the_declaration_is_kept_with_the_ready_state_and_in_the_audit_log(signatory):
    tranche = _announced()
    draft = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    moment = datetime(2029, 12, 30, 10, tzinfo=AMSTERDAM)
    with time_machine.travel(moment, tick=False):
        response = client_for(signatory).post(url("application_ready", draft), DECLARATION)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.ready_hash and draft.ready_by == signatory
    assert draft.declared_at == moment and draft.ready_at == moment
    assert draft.declaration.startswith("I declare that I am authorised")
    audit = AuditEntry.objects.filter(object_id=str(draft.pk)).latest("pk")
    assert draft.ready_hash in audit.detail and "declaration accepted: I declare" in audit.detail


def test_an_edit_clears_the_declaration_with_the_ready_state(signatory):
    tranche = _announced()
    draft = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    submission.confirm_ready(application=draft, user=signatory, declaration="Ik verklaar.")
    services.update_application(application=draft, user=signatory, location="Elders 2")
    draft.refresh_from_db()
    assert (draft.ready_hash, draft.declaration, draft.declared_at) == ("", "", None)


def test_submitting_with_the_declaration_keeps_it_and_leads_to_the_confirmation(signatory, application):
    response = client_for(signatory).post(url("application_submit", application), DECLARATION)
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert response["Location"] == url("application_received", application)
    assert application.declared_at == application.received_at
    assert "municipality of" in application.declaration


# --- the confirmation and the receipt -------------------------------------------------------------------


def test_confirmation_page_shows_receipt_number_instant_hash_and_what_happens_next(signatory, application):
    arrival = datetime(2026, 11, 2, 10, 15, 3, 42_000, tzinfo=AMSTERDAM)
    with time_machine.travel(arrival, tick=False):
        received = _received(application, signatory, at=arrival)
        response = client_for(signatory).get(url("application_received", received))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your application has been received" in html
    assert received.reference in html
    assert "2 November 2026 10:15:03.042" in html
    assert "".join(received.ready_hash[i : i + 16] + "<wbr>" for i in range(0, 64, 16)) in html
    assert url("application_receipt_pdf", received) in html
    assert "What happens next?" in html
    # Awb 4:13: eight weeks from the day of receipt.
    assert "at the latest on 28 December 2026" in html


def test_a_draft_has_no_confirmation_or_receipt(signatory, application):
    client = client_for(signatory)
    assert client.get(url("application_received", application)).status_code == 404
    assert client.get(url("application_receipt_pdf", application)).status_code == 404


def test_the_receipt_states_reference_instant_and_hash(signatory, application):
    arrival = datetime(2026, 11, 2, 10, 15, 3, 42_000, tzinfo=AMSTERDAM)
    with time_machine.travel(arrival, tick=False):
        received = _received(application, signatory, at=arrival)
        html = receipt_document.render_receipt(received)
    assert received.reference in html
    assert "2 november 2026 10:15:03,042" in html
    assert received.ready_hash in html
    assert "Ik verklaar." in html
    assert "uiterlijk op 28 december 2026" in html


def test_the_receipt_downloads_as_a_pdf(signatory, application):
    received = _received(application, signatory)
    response = client_for(signatory).get(url("application_receipt_pdf", received))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"ontvangstbevestiging-{received.reference}.pdf" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    # Tagged for screen readers, as the decision letters (PDF/UA-1).
    pdf = pdf_objects(response.content)
    assert b"/StructTreeRoot" in pdf and b"/Lang (nl)" in pdf


def test_another_municipality_finds_no_receipt(signatory, application):
    received = _received(application, signatory)
    stranger = UserFactory(signatory=True, municipality__code="GM0363")
    assert client_for(stranger).get(url("application_receipt_pdf", received)).status_code == 404
    assert client_for(stranger).get(url("application_received", received)).status_code == 404


# --- the editor asks the signatory ----------------------------------------------------------------------


def test_the_editor_is_offered_to_ask_the_signatory_instead_of_submit(editor, draft):
    html = client_for(editor).get(url("application_detail", draft)).content.decode()
    assert "Ask the signatory to submit" in html
    assert "Check and submit" not in html


def test_asking_the_signatory_notifies_each_signatory_exactly_once(editor, draft, django_capture_on_commit_callbacks):
    first = UserFactory(signatory=True, municipality=editor.municipality)
    second = UserFactory(signatory=True, municipality=editor.municipality)
    UserFactory(signatory=True, municipality=editor.municipality, is_active=False)
    UserFactory(signatory=True, municipality__code="GM0363")
    client = client_for(editor)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url("application_ask_signatory", draft)).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("application_ask_signatory", draft))
    reminders = Reminder.objects.filter(kind=ReminderKind.SIGNATORY_ASKED)
    assert sorted(reminders.values_list("user_id", flat=True)) == sorted([first.pk, second.pk])
    assert Delivery.objects.filter(reminder__in=reminders).count() == 2
    assert sorted(message.to[0] for message in mail.outbox) == sorted([first.email, second.email])
    draft.refresh_from_db()
    assert draft.signatory_asked_at is not None and draft.signatory_asked_by == editor


def test_a_second_sweep_decides_no_second_notification(editor, draft, django_capture_on_commit_callbacks):
    from notifications import services as notification_services

    UserFactory(signatory=True, municipality=editor.municipality)
    with django_capture_on_commit_callbacks(execute=True):
        services.ask_signatory(application=draft, user=editor)
    notification_services.sweep(now=timezone.now(), inline=True)
    assert Reminder.objects.filter(kind=ReminderKind.SIGNATORY_ASKED).count() == 1


def test_the_signatory_sees_the_request_in_notifications_and_as_a_task(
    editor, draft, django_capture_on_commit_callbacks
):
    signatory = UserFactory(signatory=True, municipality=editor.municipality)
    with django_capture_on_commit_callbacks(execute=True):
        services.ask_signatory(application=draft, user=editor)
    client = client_for(signatory)
    assert f"asks you to submit {draft.project_name}" in client.get(reverse("notifications:list")).content.decode()
    home = client.get(reverse("portal:home")).content.decode()
    assert "Asked to submit" in home and url("application_submit", draft) in home


def test_a_signatory_cannot_ask_and_a_submitted_application_cannot_be_asked_for(signatory, editor, draft):
    assert client_for(signatory).post(url("application_ask_signatory", draft)).status_code == 403
    submitted = ApplicationFactory(submitted=True, municipality=editor.municipality)
    assert client_for(editor).post(url("application_ask_signatory", submitted)).status_code == 403


# --- tasks on the home page -----------------------------------------------------------------------------


def test_working_days_left_skip_weekends_and_holidays():
    # Friday 24 April 2026; Monday 27 April is King's Day.
    assert worklist.business_days_after(date(2026, 4, 24), date(2026, 4, 30)) == 3
    with translation.override("en"):
        assert worklist.time_left(date(2026, 4, 30), today=date(2026, 4, 24)) == "3 working days left"
        assert worklist.time_left(date(2026, 4, 23), today=date(2026, 4, 24)) == "expired"


def test_home_lists_information_requests_ready_drafts_and_requests_to_submit(signatory, editor):
    assessor = UserFactory(assessor=True)
    asked = ApplicationFactory(municipality=signatory.municipality, project_name="Gevraagd")
    services.ask_signatory(application=asked, user=editor)
    ready_tranche = _announced()
    ready = ApplicationFactory(municipality=signatory.municipality, tranche=ready_tranche, project_name="Klaar")
    submission.confirm_ready(application=ready, user=signatory, declaration="Ik verklaar.")
    requested = _received(ApplicationFactory(municipality=signatory.municipality, project_name="Aanvullen"), signatory)
    services.start_review(application=requested, user=assessor)
    moment = datetime(2026, 4, 24, 12, tzinfo=AMSTERDAM)
    services.request_information(application=requested, user=assessor, reason="Het raadsbesluit ontbreekt.", now=moment)
    with time_machine.travel(moment + timedelta(hours=1), tick=False):
        html = client_for(signatory).get(reverse("portal:home")).content.decode()
    for text in ("Answer the information request", "Het raadsbesluit ontbreekt.", "Ready to submit", "Asked to submit"):
        assert text in html
    # The term is the tranche's 14 calendar days: 8 May 2026, with two weekends and King's Day in it.
    assert "8 May 2026" in html and "9 working days left" in html


def test_staff_have_no_tasks(assessor):
    assert worklist.tasks_for(user=assessor) == []


# --- the reply to an information request ----------------------------------------------------------------


@pytest.fixture
def requested(signatory, application):
    received = _received(application, signatory)
    assessor = UserFactory(assessor=True)
    services.start_review(application=received, user=assessor)
    return services.request_information(application=received, user=assessor, reason="Stuur het raadsbesluit.")


def test_the_application_page_shows_the_request_with_a_reply_field(signatory, requested):
    html = client_for(signatory).get(url("application_detail", requested)).content.decode()
    assert "Stuur het raadsbesluit." in html
    assert 'name="reply"' in html and "Send the reply" in html


def test_the_reply_is_kept_with_the_request_and_the_application_resubmitted(signatory, requested):
    response = client_for(signatory).post(url("application_submit", requested), {"reply": "Bijgevoegd."})
    assert response.status_code == 302
    requested.refresh_from_db()
    assert requested.status == Status.RESUBMITTED
    information_request = requested.information_requests.get()
    assert information_request.reply == "Bijgevoegd." and information_request.answered_by == signatory


def test_the_editor_reads_the_request_and_can_ask_the_signatory_to_send_it(editor, signatory, requested):
    html = client_for(editor).get(url("application_detail", requested)).content.decode()
    assert "Stuur het raadsbesluit." in html and 'name="reply"' not in html
    assert "Ask the signatory to submit" in html


# --- the decision ---------------------------------------------------------------------------------------


def test_a_granted_application_shows_its_decision_and_letter_at_the_top():
    application = granted()
    signatory = UserFactory(signatory=True, municipality=application.municipality)
    html = client_for(signatory).get(url("application_detail", application)).content.decode()
    letter = reverse("decisions:letter_pdf", args=[application.decision.public_id])
    day = application.decision.decision_date
    assert f"Decision: granted on {day.day} {day:%B} {day.year}" in html
    assert letter in html
    assert html.index(letter) < html.index('id="details-heading"')


def test_an_undecided_application_shows_no_decision(signatory, application):
    assert client_for(signatory).get(url("application_detail", application)).context["decision"] is None


# --- landing ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("traits", "lands_on"),
    [
        ({"analyst": True}, "ministry:dashboard"),
        ({"assessor": True}, "admin:index"),
        ({"approver": True}, "admin:index"),
    ],
)
def test_staff_land_on_their_own_pages(traits, lands_on):
    response = client_for(UserFactory(**traits)).get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"] == reverse(lands_on)


def test_municipal_users_land_on_the_portal_home(editor):
    assert client_for(editor).get(reverse("portal:home")).status_code == 200
