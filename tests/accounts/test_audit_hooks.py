"""What the audit log records besides logins: every export, download, preview, discard, amendment step,
confirmation and change of money, with its actor, instant, object, address (where there is a request) and outcome.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEntry, AuditOutcome
from accounts.services import sync_agency_group
from allocation import objections, reserve
from allocation.models import AllocationRun, Decision, DecisionKind, Withdrawal, WithdrawalGround
from allocation.selectors import current_decision
from allocation.services import (
    confirm_allocation,
    confirm_external_seed,
    discard_allocation,
    enter_external_seed,
    prepare_allocation,
    preview_allocation,
)
from allocation.waivers import waive_grant
from allocation.withdrawals import confirm_withdrawal, prepare_withdrawal
from applications.importing import SYSTEM_ACTOR, import_applications
from applications.models import Attachment, AttachmentKind, StatusChange
from grants.amendments import confirm_amendment, discard_amendment, prepare_amendment
from grants.models import AmendmentKind
from realisation.models import Settlement
from realisation.services import confirm_settlement, discard_settlement, prepare_settlement
from tests.allocation.reserve import decided, raise_ceiling
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.files import PDF_MIME, pdf_bytes, upload
from tests.progress import completed, granted

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.23"


def agency(**role):
    user = UserFactory(password=None, **role)
    user.groups.add(sync_agency_group())
    return user


def client_for(user) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(user)
    return client


def last_entry() -> int:
    """Where the log stands, to read what a step adds to it after the set-up wrote its own entries."""
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def recorded(action: str, *, after: int = 0) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, pk__gt=after).order_by("pk"))


def only(action: str, *, after: int = 0) -> AuditEntry:
    (entry,) = recorded(action, after=after)
    return entry


def names(entry: AuditEntry, obj) -> bool:
    return (entry.object_type, entry.object_id) == (obj._meta.label_lower, str(obj.pk))


def attached(application, user) -> Attachment:
    """A stored attachment, also on a submitted application, which the portal no longer changes."""
    content = pdf_bytes()
    attachment = Attachment(
        application=application,
        kind=AttachmentKind.PROJECT_PLAN,
        original_name="projectplan.pdf",
        content_type=PDF_MIME,
        size=len(content),
        sha256="0" * 64,
        uploaded_by=user,
    )
    attachment.file.save("projectplan.pdf", ContentFile(content), save=False)
    attachment.save()
    return attachment


def prepared_run(user) -> AllocationRun:
    tranche = closed_tranche()
    ApplicationFactory(eligible=True, tranche=tranche)
    return prepare_allocation(tranche=tranche, user=user)


# --- downloads ------------------------------------------------------------------------------------------


def test_downloading_an_attachment_in_the_portal_is_recorded_with_the_address():
    editor = UserFactory(password=None)
    attachment = attached(ApplicationFactory(municipality=editor.municipality), editor)
    before = timezone.now()

    response = client_for(editor).get(
        reverse("portal:attachment_download", args=[attachment.application.public_id, attachment.pk])
    )

    assert response.status_code == 200
    entry = only(AuditAction.DOWNLOAD)
    assert (entry.actor, entry.ip_address, entry.outcome) == (editor, ADDRESS, AuditOutcome.SUCCESS)
    assert names(entry, attachment) and entry.detail == "projectplan.pdf" and entry.at >= before


def test_a_refused_download_records_nothing():
    editor = UserFactory(password=None)
    attachment = attached(ApplicationFactory(municipality=editor.municipality), editor)
    stranger = UserFactory(password=None, municipality__code="GM0363")

    response = client_for(stranger).get(
        reverse("portal:attachment_download", args=[attachment.application.public_id, attachment.pk])
    )

    assert response.status_code == 404
    assert recorded(AuditAction.DOWNLOAD) == []


def test_downloading_an_attachment_in_the_back_office_is_recorded():
    editor = UserFactory(password=None)
    application = ApplicationFactory(submitted=True, municipality=editor.municipality)
    attachment = attached(application, editor)
    assessor = agency(assessor=True)

    response = client_for(assessor).get(
        reverse("admin:applications_application_attachment", args=[application.pk, attachment.pk])
    )

    assert response.status_code == 200
    entry = only(AuditAction.DOWNLOAD)
    assert (entry.actor, entry.ip_address) == (assessor, ADDRESS) and names(entry, attachment)


def _with_letter(decision: Decision) -> Decision:
    decision.letter_html.save("beschikking.html", ContentFile(b"<p>Beschikking</p>"), save=False)
    decision.letter_pdf.save("beschikking.pdf", ContentFile(pdf_bytes("Beschikking")), save=False)
    decision.save(update_fields=["letter_html", "letter_pdf"])
    return decision


@pytest.mark.parametrize("file_format", ["pdf", "html"])
def test_downloading_a_decision_letter_is_recorded(file_format):
    grant = granted()
    decision = _with_letter(grant.decision)
    signatory = UserFactory(password=None, signatory=True, municipality=grant.municipality)

    response = client_for(signatory).get(reverse(f"decisions:letter_{file_format}", args=[decision.public_id]))

    assert response.status_code == 200
    entry = only(AuditAction.DOWNLOAD)
    assert (entry.actor, entry.ip_address) == (signatory, ADDRESS) and names(entry, decision)
    assert entry.detail == f"decision letter ({file_format})"


def _objection_letter():
    grant = granted()
    assessor = agency(assessor=True)
    today = timezone.localdate()
    decision = objections.record_dispatch(decision=grant.decision, user=assessor, dispatched_on=today)
    objection = objections.register_objection(decision=decision, user=assessor, received_on=today, grounds="Te laag.")
    return grant, objection.letters.get()


def test_downloading_a_letter_of_the_case_in_the_portal_is_recorded():
    grant, letter = _objection_letter()
    editor = UserFactory(password=None, municipality=grant.municipality)

    response = client_for(editor).get(reverse("decisions:case_letter_html", args=[letter.public_id]))

    assert response.status_code == 200
    entry = only(AuditAction.DOWNLOAD)
    assert (entry.actor, entry.ip_address, entry.detail) == (editor, ADDRESS, "letter (html)") and names(entry, letter)


def test_downloading_a_letter_in_the_back_office_is_recorded():
    _, letter = _objection_letter()
    approver = agency(approver=True)

    response = client_for(approver).get(reverse("admin:allocation_letter_download", args=[letter.pk, "html"]))

    assert response.status_code == 200
    entry = only(AuditAction.DOWNLOAD)
    assert (entry.actor, entry.ip_address) == (approver, ADDRESS) and names(entry, letter)


# --- exports --------------------------------------------------------------------------------------------


def test_the_ranked_list_export_is_recorded():
    assessor = agency(assessor=True)
    run = prepared_run(assessor)

    response = client_for(assessor).get(reverse("admin:allocation_allocationrun_ranked_list", args=[run.pk]))

    assert response.status_code == 200
    entry = only(AuditAction.EXPORT)
    assert (entry.actor, entry.ip_address, entry.detail) == (assessor, ADDRESS, "ranked list (CSV)")
    assert names(entry, run)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_ministry_export_is_recorded_with_its_table_and_filter(file_format):
    analyst = UserFactory(password=None, analyst=True)

    response = client_for(analyst).get(reverse("ministry:export", args=["tranches", file_format]) + "?year=2026")

    assert response.status_code == 200
    entry = only(AuditAction.EXPORT)
    assert (entry.actor, entry.ip_address) == (analyst, ADDRESS)
    assert entry.detail == f"tranches.{file_format}, 0 rows, filter: year=2026"


def test_the_applications_export_command_is_recorded_with_the_system_account():
    tranche = TrancheFactory()
    ApplicationFactory(eligible=True, tranche=tranche)

    call_command("export_applications", "--tranche", tranche.slug, stdout=io.StringIO())

    entry = only(AuditAction.EXPORT)
    assert entry.actor is None and entry.actor_name and entry.ip_address is None
    assert names(entry, tranche) and "export_applications" in entry.detail


# --- previews, discards and confirmations of allocation runs ------------------------------------------------


def test_preparing_an_allocation_records_a_preview_of_the_run():
    assessor = agency(assessor=True)

    run = prepared_run(assessor)

    entry = only(AuditAction.PREVIEW)
    assert (entry.actor, entry.ip_address) == (assessor, None) and names(entry, run)
    assert f"{run.proposed_total:.2f} proposed of {run.requested_total:.2f} requested" in entry.detail


def test_a_preview_printed_by_the_allocate_command_names_its_account():
    tranche = closed_tranche()
    ApplicationFactory(eligible=True, tranche=tranche)

    computed = preview_allocation(tranche=tranche, account="beheerder")

    entry = only(AuditAction.PREVIEW)
    assert (entry.actor, entry.actor_name) == (None, "beheerder") and names(entry, tranche)
    assert computed.ranked_list_sha256 in entry.detail


def test_discarding_a_preview_is_recorded_and_outlives_the_run():
    run = prepared_run(agency(assessor=True))
    discarder = agency(assessor=True)
    run_id = str(run.pk)

    discard_allocation(run=run, user=discarder)

    entry = only(AuditAction.DISCARD)
    assert not AllocationRun.objects.filter(pk=run_id).exists()
    assert (entry.actor, entry.object_type, entry.object_id) == (discarder, "allocation.allocationrun", run_id)


def test_confirming_an_allocation_records_the_confirmation_and_the_money_granted():
    run = prepared_run(agency(assessor=True))
    approver = agency(approver=True)
    before = last_entry()

    confirm_allocation(run=run, user=approver)

    confirmation, money = only(AuditAction.CONFIRMATION, after=before), only(AuditAction.MONEY_CHANGE, after=before)
    assert confirmation.actor == money.actor == approver and names(confirmation, run) and names(money, run)
    assert money.detail == f"decisions issued: 1, granted in {run.tranche.slug}: 70000.00"


def test_a_refused_confirmation_records_nothing():
    preparer = agency(approver=True)
    run = prepared_run(preparer)
    before = last_entry()

    with pytest.raises(PermissionDenied):
        confirm_allocation(run=run, user=preparer)

    assert last_entry() == before


def test_a_supplementary_run_records_its_preview_confirmation_and_each_grant():
    tranche, (_, second) = decided("70000.00", 10, 10)
    raise_ceiling(tranche, "140000.00")
    before = last_entry()

    run = reserve.prepare_supplementary(tranche=tranche, user=agency(assessor=True))
    reserve.confirm_supplementary(run=run, user=agency(approver=True))

    actions = list(AuditEntry.objects.filter(pk__gt=before).order_by("pk").values_list("action", flat=True))
    assert actions == [AuditAction.PREVIEW, AuditAction.MONEY_CHANGE, AuditAction.CONFIRMATION]
    grant = only(AuditAction.MONEY_CHANGE, after=before)
    assert names(grant, current_decision(application=second))
    assert grant.detail == f"{second.reference}: supplementary decision, grant 0.00 -> 70000.00"


def test_the_reserve_list_printed_by_the_allocate_command_is_a_recorded_preview():
    tranche, _ = decided("70000.00", 10, 10)
    raise_ceiling(tranche, "140000.00")
    before = last_entry()

    reserve.preview_supplementary(tranche=tranche, account="beheerder")

    entry = only(AuditAction.PREVIEW, after=before)
    assert entry.actor_name == "beheerder" and names(entry, tranche) and "reserve list" in entry.detail


def test_sealing_the_seed_of_an_external_draw_is_recorded():
    tranche = closed_tranche()
    enter_external_seed(tranche=tranche, user=agency(assessor=True), seed=17, reference="Notaris, akte 1")
    sealer = agency(approver=True)

    seed = confirm_external_seed(tranche=tranche, user=sealer, seed=17)

    entry = only(AuditAction.CONFIRMATION)
    assert entry.actor == sealer and names(entry, seed) and "external seed" in entry.detail


def test_a_seed_drawn_at_the_first_preview_is_a_recorded_confirmation():
    assessor = agency(assessor=True)

    run = prepared_run(assessor)

    entry = only(AuditAction.CONFIRMATION)
    assert entry.actor == assessor and names(entry, run.tranche.lottery_seed)
    assert "drawn by the system" in entry.detail


# --- amendments -----------------------------------------------------------------------------------------


def _amendment(tranche, user):
    return prepare_amendment(
        tranche=tranche,
        kind=AmendmentKind.CEILING,
        publication_reference="Stcrt. 2026, 12",
        effective_at=timezone.now() + timedelta(days=1),
        user=user,
        new_ceiling=Decimal("2000000.00"),
    )


def test_preparing_and_confirming_an_amendment_are_recorded():
    tranche = TrancheFactory(budget_ceiling=Decimal("1000000.00"))
    preparer, approver = agency(assessor=True), agency(approver=True)

    amendment = confirm_amendment(amendment=_amendment(tranche, preparer), user=approver)

    prepared, confirmed = recorded(AuditAction.AMENDMENT)
    assert (prepared.actor, confirmed.actor) == (preparer, approver)
    assert names(prepared, amendment) and names(confirmed, amendment)
    assert prepared.detail == f"prepared: {tranche.slug} ceiling Stcrt. 2026, 12, 1000000.00 -> 2000000.00"
    assert confirmed.detail.startswith("confirmed: ") and confirmed.detail.endswith(f"prepared by {preparer}")


def test_discarding_an_amendment_is_recorded_with_its_reason():
    preparer = agency(assessor=True)
    amendment = _amendment(TrancheFactory(), preparer)

    before = last_entry()

    discard_amendment(amendment=amendment, user=preparer, reason="Verkeerde publicatie.")

    discarded = only(AuditAction.AMENDMENT, after=before)
    assert discarded.detail.startswith("discarded: ") and discarded.detail.endswith("reason: Verkeerde publicatie.")


# --- changes of money after the decision -------------------------------------------------------------------


def test_waiving_a_grant_records_the_change_of_money():
    grant = granted()
    signatory = UserFactory(password=None, signatory=True, municipality=grant.municipality)

    before = last_entry()

    waiver = waive_grant(application=grant, user=signatory, amount_after=Decimal("50000.00"), reason="Minder woningen.")

    entry = only(AuditAction.MONEY_CHANGE, after=before)
    assert entry.actor == signatory and names(entry, waiver.decision)
    assert entry.detail == f"{grant.reference}: waiver decision, grant 70000.00 -> 50000.00"


def test_confirming_a_withdrawal_records_the_confirmation_and_the_money():
    grant = granted()
    withdrawal = prepare_withdrawal(
        application=grant,
        user=agency(assessor=True),
        amount_after=Decimal("0.00"),
        ground=WithdrawalGround.ACTIVITIES_NOT_CARRIED_OUT,
        reason="Het project gaat niet door.",
    )
    approver = agency(approver=True)
    before = last_entry()

    confirm_withdrawal(withdrawal=withdrawal, user=approver)

    confirmation, money = only(AuditAction.CONFIRMATION, after=before), only(AuditAction.MONEY_CHANGE, after=before)
    assert names(confirmation, withdrawal) and confirmation.actor == money.actor == approver
    assert money.detail == f"{grant.reference}: {DecisionKind.WITHDRAWAL} decision, grant 70000.00 -> 0.00"
    assert Withdrawal.objects.get().status == "confirmed"


def _prepared_settlement() -> Settlement:
    grant = granted()
    completed(grant, realised=[10])
    return prepare_settlement(decision=grant.decision, user=agency(assessor=True))


def test_confirming_a_settlement_records_the_confirmation_and_the_money():
    settlement = _prepared_settlement()
    approver = agency(approver=True)
    before = last_entry()

    confirm_settlement(settlement=settlement, user=approver)

    confirmation, money = AuditEntry.objects.filter(pk__gt=before).order_by("pk")
    assert (confirmation.action, money.action) == (AuditAction.CONFIRMATION, AuditAction.MONEY_CHANGE)
    assert names(confirmation, settlement) and confirmation.actor == approver
    assert money.detail.endswith("paid 70000.00, settled 70000.00, to reclaim 0.00")


def test_discarding_a_settlement_is_recorded():
    settlement = _prepared_settlement()
    settlement_id = str(settlement.pk)
    discarder = agency(assessor=True)

    discard_settlement(settlement=settlement, user=discarder)

    entry = only(AuditAction.DISCARD)
    assert (entry.actor, entry.object_type, entry.object_id) == (discarder, "realisation.settlement", settlement_id)
    assert not Settlement.objects.exists()


# --- attachments and imports ----------------------------------------------------------------------------


def test_deleting_an_attachment_leaves_its_name_and_size():
    editor = UserFactory(password=None)
    attachment = attached(ApplicationFactory(municipality=editor.municipality), editor)
    attachment_id, size = str(attachment.pk), attachment.size

    response = client_for(editor).post(
        reverse("portal:attachment_delete", args=[attachment.application.public_id, attachment.pk]), {"confirm": "yes"}
    )

    assert response.status_code == 302 and not Attachment.objects.exists()
    entry = only(AuditAction.DISCARD)
    assert (entry.actor, entry.object_type, entry.object_id) == (editor, "applications.attachment", attachment_id)
    assert entry.detail.startswith(f"projectplan.pdf, {size} bytes")


IMPORT_FILE = (
    "reference,municipality_code,window,project_name,received_at,target_group,housing_type,permanence,"
    "self_contained,common_room,units,requested_amount\n"
    "IMP-1,GM0344,all,Kamers,{received_at},homeless,regular,permanent,yes,no,4,28000.00\n"
)


def _import_file(tranche) -> io.StringIO:
    received_at = (tranche.opens_at + timedelta(hours=1)).isoformat()
    return io.StringIO(IMPORT_FILE.format(received_at=received_at))


def test_an_import_by_an_agency_user_names_them_on_every_status_change():
    tranche = closed_tranche()
    assessor = agency(assessor=True)

    import_applications(tranche=tranche, stream=_import_file(tranche), source="ronde.csv", user=assessor)

    assert set(StatusChange.objects.values_list("actor", flat=True)) == {assessor.pk}
    entry = only(AuditAction.CONFIRMATION)
    assert entry.actor == assessor and names(entry, tranche)
    assert entry.detail == "applications imported as eligible from ronde.csv: 1"


def test_an_import_through_the_back_office_is_made_by_the_user_who_uploads():
    tranche = closed_tranche()
    assessor = agency(assessor=True)
    upload_file = upload("ronde.csv", _import_file(tranche).getvalue().encode(), "text/csv")

    response = client_for(assessor).post(
        reverse("admin:grants_tranche_import_applications", args=[tranche.pk]), {"file": upload_file}
    )

    assert response.status_code == 302
    assert set(StatusChange.objects.values_list("actor", flat=True)) == {assessor.pk}
    assert only(AuditAction.CONFIRMATION).actor == assessor


def test_an_import_without_a_user_is_recorded_under_the_system_actor():
    tranche = closed_tranche()

    import_applications(tranche=tranche, stream=_import_file(tranche), source="ronde.csv")

    entry = only(AuditAction.CONFIRMATION)
    assert (entry.actor, entry.actor_name) == (None, SYSTEM_ACTOR)


def test_the_import_command_names_the_agency_user_it_is_given(tmp_path):
    tranche = closed_tranche()
    assessor = agency(assessor=True)
    source = tmp_path / "ronde.csv"
    source.write_text(_import_file(tranche).getvalue(), encoding="utf-8")

    call_command("import_applications", "--tranche", tranche.slug, "--imported-by", assessor.username, str(source))

    assert set(StatusChange.objects.values_list("actor", flat=True)) == {assessor.pk}


def test_an_import_by_a_municipal_user_is_refused_and_records_nothing():
    tranche = closed_tranche()

    with pytest.raises(PermissionDenied):
        import_applications(tranche=tranche, stream=_import_file(tranche), user=UserFactory(password=None))

    assert not StatusChange.objects.exists() and not recorded(AuditAction.CONFIRMATION)
