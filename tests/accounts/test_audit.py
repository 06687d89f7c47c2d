"""The append-only audit log: what logins leave in it, that it cannot be changed, and its CSV export."""

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AppendOnlyError, AuditAction, AuditEntry, AuditOutcome
from accounts.services import record_audit
from tests.accounts.logins import log_in
from tests.factories import TrancheFactory, UserFactory
from tests.portal import client_for

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CHANGELIST = reverse("admin:accounts_auditentry_changelist")
EXPORT = reverse("admin:accounts_auditentry_export")


def superuser():
    return UserFactory(role="", municipality=None, is_staff=True, is_superuser=True)


def test_login_failed_login_and_logout_are_recorded_with_the_address():
    user = UserFactory(username="wethouder")
    client = Client(REMOTE_ADDR="198.51.100.23")

    log_in(client, "wethouder", "wrong-password")
    log_in(client, "wethouder")
    client.post(reverse("logout"))

    fields = ("action", "outcome", "actor", "actor_name", "ip_address")
    entries = list(AuditEntry.objects.order_by("pk").values_list(*fields))
    assert entries == [
        (AuditAction.LOGIN_FAILED, AuditOutcome.FAILURE, None, "wethouder", "198.51.100.23"),
        (AuditAction.LOGIN, AuditOutcome.SUCCESS, user.pk, "wethouder", "198.51.100.23"),
        (AuditAction.LOGOUT, AuditOutcome.SUCCESS, user.pk, "wethouder", "198.51.100.23"),
    ]


def test_record_audit_names_the_object_and_takes_the_actor_from_the_request():
    user = UserFactory(approver=True)
    tranche = TrancheFactory(title="RHA 2026")
    request = client_for(user).get(reverse("portal:home")).wsgi_request

    entry = record_audit(action=AuditAction.CONFIRMATION, request=request, target=tranche, detail="four eyes")

    assert (entry.actor, entry.actor_name, entry.ip_address) == (user, user.username, "127.0.0.1")
    assert (entry.object_type, entry.object_id, entry.object_repr) == ("grants.tranche", str(tranche.pk), str(tranche))
    assert (entry.outcome, entry.detail) == (AuditOutcome.SUCCESS, "four eyes")


def test_an_entry_cannot_be_changed_or_deleted_in_code():
    entry = record_audit(action=AuditAction.EXPORT, actor_name="systeem")

    entry.detail = "anders"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(detail="anders")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).detail == ""


def test_a_user_with_entries_cannot_be_deleted():
    user = UserFactory()
    record_audit(action=AuditAction.LOGIN, actor=user)

    with pytest.raises(ProtectedError):
        user.delete()


def test_the_back_office_shows_the_log_and_allows_no_add_change_or_delete():
    entry = record_audit(action=AuditAction.EXPORT, actor_name="systeem")
    client = client_for(superuser())

    listed = client.get(CHANGELIST)
    shown = client.get(reverse("admin:accounts_auditentry_change", args=[entry.pk]))
    changed = client.post(reverse("admin:accounts_auditentry_change", args=[entry.pk]), {"detail": "anders"})
    deleted = client.post(reverse("admin:accounts_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    added = client.get(reverse("admin:accounts_auditentry_add"))

    assert listed.status_code == 200 and entry in listed.context["cl"].result_list
    assert shown.status_code == 200
    assert (changed.status_code, deleted.status_code, added.status_code) == (403, 403, 403)
    assert AuditEntry.objects.get(pk=entry.pk).detail == ""


def test_agency_staff_cannot_read_or_export_the_log():
    client = client_for(UserFactory(approver=True))

    assert client.get(CHANGELIST).status_code == 403
    assert client.get(EXPORT, {"start": "2026-01-01", "end": "2026-01-31"}).status_code == 403


def test_the_export_holds_the_amsterdam_days_of_the_period_and_is_itself_recorded():
    for moment in ["2026-03-31 23:59", "2026-04-01 00:00", "2026-04-30 23:59", "2026-05-01 00:00"]:
        with time_machine.travel(datetime.fromisoformat(moment).replace(tzinfo=AMSTERDAM), tick=False):
            record_audit(action=AuditAction.LOGIN_FAILED, actor_name=f"at {moment}", outcome=AuditOutcome.FAILURE)
    record_audit(action=AuditAction.LOGIN_FAILED, actor_name="=HYPERLINK(1)", outcome=AuditOutcome.FAILURE)
    admin = superuser()
    client = client_for(admin)

    response = client.get(EXPORT, {"start": "2026-04-01", "end": "2026-04-30"})
    today = timezone.localdate().isoformat()
    everything = client.get(EXPORT, {"start": "2026-01-01", "end": today})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="audit-log-20260401-20260430.csv"'
    data = b"".join(response.streaming_content)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["time", "by", "action", "outcome"]
    assert [row[1] for row in rows[1:]] == ["at 2026-04-01 00:00", "at 2026-04-30 23:59"]
    assert rows[1][0] == "01-04-2026 00:00:00 +02:00"  # Amsterdam time, as Dutch Excel reads it, with its offset
    assert rows[1][2:4] == ["failed login", "failure"]
    exported = b"".join(everything.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in exported
    exports = AuditEntry.objects.filter(action=AuditAction.EXPORT, actor=admin).order_by("pk")
    assert [entry.detail for entry in exports] == [
        "audit log 2026-04-01 to 2026-04-30",
        f"audit log 2026-01-01 to {today}",
    ]


def test_the_hour_the_clocks_go_back_appears_twice_told_apart_by_its_offset():
    for moment in ["2026-10-25 00:30", "2026-10-25 01:30"]:
        with time_machine.travel(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False):
            record_audit(action=AuditAction.LOGIN_FAILED, actor_name=f"at {moment} UTC", outcome=AuditOutcome.FAILURE)

    response = client_for(superuser()).get(EXPORT, {"start": "2026-10-25", "end": "2026-10-25"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    assert [row[0] for row in rows[1:]] == ["25-10-2026 02:30:00 +02:00", "25-10-2026 02:30:00 +01:00"]


def test_the_export_page_asks_a_period_and_refuses_an_end_before_the_start():
    client = client_for(superuser())

    empty = client.get(EXPORT)
    backwards = client.get(EXPORT, {"start": "2026-04-30", "end": "2026-04-01"})

    assert empty.status_code == 200 and not empty.context["form"].is_bound
    assert backwards.context["form"].has_error("end")
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()
