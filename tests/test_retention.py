"""Retention of personal data (docs/privacy.md): what is past its period goes, what is within it stays, per kind;
the command and the nightly task apply every rule, a failing rule stops none of the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import retention
from accounts.models import AppendOnlyError, AuditAction, AuditEntry, AuditOutcome, User
from accounts.retention import RetentionFailed, apply_retention, years_before
from accounts.tasks import apply_retention as apply_retention_task
from applications.models import Application, Attachment, Status, UnitLine
from notifications.models import Delivery, DeliveryAttempt, Reminder, ReminderKind
from realisation.retention import ANONYMISED_PREFIX
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory, municipality
from tests.progress import completed, granted, settle

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def years(count: int) -> timedelta:
    return timedelta(days=365 * count + count // 4 + 1)


def audit(action: AuditAction, at) -> AuditEntry:
    return AuditEntry.objects.create(action=action, at=at, actor_name="someone", outcome=AuditOutcome.SUCCESS)


def run(rule: str, now) -> int:
    return apply_retention(now=now, kinds=[rule])[rule]


# --- the audit log ---------------------------------------------------------------------------------------


def test_login_entries_go_after_two_years_and_the_others_after_seven():
    now = timezone.now()
    old_login = audit(AuditAction.LOGIN_FAILED, now - years(2) - DAY)
    recent_login = audit(AuditAction.LOGIN, now - years(2) + years(1))
    old_confirmation = audit(AuditAction.CONFIRMATION, now - years(7) - DAY)
    confirmation_within = audit(AuditAction.CONFIRMATION, now - years(7) + DAY)
    export_within = audit(AuditAction.EXPORT, now - years(3))

    assert run("audit_log", now) == 2

    kept = set(AuditEntry.objects.values_list("pk", flat=True))
    assert kept == {recent_login.pk, confirmation_within.pk, export_within.pk}
    assert not {old_login.pk, old_confirmation.pk} & kept


def test_the_audit_log_still_refuses_every_other_delete_and_change():
    entry = audit(AuditAction.CONFIRMATION, timezone.now() - years(10))

    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(detail="changed")
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_a_period_of_less_than_a_year_is_refused(settings):
    settings.RETENTION_YEARS = {**settings.RETENTION_YEARS, "audit_log": 0}
    audit(AuditAction.CONFIRMATION, timezone.now() - DAY)

    with pytest.raises(RetentionFailed) as failure:
        apply_retention(now=timezone.now(), kinds=["audit_log"])

    assert failure.value.failed == ["audit_log"]
    assert AuditEntry.objects.count() == 1


def test_years_before_29_february_falls_on_the_28th():
    leap_day = datetime(2028, 2, 29, 12, tzinfo=UTC)

    assert years_before(leap_day, "audit_log") == datetime(2021, 2, 28, 12, tzinfo=UTC)


# --- sessions, lockout records and accounts --------------------------------------------------------------


def test_expired_sessions_go_and_live_ones_stay():
    expired, live = SessionStore(), SessionStore()
    expired.set_expiry(-60)
    expired.create()
    live.create()

    assert run("sessions", timezone.now()) == 1

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_failed_login_records_go_once_their_cool_off_has_passed():
    now = timezone.now()
    old = AccessAttempt.objects.create(username="a", ip_address="192.0.2.1", user_agent="x", failures_since_start=3)
    recent = AccessAttempt.objects.create(username="b", ip_address="192.0.2.2", user_agent="x", failures_since_start=1)
    AccessAttempt.objects.filter(pk=old.pk).update(attempt_time=now - settings.AXES_COOLOFF_TIME - DAY)

    assert run("lockout_records", now) == 1

    assert list(AccessAttempt.objects.values_list("pk", flat=True)) == [recent.pk]


def test_accounts_unused_for_a_year_are_deactivated():
    now = timezone.now()
    idle = UserFactory(last_login=now - years(1) - DAY)
    never_logged_in = UserFactory()
    User.objects.filter(pk=never_logged_in.pk).update(date_joined=now - years(2))
    recent = UserFactory(last_login=now - years(1) + DAY)
    staff = UserFactory(assessor=True, last_login=now - years(3))

    assert run("idle_accounts", now) == 3

    active = dict(User.objects.values_list("pk", "is_active"))
    assert active == {idle.pk: False, never_logged_in.pk: False, recent.pk: True, staff.pk: False}
    # Deactivated, not anonymised: staff keep their name in the files they decided.
    staff.refresh_from_db()
    assert staff.username and staff.email


# --- drafts ----------------------------------------------------------------------------------------------


def _closed_tranche(closed_ago: timedelta):
    now = timezone.now()
    return TrancheFactory(opens_at=now - closed_ago - timedelta(days=60), closes_at=now - closed_ago)


def test_drafts_go_a_year_after_their_tranche_closed_with_their_lines_files_and_history(
    django_capture_on_commit_callbacks,
):
    tranche = _closed_tranche(years(1) + DAY)
    draft = ApplicationFactory(tranche=tranche)
    editor = UserFactory(municipality=draft.municipality)
    attachment = Attachment.objects.create(
        application=draft,
        kind="project_plan",
        file=ContentFile(b"%PDF-1.7 plan", name="plan.pdf"),
        original_name="plan.pdf",
        content_type="application/pdf",
        size=13,
        sha256="0" * 64,
        uploaded_by=editor,
    )
    submitted = ApplicationFactory(tranche=tranche, submitted=True)
    assert default_storage.exists(attachment.file.name)

    with django_capture_on_commit_callbacks(execute=True):
        assert run("drafts", timezone.now()) == 1

    assert list(Application.objects.values_list("pk", flat=True)) == [submitted.pk]
    assert not UnitLine.objects.filter(application_id=draft.pk).exists()
    assert not Application.history.filter(id=draft.pk).exists()
    assert not UnitLine.history.filter(application_id=draft.pk).exists()
    assert not default_storage.exists(attachment.file.name)


def test_drafts_of_a_tranche_closed_less_than_a_year_ago_stay():
    draft = ApplicationFactory(tranche=_closed_tranche(timedelta(days=300)))
    open_draft = ApplicationFactory()

    assert run("drafts", timezone.now()) == 0

    assert set(Application.objects.values_list("pk", flat=True)) == {draft.pk, open_draft.pk}


def test_a_dry_run_counts_and_keeps_everything(django_capture_on_commit_callbacks):
    draft = ApplicationFactory(tranche=_closed_tranche(years(2)))

    with django_capture_on_commit_callbacks() as callbacks:
        assert apply_retention(now=timezone.now(), kinds=["drafts"], dry_run=True) == {"drafts": 1}

    assert Application.objects.filter(pk=draft.pk).exists()
    assert callbacks == []


# --- e-mails of reminders --------------------------------------------------------------------------------


def _delivery(created_at) -> Delivery:
    user = UserFactory()
    tranche = TrancheFactory()
    reminder = Reminder.objects.create(
        kind=ReminderKind.TRANCHE_CLOSING,
        subject=tranche,
        deadline=tranche.closes_at,
        due_at=created_at,
        municipality=user.municipality,
    )
    delivery = Delivery.objects.create(reminder=reminder, recipient=user, email=user.email, created_at=created_at)
    DeliveryAttempt.objects.create(delivery=delivery, at=created_at, succeeded=False, error=f"refused {user.email}")
    return delivery


def test_e_mails_go_after_two_years_with_their_attempts_and_the_reminder_stays():
    now = timezone.now()
    old, recent = _delivery(now - years(2) - DAY), _delivery(now - years(2) + DAY)

    assert run("emails", now) == 1

    assert list(Delivery.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not DeliveryAttempt.objects.filter(delivery_id=old.pk).exists()
    assert Reminder.objects.filter(pk=old.reminder_id).exists()


# --- contact persons -------------------------------------------------------------------------------------


@pytest.fixture
def settled_grant():
    """A grant of Utrecht, completed and settled today, with the municipal users who worked on it."""
    grant = granted(municipality="GM0344")
    completed(grant, [10])
    settle(grant)
    return grant


def test_contact_persons_are_anonymised_seven_years_after_the_settlement(settled_grant):
    contact = UserFactory(municipality=settled_grant.municipality, first_name="Anna", last_name="de Vries")
    agency = UserFactory(assessor=True, first_name="Bert")
    later = timezone.now() + years(8)

    done = apply_retention(now=later)

    assert done["contact_persons"] == User.objects.filter(municipality__code="GM0344").count() > 1
    contact.refresh_from_db()
    assert contact.username == f"{ANONYMISED_PREFIX}{contact.pk}"
    assert (contact.first_name, contact.last_name, contact.email, contact.is_active) == ("", "", "", False)
    assert not contact.has_usable_password()
    agency.refresh_from_db()
    assert agency.first_name == "Bert" and not agency.is_active
    # The case file still points at the same rows.
    assert Application.objects.get(pk=settled_grant.pk).status_changes.exists()


def test_contact_persons_are_kept_within_seven_years_of_the_settlement(settled_grant):
    contact = UserFactory(municipality=settled_grant.municipality, first_name="Anna")

    done = apply_retention(now=timezone.now() + years(6))

    assert done["contact_persons"] == 0
    contact.refresh_from_db()
    assert contact.first_name == "Anna" and not contact.is_active


def test_an_open_application_of_their_municipality_keeps_the_contact_persons(settled_grant):
    ApplicationFactory(municipality=settled_grant.municipality, eligible=True)
    contact = UserFactory(municipality=settled_grant.municipality, first_name="Anna")

    assert apply_retention(now=timezone.now() + years(8))["contact_persons"] == 0

    contact.refresh_from_db()
    assert contact.first_name == "Anna"


def test_an_application_made_after_they_could_no_longer_log_in_does_not_keep_them(settled_grant):
    now = timezone.now()
    contact = UserFactory(municipality=settled_grant.municipality, first_name="Anna", last_login=now)
    newer = ApplicationFactory(municipality=settled_grant.municipality, eligible=True)
    Application.objects.filter(pk=newer.pk).update(created_at=now + years(2))

    apply_retention(now=now + years(8))

    contact.refresh_from_db()
    assert contact.first_name == ""


@pytest.mark.parametrize(("status", "anonymised"), [(Status.REFUSED, True), (Status.INELIGIBLE, False)])
def test_an_application_ended_without_a_grant_keeps_them_until_seven_years_after(status, anonymised):
    application = ApplicationFactory(municipality=municipality("GM0363"), submitted=True, status=status)
    contact = UserFactory(municipality=application.municipality, first_name="Anna")

    apply_retention(now=timezone.now() + years(8))

    contact.refresh_from_db()
    assert (contact.first_name == "") is anonymised


def test_active_contact_persons_are_never_anonymised(settled_grant):
    contact = UserFactory(municipality=settled_grant.municipality, first_name="Anna")
    later = timezone.now() + years(8)
    User.objects.filter(pk=contact.pk).update(last_login=later - DAY)

    apply_retention(now=later)

    contact.refresh_from_db()
    assert contact.first_name == "Anna" and contact.is_active


# --- the command, the task and the schedule ---------------------------------------------------------------


def test_the_command_says_what_each_rule_did(capsys):
    audit(AuditAction.LOGIN, timezone.now() - years(3))

    call_command("apply_retention")

    out = capsys.readouterr().out.splitlines()
    assert "audit_log: 1 deleted" in out
    assert {line.split(":")[0] for line in out} == {rule.name for rule in retention.retention_rules()}


def test_the_command_dry_run_changes_nothing(capsys):
    entry = audit(AuditAction.LOGIN, timezone.now() - years(3))

    call_command("apply_retention", "--dry-run", "--kind", "audit_log")

    assert capsys.readouterr().out.splitlines() == ["audit_log: 1 would be deleted"]
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_command_refuses_an_unknown_rule():
    with pytest.raises(CommandError, match="unknown rule: everything"):
        call_command("apply_retention", "--kind", "everything")


def test_a_failing_rule_stops_none_of_the_others(monkeypatch, capsys):
    def broken(now):
        raise RuntimeError("permission denied for table")

    monkeypatch.setitem(retention._rules, "sessions", retention.RetentionRule("sessions", "deleted", broken))
    entry = audit(AuditAction.LOGIN, timezone.now() - years(3))

    with pytest.raises(CommandError, match="retention failed for sessions"):
        call_command("apply_retention")

    assert not AuditEntry.objects.filter(pk=entry.pk).exists()
    assert "audit_log: 1 deleted" in capsys.readouterr().out


def test_the_nightly_task_is_scheduled_and_applies_the_rules():
    entry = audit(AuditAction.LOGIN, timezone.now() - years(3))

    assert settings.CELERY_BEAT_SCHEDULE["apply-retention-nightly"]["task"] == apply_retention_task.name
    result = apply_retention_task.delay().get()

    assert result["audit_log"] == 1
    assert not AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_nightly_task_leaves_the_rules_it_is_told_to_skip(settings):
    settings.RETENTION_TASK_SKIP = ["audit_log"]
    entry = audit(AuditAction.LOGIN, timezone.now() - years(3))

    result = apply_retention_task.delay().get()

    assert "audit_log" not in result and "sessions" in result
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
