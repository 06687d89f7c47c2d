"""What applications.submission says and records, to the letter: receipts, refusals and the ready state
(docs/testing.md, "Mutation testing")."""

import hashlib
import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError, connection
from django.utils import timezone, translation

from accounts.models import AuditAction, AuditEntry
from applications import receipts, submission
from applications.models import Application, Status
from applications.submission import format_receipt_instant
from grants.models import AmendmentKind, TrancheAmendment
from tests.factories import ApplicationFactory, TrancheFactory, UnitLineFactory, UserFactory


@pytest.mark.parametrize(
    ("language", "instant", "expected"),
    [
        ("nl", datetime(2026, 10, 1, 7, 0, 0, 42_000, tzinfo=UTC), "1 oktober 2026 09:00:00,042"),
        ("en", datetime(2026, 10, 1, 7, 0, 0, 42_999, tzinfo=UTC), "1 October 2026 09:00:00.042"),
        ("nl", datetime(2026, 1, 5, 23, 59, 59, 999_999, tzinfo=UTC), "6 januari 2026 00:59:59,999"),
        ("nl", datetime(2026, 3, 1, 8, 0, 0, 1_000, tzinfo=UTC), "1 maart 2026 09:00:00,001"),
    ],
)
def test_a_receipt_instant_reads_to_the_millisecond_in_amsterdam_time(language, instant, expected):
    with translation.override(language):
        assert format_receipt_instant(instant) == expected


# --- the ready state and the submission, at the service ---------------------------------------------------

OPENING = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam


@pytest.fixture
def signatory():
    return UserFactory(signatory=True)


@pytest.fixture
def tranche():
    return TrancheFactory(opens_at=OPENING, closes_at=OPENING + timedelta(days=30))


@pytest.fixture
def draft(signatory, tranche):
    return ApplicationFactory(municipality=signatory.municipality, tranche=tranche)


@pytest.fixture
def ready(signatory, draft):
    return submission.confirm_ready(application=draft, user=signatory, now=OPENING - timedelta(hours=1))


def _submit(user, application, *, key=None, at=OPENING + timedelta(seconds=1)):
    return submission.submit_ready(
        user=user,
        public_id=application.public_id,
        key=application.ready_hash if key is None else key,
        arrived_at=at,
    )


def _logged(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "applications.submission"]


def _refusal(call) -> submission.Refusal:
    with translation.override("en"), pytest.raises(submission.Refusal) as refused:
        call()
    return refused.value


@pytest.mark.django_db
def test_confirming_freezes_the_content_under_the_tranches_rules(signatory, draft, caplog, django_assert_num_queries):
    caplog.set_level(logging.INFO, logger="applications.submission")
    # The tranche is read with the locked application, not again after it.
    with django_assert_num_queries(13):
        confirmed = submission.confirm_ready(application=draft, user=signatory, now=OPENING - timedelta(hours=1))
    stored = Application.objects.get(pk=draft.pk)
    rules = submission.rules_hash(draft.tranche)
    assert stored.ready_hash == confirmed.ready_hash == submission.content_hash(stored, rules=rules)
    assert (stored.ready_rules, stored.ready_at, stored.ready_by) == (rules, OPENING - timedelta(hours=1), signatory)
    # No declaration given, none recorded.
    assert (stored.declaration, stored.declared_at) == ("", None)
    entry = AuditEntry.objects.get(action=AuditAction.CONFIRMATION)
    assert entry.detail == f"ready to submit: {stored.ready_hash}"
    assert _logged(caplog) == [f"application {draft.public_id} confirmed as ready by {signatory}: {stored.ready_hash}"]


@pytest.mark.django_db
def test_a_declaration_made_with_the_confirmation_is_kept_with_it(signatory, draft):
    declared = "Ik verklaar dat deze aanvraag naar waarheid is ingevuld."
    submission.confirm_ready(application=draft, user=signatory, now=OPENING - timedelta(hours=1), declaration=declared)
    stored = Application.objects.get(pk=draft.pk)
    assert (stored.declaration, stored.declared_at) == (declared, OPENING - timedelta(hours=1))
    entry = AuditEntry.objects.get(action=AuditAction.CONFIRMATION)
    assert entry.detail == f"ready to submit: {stored.ready_hash}; declaration accepted: {declared}"


@pytest.mark.django_db
def test_confirming_a_received_application_or_after_the_closing_is_refused_with_the_reason(signatory, ready, tranche):
    receipt = _submit(signatory, ready)
    refused = _refusal(lambda: submission.confirm_ready(application=ready, user=signatory, now=OPENING))
    assert refused.reason == submission.RefusalReason.ALREADY_SUBMITTED
    assert refused.messages == [
        f"This application has already been submitted ({receipt.application.reference}).",
        f"It was received at 1 March 2027 09:00:01.000 with receipt number {receipt.application.reference}.",
    ]
    late = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    refused = _refusal(lambda: submission.confirm_ready(application=late, user=signatory, now=tranche.closes_at))
    assert refused.reason == submission.RefusalReason.CLOSED
    assert refused.messages == [
        "The deadline of this tranche was 31 March 2027 10:00; applications can no longer be submitted."
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arrival", "reason", "messages"),
    [
        (
            OPENING - timedelta(milliseconds=2),
            submission.RefusalReason.NOT_OPEN,
            [
                "This tranche opens at 1 March 2027 09:00; you cannot submit before then.",
                "Your submission arrived at 1 March 2027 08:59:59.998.",
            ],
        ),
        (
            OPENING + timedelta(days=30),
            submission.RefusalReason.CLOSED,
            [
                "The deadline of this tranche was 31 March 2027 10:00; applications can no longer be submitted.",
                "Your submission arrived at 31 March 2027 10:00:00.000.",
            ],
        ),
    ],
)
def test_a_submission_at_the_wrong_moment_says_when_it_arrived_to_the_letter(
    signatory, ready, arrival, reason, messages
):
    refused = _refusal(lambda: _submit(signatory, ready, at=arrival))
    assert (refused.reason, refused.messages) == (reason, messages)
    assert Application.objects.get(pk=ready.pk).status == Status.DRAFT


@pytest.mark.django_db
def test_the_first_receipt_is_no_repeat_and_a_repeat_with_the_key_is_one(signatory, ready):
    first = _submit(signatory, ready)
    again = _submit(signatory, ready, at=OPENING + timedelta(seconds=9))
    assert (first.repeated, again.repeated) == (False, True)
    assert (again.application.reference, again.application.received_at) == (
        first.application.reference,
        OPENING + timedelta(seconds=1),
    )


@pytest.mark.django_db
def test_a_received_application_submitted_again_with_another_key_is_refused(signatory, ready):
    first = _submit(signatory, ready)
    refused = _refusal(lambda: _submit(signatory, ready, key="0" * 64, at=OPENING + timedelta(seconds=9)))
    assert refused.reason == submission.RefusalReason.ALREADY_SUBMITTED
    assert refused.messages[0] == f"This application has already been submitted ({first.application.reference})."


@pytest.mark.django_db
def test_a_ready_draft_submitted_with_a_key_that_is_not_its_hash_is_refused(signatory, ready):
    refused = _refusal(lambda: _submit(signatory, ready, key="0" * 64))
    assert (refused.reason, refused.messages) == (submission.RefusalReason.CHANGED, [submission.CHANGED_MESSAGE])
    assert Application.objects.get(pk=ready.pk).status == Status.DRAFT


@pytest.mark.django_db
def test_a_draft_received_by_another_request_between_the_check_and_the_receipt_returns_that_receipt(
    signatory, ready, monkeypatch
):
    issue = receipts.issue

    def other_request_first(application, **kwargs):
        issue(application, user=signatory, arrived_at=OPENING + timedelta(milliseconds=5))
        return issue(application, **kwargs)

    monkeypatch.setattr(receipts, "issue", other_request_first)
    receipt = _submit(signatory, ready, at=OPENING + timedelta(milliseconds=7))
    assert receipt.repeated is True
    assert (receipt.application.pk, receipt.application.status) == (ready.pk, Status.SUBMITTED)
    assert receipt.application.received_at == OPENING + timedelta(milliseconds=5)


@pytest.mark.django_db
def test_a_draft_changed_between_the_check_and_the_receipt_is_refused_as_changed(signatory, ready, monkeypatch):
    issue = receipts.issue

    def changed_first(application, **kwargs):
        submission.clear_ready(Application.objects.get(pk=application.pk))
        return issue(application, **kwargs)

    monkeypatch.setattr(receipts, "issue", changed_first)
    refused = _refusal(lambda: _submit(signatory, ready))
    assert (refused.reason, refused.messages) == (submission.RefusalReason.CHANGED, [submission.CHANGED_MESSAGE])
    assert Application.objects.get(pk=ready.pk).status == Status.DRAFT


@pytest.mark.django_db
def test_a_draft_received_meanwhile_under_another_key_is_refused_as_submitted(signatory, ready, monkeypatch):
    issue = receipts.issue

    def received_first(application, **kwargs):
        issue(application, user=signatory, arrived_at=OPENING)
        Application.objects.filter(pk=application.pk).update(ready_hash="1" * 64)
        return issue(application, **kwargs)

    monkeypatch.setattr(receipts, "issue", received_first)
    refused = _refusal(lambda: _submit(signatory, ready))
    assert refused.reason == submission.RefusalReason.ALREADY_SUBMITTED


@pytest.mark.django_db(transaction=True)
def test_a_lost_connection_is_logged_with_the_application_before_submitting_again(
    signatory, ready, monkeypatch, caplog
):
    issue = receipts.issue
    calls = []

    def lost_once(application, **kwargs):
        calls.append(application.pk)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return issue(application, **kwargs)

    monkeypatch.setattr(receipts, "issue", lost_once)
    caplog.set_level(logging.WARNING, logger="applications.submission")
    receipt = _submit(signatory, ready)
    assert (receipt.repeated, len(calls)) == (False, 2)
    assert _logged(caplog) == [
        f"application {ready.public_id}: database connection lost during submission, submitting again"
    ]


# --- the ready hash: its recipe is part of every confirmation -----------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.django_db
def test_the_ready_hash_is_the_sha256_of_the_content_written_out_as_documented():
    """A release that changed the recipe would void every confirmation made before it, so it is pinned here:
    sorted keys, no spaces, amounts to the cent, dates in ISO."""
    tranche = TrancheFactory(
        max_per_permanent_unit=Decimal("7000.00"),
        max_per_flexible_unit=Decimal("6500.50"),
        max_per_short_stay_unit=Decimal("3000.00"),
        max_per_municipality=Decimal("2000000.00"),
        min_units_per_application=5,
        required_attachments=["project_plan", "budget"],
    )
    application = ApplicationFactory(
        tranche=tranche,
        public_id=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        project_name="Tiny houses Zuilen",
        location="Zuilen, Utrecht",
        description="Tien woningen voor dak- en thuislozen",
        planned_start=date(2027, 9, 1),
        planned_completion=date(2028, 6, 30),
        lines=[],
    )
    line = UnitLineFactory(
        application=application,
        permanence="flexible",
        units=10,
        requested_amount=Decimal("65005.00"),
        planned_monthly_rent=Decimal("650.5"),
    )
    rules = submission.rules_hash(tranche)
    assert rules == _sha256('["7000.00","6500.50","3000.00","2000000.00",5,["budget","project_plan"]]')
    written_line = (
        f'[{line.target_group_id},{line.housing_type_id},"flexible",true,false,"{line.construction}",10,'
        '"65005.00","650.50"]'
    ).replace('"', '\\"')
    assert submission.content_hash(application, rules=rules) == _sha256(
        '{"application":"12345678-1234-5678-1234-567812345678","attachments":[],'
        '"description":"Tien woningen voor dak- en thuislozen",'
        f'"lines":["{written_line}"],"location":"Zuilen, Utrecht","planned_completion":"2028-06-30",'
        f'"planned_start":"2027-09-01","project_name":"Tiny houses Zuilen","rules":"{rules}",'
        f'"tranche":{tranche.pk},"window":{application.window_id}}}'
    )


@pytest.mark.django_db
def test_the_ready_hash_without_planned_dates_or_rent_writes_null(signatory, tranche):
    application = ApplicationFactory(
        tranche=tranche, project_name="P", location="L", description="", planned_start=None, lines=[]
    )
    line = UnitLineFactory(application=application, units=6, requested_amount=Decimal("42000"))
    written_line = (
        f'[{line.target_group_id},{line.housing_type_id},"permanent",true,false,"{line.construction}",6,'
        '"42000.00",null]'
    ).replace('"', '\\"')
    assert submission.content_hash(application, rules="r") == _sha256(
        f'{{"application":"{application.public_id}","attachments":[],"description":"",'
        f'"lines":["{written_line}"],"location":"L","planned_completion":null,"planned_start":null,'
        f'"project_name":"P","rules":"r","tranche":{tranche.pk},"window":{application.window_id}}}'
    )


# --- clearing the ready state, and the full check of an unconfirmed draft -----------------------------------


@pytest.mark.django_db
def test_an_edit_clears_only_its_own_ready_draft_and_never_a_received_applications_key(
    signatory, tranche, ready, caplog
):
    other = submission.confirm_ready(
        application=ApplicationFactory(municipality=signatory.municipality, tranche=tranche),
        user=signatory,
        now=OPENING - timedelta(hours=1),
    )
    caplog.set_level(logging.INFO, logger="applications.submission")
    caplog.clear()
    submission.clear_ready(Application.objects.get(pk=ready.pk))
    assert Application.objects.get(pk=ready.pk).ready_hash == ""
    assert Application.objects.get(pk=other.pk).ready_hash == other.ready_hash
    assert _logged(caplog) == [f"application {ready.public_id}: ready state cleared by an edit"]

    # A draft that was not ready: nothing to clear, nothing logged.
    caplog.clear()
    submission.clear_ready(Application.objects.get(pk=ready.pk))
    assert _logged(caplog) == []

    # A received application keeps its ready hash: it is the key of a repeated submission.
    received = _submit(signatory, other).application
    submission.clear_ready(Application.objects.get(pk=received.pk))
    assert Application.objects.get(pk=received.pk).ready_hash == other.ready_hash


@pytest.mark.django_db
def test_an_extended_closing_in_force_lets_a_draft_be_confirmed_after_the_first_closing(signatory, draft, tranche):
    TrancheAmendment.objects.create(
        tranche=tranche,
        kind=AmendmentKind.CLOSING,
        publication_reference="Stcrt. 2027, 2",
        effective_at=OPENING + timedelta(days=1),
        old_closes_at=tranche.closes_at,
        new_closes_at=tranche.closes_at + timedelta(days=7),
    )
    confirmed = submission.confirm_ready(application=draft, user=signatory, now=tranche.closes_at)
    assert confirmed.ready_at == tranche.closes_at


@pytest.mark.django_db
def test_the_receipt_instant_reads_in_amsterdam_whatever_zone_is_active():
    with timezone.override("UTC"), translation.override("en"):
        assert format_receipt_instant(datetime(2027, 7, 1, 7, 0, tzinfo=UTC)) == "1 July 2027 09:00:00.000"


@pytest.mark.django_db
def test_an_unconfirmed_draft_submitted_in_full_records_its_hash_and_no_declaration(
    signatory, draft, django_assert_num_queries
):
    arrived = OPENING + timedelta(seconds=3)
    # The tranche is read with the locked application, not again after it. The receipt is one statement on
    # PostgreSQL and several on SQLite (applications.receipts).
    with django_assert_num_queries(12 if connection.vendor == "postgresql" else 22):
        submitted = submission.submit_draft(application=draft, user=signatory, arrived_at=arrived)
    stored = Application.objects.get(pk=draft.pk)
    rules = submission.rules_hash(draft.tranche)
    assert stored.ready_hash == submitted.ready_hash == submission.content_hash(stored, rules=rules)
    assert (stored.status, stored.ready_rules, stored.ready_at, stored.ready_by) == (
        Status.SUBMITTED,
        rules,
        arrived,
        signatory,
    )
    assert (stored.declaration, stored.declared_at) == ("", None)
    assert not AuditEntry.objects.filter(action=AuditAction.CONFIRMATION).exists()


@pytest.mark.django_db
def test_a_declaration_made_with_a_full_submission_is_kept_and_recorded(signatory, draft):
    arrived = OPENING + timedelta(seconds=3)
    declared = "Naar waarheid ingevuld."
    submission.submit_draft(application=draft, user=signatory, arrived_at=arrived, declaration=declared)
    stored = Application.objects.get(pk=draft.pk)
    assert (stored.declaration, stored.declared_at) == (declared, arrived)
    entry = AuditEntry.objects.get(action=AuditAction.CONFIRMATION)
    assert (entry.actor, entry.object_type, entry.object_id, entry.detail) == (
        signatory,
        "applications.application",
        str(draft.pk),
        f"submitted: {stored.ready_hash}; declaration accepted: {declared}",
    )
