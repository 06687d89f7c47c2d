"""Opening day: the ready state, the short submission at the opening, its receipt instant and its status codes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import OperationalError
from django.test import override_settings
from django.urls import reverse

from accounts.models import AuditAction, AuditEntry
from applications import receipts, services, submission
from applications.middleware import parse_request_start
from applications.models import Status, StatusChange
from grants.models import AmendmentKind, Tranche, TrancheAmendment
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.files import PDF_MIME, pdf_bytes, upload
from tests.portal import client_for, edit_data, line, url

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
OPENING = datetime(2027, 3, 1, 9, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def signatory():
    return UserFactory(signatory=True)


@pytest.fixture
def tranche():
    return TrancheFactory(opens_at=OPENING, closes_at=OPENING + timedelta(days=30))


@pytest.fixture
def draft(signatory, tranche):
    return ApplicationFactory(municipality=signatory.municipality, tranche=tranche)


def _confirm(user, application, *, at=OPENING - timedelta(hours=1)):
    with time_machine.travel(at, tick=False):
        return client_for(user).post(url("application_ready", application), {"declaration": "on"})


@pytest.fixture
def ready(signatory, draft):
    assert _confirm(signatory, draft).status_code == 302
    draft.refresh_from_db()
    return draft


def _submit(user, application, *, key=None, at=OPENING + timedelta(seconds=1), **headers):
    key = application.ready_hash if key is None else key
    with time_machine.travel(at, tick=False):
        return client_for(user).post(url("application_submit", application), {"key": key}, **headers)


def _counts(application):
    application.refresh_from_db()
    tranche = Tranche.objects.get(pk=application.tranche_id)
    submitted = StatusChange.objects.filter(application=application, to_status=Status.SUBMITTED).count()
    return application.status, application.reference, application.received_at, tranche.last_receipt_number, submitted


# --- the ready state ------------------------------------------------------------------------------------


def test_signatory_confirms_the_content_as_ready_before_the_opening(signatory, draft):
    response = _confirm(signatory, draft)
    draft.refresh_from_db()
    assert response.status_code == 302
    assert len(draft.ready_hash) == 64 and len(draft.ready_rules) == 64
    assert (draft.ready_by, draft.ready_at, draft.status) == (signatory, OPENING - timedelta(hours=1), Status.DRAFT)
    audit = AuditEntry.objects.get(action=AuditAction.CONFIRMATION, object_id=str(draft.pk))
    assert audit.actor == signatory and draft.ready_hash in audit.detail


def test_confirming_an_incomplete_draft_is_refused_with_422_and_the_reason(signatory, tranche):
    application = ApplicationFactory(municipality=signatory.municipality, tranche=tranche, lines=[])
    response = _confirm(signatory, application)
    application.refresh_from_db()
    assert response.status_code == 422
    assert "Add at least one unit line." in response.context["problems"]
    assert application.ready_hash == ""


def test_an_editor_cannot_confirm_the_content_as_ready(tranche):
    editor = UserFactory()
    application = ApplicationFactory(municipality=editor.municipality, tranche=tranche)
    assert _confirm(editor, application).status_code == 403
    application.refresh_from_db()
    assert application.ready_hash == ""


def test_confirming_after_the_closing_is_refused_with_403(signatory, draft, tranche):
    response = _confirm(signatory, draft, at=tranche.closes_at + timedelta(seconds=1))
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.ready_hash == ""


def test_the_hash_depends_on_the_content_and_not_on_the_moment(signatory, draft):
    first = submission.confirm_ready(application=draft, user=signatory, now=OPENING - timedelta(days=2)).ready_hash
    again = submission.confirm_ready(application=draft, user=signatory, now=OPENING - timedelta(days=1)).ready_hash
    draft.unit_lines.update(units=11)
    changed = submission.confirm_ready(application=draft, user=signatory, now=OPENING - timedelta(days=1)).ready_hash
    assert first == again != changed


def _edit_fields(user, application):
    services.update_application(application=application, user=user, project_name="Nieuwe naam")


def _edit_lines(user, application):
    response = client_for(user).post(
        url("application_edit", application), edit_data(application, [line(application, units="12")])
    )
    assert response.status_code == 302


def _add_attachment(user, application):
    services.add_attachment(
        application=application, user=user, kind="project_plan", uploaded_file=upload("plan.pdf", pdf_bytes(), PDF_MIME)
    )


def _delete_attachment(user, application):
    _add_attachment(user, application)
    submission.confirm_ready(application=application, user=user, now=OPENING - timedelta(hours=1))
    services.delete_attachment(attachment=application.attachments.get(), user=user)


@pytest.mark.parametrize("edit", [_edit_fields, _edit_lines, _add_attachment, _delete_attachment])
def test_every_edit_after_the_confirmation_clears_it(signatory, ready, edit):
    edit(signatory, ready)
    ready.refresh_from_db()
    assert (ready.ready_hash, ready.ready_rules, ready.ready_at, ready.ready_by) == ("", "", None, None)


def test_a_submission_with_the_key_of_content_since_changed_is_refused_with_409(signatory, ready):
    key = ready.ready_hash
    _edit_fields(signatory, ready)
    before = _counts(ready)
    response = _submit(signatory, ready, key=key)
    assert response.status_code == 409
    assert "confirm it again" in response.content.decode()
    assert _counts(ready) == before


def test_a_change_of_the_tranches_rules_after_the_confirmation_voids_it(signatory, ready, tranche):
    Tranche.objects.filter(pk=tranche.pk).update(max_per_permanent_unit=Decimal("6000.00"))
    response = _submit(signatory, ready)
    assert response.status_code == 409
    assert _counts(ready)[0] == Status.DRAFT


# --- the submission at the opening ----------------------------------------------------------------------


def test_the_submit_page_before_the_opening_counts_down_with_the_button_hidden(signatory, ready):
    with time_machine.travel(OPENING - timedelta(hours=2, minutes=3, seconds=4), tick=False):
        response = client_for(signatory).get(url("application_submit", ready))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<span role="timer" data-opening-countdown>2:03:04</span>' in html
    assert f'<input type="hidden" name="key" value="{ready.ready_hash}">' in html
    assert "hidden data-opening-reveal>Submit</button>" in html
    assert 'src="/static/js/opening.js"' in html
    assert 'data-server-time-url="/server-time/"' in html


def test_the_submit_page_after_the_opening_shows_the_button(signatory, ready):
    with time_machine.travel(OPENING, tick=False):
        html = client_for(signatory).get(url("application_submit", ready)).content.decode()
    assert '<button type="submit" class="utrecht-button utrecht-button--primary-action">Submit</button>' in html
    assert "data-opening-countdown" not in html and "opening.js" not in html


def test_a_ready_submission_at_the_opening_is_received_at_its_arrival(signatory, ready):
    response = _submit(signatory, ready, at=OPENING + timedelta(milliseconds=42))
    ready.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == url("application_received", ready)
    assert (ready.status, ready.reference) == (Status.SUBMITTED, f"{ready.tranche.receipt_prefix}-0001")
    assert ready.received_at == ready.completed_at == ready.ranks_at == OPENING + timedelta(milliseconds=42)
    change = ready.status_changes.get(to_status=Status.SUBMITTED)
    assert (change.from_status, change.actor, change.at) == (Status.DRAFT, signatory, ready.received_at)


def test_the_receipt_message_gives_the_instant_to_the_millisecond(signatory, ready):
    with time_machine.travel(OPENING + timedelta(milliseconds=42), tick=False):
        response = client_for(signatory, language="nl").post(
            url("application_submit", ready), {"key": ready.ready_hash}, follow=True
        )
    assert "ontvangen op 1 maart 2027 09:00:00,042" in response.content.decode()


def test_a_submission_that_arrives_before_the_opening_is_refused_with_403(signatory, ready):
    before = _counts(ready)
    with time_machine.travel(OPENING - timedelta(milliseconds=2), tick=False):
        response = client_for(signatory, language="nl").post(
            url("application_submit", ready), {"key": ready.ready_hash}
        )
    assert response.status_code == 403
    assert "1 maart 2027 09:00" in response.content.decode()
    assert "08:59:59,998" in response.content.decode()
    assert _counts(ready) == before


def test_a_submission_that_arrives_at_the_closing_is_refused_with_403(signatory, ready, tranche):
    before = _counts(ready)
    assert _submit(signatory, ready, at=tranche.closes_at).status_code == 403
    assert _counts(ready) == before


def test_an_extended_closing_in_force_at_arrival_lets_the_submission_in(signatory, ready, tranche):
    TrancheAmendment.objects.create(
        tranche=tranche,
        kind=AmendmentKind.CLOSING,
        publication_reference="Stcrt. 2027, 1",
        effective_at=OPENING + timedelta(days=1),
        old_closes_at=tranche.closes_at,
        new_closes_at=tranche.closes_at + timedelta(days=7),
    )
    assert _submit(signatory, ready, at=tranche.closes_at + timedelta(days=1)).status_code == 302


def test_a_second_submission_without_the_key_is_refused_with_409_naming_number_and_instant(signatory, ready):
    assert _submit(signatory, ready).status_code == 302
    before = _counts(ready)
    with time_machine.travel(OPENING + timedelta(seconds=5), tick=False):
        response = client_for(signatory).post(url("application_submit", ready))
    html = response.content.decode()
    assert response.status_code == 409
    assert f"This application has already been submitted ({ready.reference})." in html
    assert "It was received at 1 March 2027 09:00:01.000" in html
    assert _counts(ready) == before


def test_a_repeated_submission_with_the_same_key_returns_the_original_receipt(signatory, ready):
    first = _submit(signatory, ready)
    original = _counts(ready)
    with time_machine.travel(OPENING + timedelta(seconds=30), tick=False):
        response = client_for(signatory).post(url("application_submit", ready), {"key": ready.ready_hash}, follow=True)
    assert first.status_code == 302 and response.redirect_chain[0][1] == 302
    assert _counts(ready) == original
    assert f"receipt number {ready.reference}, received at 1 March 2027 09:00:01.000" in response.content.decode()


def test_an_editor_cannot_submit_a_ready_application(signatory, ready):
    editor = UserFactory(municipality=signatory.municipality)
    before = _counts(ready)
    assert _submit(editor, ready).status_code == 403
    assert _counts(ready) == before


def test_another_municipality_gets_404(ready):
    stranger = UserFactory(signatory=True, municipality__code="GM0363")
    assert _submit(stranger, ready).status_code == 404


@pytest.mark.postgres
def test_the_submission_is_four_queries_and_the_tranche_lock_is_taken_in_the_last(
    signatory, ready, django_assert_num_queries
):
    with time_machine.travel(OPENING, tick=False):
        client = client_for(signatory)
        client.get(url("application_submit", ready))  # the page before: the session has just been written
    with time_machine.travel(OPENING + timedelta(seconds=1), tick=False), django_assert_num_queries(4) as captured:
        response = client.post(url("application_submit", ready), {"key": ready.ready_hash})
    assert response.status_code == 302
    session, user, application, receipt = (query["sql"] for query in captured.captured_queries)
    assert "django_session" in session and "accounts_user" in user
    # The checks read without locking anything; the one statement after them locks, numbers, receives and records.
    assert 'FROM "applications_application"' in application and "FOR UPDATE" not in application
    assert receipt.lstrip().startswith("WITH draft AS")
    for step in (
        "UPDATE grants_tranche",
        "INSERT INTO applications_receiptclock",
        "INSERT INTO applications_statuschange",
    ):
        assert step in receipt


# --- the receipt instant --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("t=1803801600.123", 1803801600.123),
        ("t=1803801600123", 1803801600.123),
        ("t=1803801600123456", 1803801600.123456),
        ("1803801600.5", 1803801600.5),
        ("t=soon", None),
        ("t=-5", None),
        ("", None),
    ],
)
def test_request_start_is_read_in_seconds_milliseconds_or_microseconds(header, seconds):
    parsed = parse_request_start(header)
    assert parsed == pytest.approx(seconds) if seconds is not None else parsed is None


@override_settings(REQUEST_START_PROXIES=["127.0.0.1"])
def test_behind_the_proxy_the_receipt_instant_is_when_the_request_reached_it(signatory, ready):
    reached_proxy = OPENING + timedelta(milliseconds=7)
    response = _submit(
        signatory,
        ready,
        at=OPENING + timedelta(seconds=4),
        HTTP_X_REQUEST_START=f"t={reached_proxy.timestamp():.3f}",
    )
    ready.refresh_from_db()
    assert response.status_code == 302
    assert ready.received_at == reached_proxy


@override_settings(REQUEST_START_PROXIES=["10.0.0.5"])
def test_a_request_start_header_from_another_address_is_ignored(signatory, ready):
    arrived = OPENING + timedelta(seconds=4)
    _submit(signatory, ready, at=arrived, HTTP_X_REQUEST_START=f"t={(OPENING - timedelta(hours=1)).timestamp()}")
    ready.refresh_from_db()
    assert ready.received_at == arrived


@override_settings(REQUEST_START_PROXIES=["127.0.0.0/8"])
def test_a_proxy_instant_in_the_future_of_the_servers_clock_counts_as_now(signatory, ready):
    arrived = OPENING + timedelta(seconds=4)
    _submit(signatory, ready, at=arrived, HTTP_X_REQUEST_START=f"t={(arrived + timedelta(minutes=5)).timestamp()}")
    ready.refresh_from_db()
    assert ready.received_at == arrived


def test_an_application_overtaken_at_the_lock_is_received_at_the_instant_of_the_one_before_it(signatory, tranche):
    earlier, later = (ApplicationFactory(municipality=signatory.municipality, tranche=tranche) for _ in range(2))
    for application in (earlier, later):
        submission.confirm_ready(application=application, user=signatory, now=OPENING - timedelta(hours=1))
    # `later` arrived 3 ms after `earlier` but reached the tranche's lock first.
    for application, arrived in ((later, OPENING + timedelta(milliseconds=3)), (earlier, OPENING)):
        application.refresh_from_db()
        submission.submit_ready(
            user=signatory, public_id=application.public_id, key=application.ready_hash, arrived_at=arrived
        )
    earlier.refresh_from_db()
    later.refresh_from_db()
    assert (later.receipt_sequence, later.received_at) == (1, OPENING + timedelta(milliseconds=3))
    assert (earlier.receipt_sequence, earlier.received_at) == (2, OPENING + timedelta(milliseconds=3))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lost", ["before the commit", "after the commit"])
def test_a_connection_lost_during_the_submission_costs_nothing(signatory, ready, monkeypatch, lost):
    issue = receipts.issue
    calls = []

    def connection_lost(application, **kwargs):
        calls.append(application.pk)
        if len(calls) == 1:
            if lost == "after the commit":
                issue(application, **kwargs)
            raise OperationalError("server closed the connection unexpectedly")
        return issue(application, **kwargs)

    monkeypatch.setattr(receipts, "issue", connection_lost)
    response = _submit(signatory, ready, at=OPENING + timedelta(milliseconds=250))
    status, reference, received_at, last_number, submitted = _counts(ready)
    assert response.status_code == 302
    assert (status, reference, last_number, submitted) == (
        Status.SUBMITTED,
        f"{ready.tranche.receipt_prefix}-0001",
        1,
        1,
    )
    assert received_at == OPENING + timedelta(milliseconds=250)


def test_a_draft_that_was_not_confirmed_is_still_submitted_after_a_full_check(signatory, draft):
    with time_machine.travel(OPENING + timedelta(minutes=5), tick=False):
        response = client_for(signatory).post(url("application_submit", draft), {"declaration": "on"})
    draft.refresh_from_db()
    assert response.status_code == 302
    assert draft.status == Status.SUBMITTED
    assert len(draft.ready_hash) == 64 and draft.ready_by == signatory


def test_an_incomplete_draft_submitted_without_confirmation_is_refused_with_422(signatory, tranche):
    application = ApplicationFactory(municipality=signatory.municipality, tranche=tranche, lines=[])
    with time_machine.travel(OPENING + timedelta(minutes=5), tick=False):
        response = client_for(signatory).post(url("application_submit", application), {"declaration": "on"})
    assert response.status_code == 422
    assert "Add at least one unit line." in response.context["problems"]


UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": UNREACHABLE_REDIS}},
)
def test_a_submission_needs_no_redis(signatory, ready):
    from config.celery import app as celery_app

    # Read outside any settings override, so that what is put back is the broker of the other tests.
    eager, broker = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    celery_app.conf.task_always_eager, celery_app.conf.broker_url = False, UNREACHABLE_REDIS
    try:
        response = _submit(signatory, ready)
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = eager, broker
        # Connections pooled to the unreachable broker must not outlive this test.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
    assert response.status_code == 302
    assert _counts(ready)[0] == Status.SUBMITTED


# --- the tranche page, the home page and the server's clock ---------------------------------------------


def test_the_tranche_page_before_the_opening_counts_down_and_hides_the_submit_buttons(signatory, ready, tranche):
    other = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    with time_machine.travel(OPENING - timedelta(seconds=90), tick=False):
        response = client_for(signatory).get(reverse("portal:tranche_detail", args=[tranche.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-opening-countdown>0:01:30</span>" in html
    assert f'<input type="hidden" name="key" value="{ready.ready_hash}">' in html
    assert html.count("data-opening-reveal") == 1
    assert "Check and confirm" in html and other.project_name in html


def test_the_tranche_page_shows_each_receipt_to_the_millisecond(signatory, ready, tranche):
    _submit(signatory, ready, at=OPENING + timedelta(milliseconds=5))
    with time_machine.travel(OPENING + timedelta(minutes=1), tick=False):
        html = client_for(signatory).get(reverse("portal:tranche_detail", args=[tranche.slug])).content.decode()
    assert f"{ready.tranche.receipt_prefix}-0001" in html
    assert "1 March 2027 09:00:00.005" in html
    assert "data-opening" not in html


def test_the_tranche_page_costs_a_fixed_number_of_queries(signatory, tranche, django_assert_num_queries):
    for _ in range(3):
        ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    client = client_for(signatory)
    client.get(reverse("portal:tranche_detail", args=[tranche.slug]))
    # Session, user, the municipality for the header, the tranche and its amendments, the applications with
    # their totals, and the unread notifications.
    with django_assert_num_queries(7):
        client.get(reverse("portal:tranche_detail", args=[tranche.slug]))


def test_home_lists_the_tranches_opening_soon(signatory, tranche):
    with time_machine.travel(OPENING - timedelta(days=3), tick=False):
        html = client_for(signatory).get("/").content.decode()
    assert reverse("portal:tranche_detail", args=[tranche.slug]) in html
    assert "opens at 1 March 2027 09:00" in html


def test_a_draft_can_be_started_before_the_opening(signatory, tranche):
    with time_machine.travel(OPENING - timedelta(days=3), tick=False):
        response = client_for(signatory).get(reverse("portal:application_create", args=[tranche.slug]))
    assert response.status_code == 200


def test_the_server_time_is_json_that_no_cache_keeps():
    with time_machine.travel(OPENING, tick=False):
        response = client_for(UserFactory()).get(reverse("portal:server_time"))
    assert response.json() == {"now": OPENING.astimezone(UTC).isoformat(), "epoch_ms": int(OPENING.timestamp() * 1000)}
    assert "no-store" in response["Cache-Control"]
