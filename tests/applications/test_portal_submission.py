"""Submitting, resubmitting and withdrawing through the portal, including the deadline's edges."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from applications import services
from applications.models import Application, Status, StatusChange
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.portal import client_for, edit_data, line, url

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def draft(signatory):
    return ApplicationFactory(municipality=signatory.municipality)


def _submit(user, application, *, language="en"):
    return client_for(user, language=language).post(url("application_submit", application), {"declaration": "on"})


def _state(application):
    application.refresh_from_db()
    application.tranche.refresh_from_db()
    return (
        application.status,
        application.reference,
        application.received_at,
        application.tranche.last_receipt_number,
        application.status_changes.count(),
        list(application.unit_lines.values_list("units", "requested_amount")),
    )


def test_confirmation_page_offers_submit_to_signatory(signatory, draft):
    response = client_for(signatory).get(url("application_submit", draft))
    assert response.status_code == 200
    assert response.context["problems"] == []
    assert response.context["may_submit"] is True
    assert (
        '<button type="submit" class="utrecht-button utrecht-button--primary-action">Declare and submit</button>'
        in response.content.decode()
    )


def test_submit_shows_receipt_number_and_instant(signatory):
    tranche = TrancheFactory(
        opens_at=datetime(2026, 10, 1, 9, 0, tzinfo=AMSTERDAM), closes_at=datetime(2026, 12, 1, 17, 0, tzinfo=AMSTERDAM)
    )
    draft = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    instant = datetime(2026, 11, 2, 10, 15, tzinfo=AMSTERDAM)
    with time_machine.travel(instant, tick=False):
        response = client_for(signatory).post(url("application_submit", draft), {"declaration": "on"}, follow=True)
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED
    assert draft.reference == f"{draft.tranche.receipt_prefix}-0001"
    assert draft.received_at == instant
    html = response.content.decode()
    assert f"receipt number {draft.reference}, received at 2 November 2026 10:15" in html


def test_confirmation_page_lists_what_stands_in_the_way(signatory):
    application = ApplicationFactory(municipality=signatory.municipality, lines=[])
    response = client_for(signatory).get(url("application_submit", application))
    assert "Add at least one unit line." in response.context["problems"]
    assert response.context["can_be_sent"] is False
    assert '<form method="post">' not in response.content.decode()


def test_editor_sees_why_they_cannot_submit():
    editor = UserFactory()
    application = ApplicationFactory(municipality=editor.municipality)
    response = client_for(editor).get(url("application_submit", application))
    assert response.context["may_submit"] is False
    assert "Only a signatory of the municipality may submit an application." in response.content.decode()


def test_editor_post_is_refused_with_reason_in_the_layout():
    editor = UserFactory()
    application = ApplicationFactory(municipality=editor.municipality)
    before = _state(application)
    response = _submit(editor, application)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Only a signatory of the municipality may submit an application." in html
    assert 'class="utrecht-page-header thuisfonds-header"' in html
    assert _state(application) == before


def test_second_submit_gives_clear_error_and_changes_nothing(signatory, draft):
    assert _submit(signatory, draft).status_code == 302
    before = _state(draft)
    response = _submit(signatory, draft)
    assert response.status_code == 409
    assert f"This application has already been submitted ({draft.reference})." in response.context["problems"]
    assert _state(draft) == before


def test_submit_one_second_before_closing_is_accepted(signatory, draft):
    closing = draft.tranche.closes_at
    with time_machine.travel(closing - timedelta(seconds=1), tick=False):
        response = _submit(signatory, draft)
    draft.refresh_from_db()
    assert response.status_code == 302
    assert draft.status == Status.SUBMITTED
    assert draft.received_at == closing - timedelta(seconds=1)


def test_submit_one_second_after_closing_is_refused_naming_the_deadline_and_draft_kept(signatory, draft):
    before = _state(draft)
    closing = draft.tranche.closes_at
    with time_machine.travel(closing + timedelta(seconds=1), tick=False):
        response = _submit(signatory, draft, language="nl")
    assert response.status_code == 403
    [problem] = response.context["problems"]
    assert timezone.localtime(closing, AMSTERDAM).strftime("%H:%M") in problem
    assert _state(draft) == before


def test_submit_before_opening_is_refused_naming_the_opening(signatory):
    opens_at = datetime(2027, 3, 1, 9, 0, tzinfo=AMSTERDAM)
    tranche = TrancheFactory(opens_at=opens_at, closes_at=opens_at + timedelta(days=30))
    application = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    before = _state(application)
    with time_machine.travel(opens_at - timedelta(seconds=1), tick=False):
        response = _submit(signatory, application, language="nl")
    assert response.status_code == 403
    [problem] = response.context["problems"]
    assert "1 maart 2027 09:00" in problem
    assert _state(application) == before


class TestClosingAcrossDaylightSavingChange:
    """Summer time ends at 03:00 on 25 October 2026; the tranche closes that day at 17:00 winter time (16:00 UTC)."""

    CLOSING = datetime(2026, 10, 25, 17, 0, tzinfo=AMSTERDAM)

    @pytest.fixture
    def tranche(self):
        return TrancheFactory(opens_at=datetime(2026, 10, 1, 9, 0, tzinfo=AMSTERDAM), closes_at=self.CLOSING)

    @pytest.fixture
    def application(self, signatory, tranche):
        return ApplicationFactory(municipality=signatory.municipality, tranche=tranche)

    def test_closing_is_stored_as_16_utc(self, tranche):
        tranche.refresh_from_db()
        assert tranche.closes_at == datetime(2026, 10, 25, 16, 0, tzinfo=ZoneInfo("UTC"))

    def test_home_shows_17_00_local_and_real_hours_left_while_still_summer_time(self, signatory, tranche):
        day_before_in_summer_time = datetime(2026, 10, 24, 17, 0, tzinfo=AMSTERDAM)
        with time_machine.travel(day_before_in_summer_time, tick=False):
            html = client_for(signatory).get("/").content.decode()
        assert "25 October 2026 17:00" in html
        assert "1 day and 1 hour left" in html

    def test_home_says_time_left_in_dutch(self, signatory, tranche):
        with time_machine.travel(datetime(2026, 10, 22, 13, 0, tzinfo=AMSTERDAM), tick=False):
            html = client_for(signatory, language="nl").get("/").content.decode()
        assert "25 oktober 2026 17:00" in html
        assert "nog 3 dagen en 5 uur" in html

    def test_submit_at_16_59_59_local_is_accepted(self, signatory, application):
        with time_machine.travel(datetime(2026, 10, 25, 16, 59, 59, tzinfo=AMSTERDAM), tick=False):
            response = _submit(signatory, application)
        application.refresh_from_db()
        assert response.status_code == 302
        assert application.status == Status.SUBMITTED

    def test_submit_at_17_00_00_local_is_refused_with_local_deadline(self, signatory, application):
        with time_machine.travel(self.CLOSING, tick=False):
            response = _submit(signatory, application, language="nl")
        application.refresh_from_db()
        assert application.status == Status.DRAFT
        assert "25 oktober 2026 17:00" in response.context["problems"][0]

    def test_submit_at_17_00_01_local_is_refused(self, signatory, application):
        with time_machine.travel(self.CLOSING + timedelta(seconds=1), tick=False):
            response = _submit(signatory, application)
        application.refresh_from_db()
        assert response.status_code == 403
        assert application.status == Status.DRAFT


@pytest.fixture
def information_requested(signatory, draft):
    assessor = UserFactory(assessor=True)
    services.submit_application(application=draft, user=signatory)
    services.start_review(application=draft, user=assessor)
    services.request_information(application=draft, user=assessor, reason="Het raadsbesluit ontbreekt.")
    draft.refresh_from_db()
    return draft


def test_requested_information_is_shown_and_the_application_can_be_edited(signatory, information_requested):
    client = client_for(signatory)
    detail = client.get(url("application_detail", information_requested)).content.decode()
    edit = client.post(
        url("application_edit", information_requested),
        edit_data(information_requested, [line(information_requested, units="12")]),
    )
    assert "Het raadsbesluit ontbreekt." in detail
    assert edit.status_code == 302
    assert information_requested.unit_lines.get().units == 12


def test_resubmit_sends_back_and_stamps_completion(signatory, information_requested):
    received_at = information_requested.received_at
    response = _submit(signatory, information_requested)
    information_requested.refresh_from_db()
    assert response.status_code == 302
    assert information_requested.status == Status.RESUBMITTED
    assert information_requested.received_at == received_at
    assert information_requested.completed_at > received_at


def test_resubmit_with_incomplete_content_is_refused(signatory, information_requested):
    information_requested.unit_lines.all().delete()
    response = _submit(signatory, information_requested)
    information_requested.refresh_from_db()
    assert response.status_code == 200
    assert "Add at least one unit line." in response.context["problems"]
    assert information_requested.status == Status.INFORMATION_REQUESTED


def test_signatory_withdraws_with_reason(signatory):
    application = ApplicationFactory(municipality=signatory.municipality, submitted=True)
    response = client_for(signatory).post(
        url("application_withdraw", application), {"reason": "Project gaat niet door."}
    )
    application.refresh_from_db()
    assert response.status_code == 302
    assert application.status == Status.WITHDRAWN
    change = application.status_changes.latest("id")
    assert (change.to_status, change.actor, change.reason) == (Status.WITHDRAWN, signatory, "Project gaat niet door.")


def test_withdraw_without_reason_gives_error_on_the_field(signatory):
    application = ApplicationFactory(municipality=signatory.municipality, submitted=True)
    response = client_for(signatory).post(url("application_withdraw", application), {"reason": "  "})
    application.refresh_from_db()
    assert "reason" in response.context["form"].errors
    assert application.status == Status.SUBMITTED


def test_editor_cannot_withdraw():
    editor = UserFactory()
    application = ApplicationFactory(municipality=editor.municipality, submitted=True)
    response = client_for(editor).post(url("application_withdraw", application), {"reason": "Weg ermee"})
    application.refresh_from_db()
    assert response.status_code == 403
    assert application.status == Status.SUBMITTED


@pytest.mark.parametrize("status", [Status.DRAFT, Status.GRANTED, Status.WITHDRAWN])
def test_withdraw_is_refused_for_drafts_and_after_a_decision(signatory, status):
    application = ApplicationFactory(municipality=signatory.municipality, submitted=True)
    Application.objects.filter(pk=application.pk).update(status=status)
    response = client_for(signatory).post(url("application_withdraw", application), {"reason": "Weg ermee"})
    application.refresh_from_db()
    assert response.status_code == 403
    assert application.status == status


def test_detail_shows_the_status_history(signatory, information_requested):
    html = client_for(signatory).get(url("application_detail", information_requested)).content.decode()
    changes = list(StatusChange.objects.filter(application=information_requested).order_by("at", "id"))
    assert [change.to_status for change in changes] == [
        Status.DRAFT,
        Status.SUBMITTED,
        Status.IN_REVIEW,
        Status.INFORMATION_REQUESTED,
    ]
    for label in ("submitted", "in review", "information requested"):
        assert f'<td class="utrecht-table__cell">{label}</td>' in html
    assert signatory.username in html
