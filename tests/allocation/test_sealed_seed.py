"""The lottery seed is sealed before any list is seen; every preview is recorded; when a run may be confirmed."""

import hashlib
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from accounts.services import sync_agency_group
from allocation import services as allocation_services
from allocation.models import AllocationEvent, AllocationRun, Decision, EventKind, LotterySeed, RunStatus, SeedSource
from applications.models import Status
from grants.models import AmendmentKind, TrancheAmendment
from tests.allocation.sealing import NOTARY, closed_tranche
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.portal import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def agency(**role):
    user = UserFactory(password=None, **role)
    user.groups.add(sync_agency_group())
    return user


def three_requests(tranche):
    """Three requests of € 70,000, in receipt order."""
    return [ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0363") for _ in range(3)]


def list_hash(*references: str) -> str:
    return hashlib.sha256("\n".join(references).encode("utf-8")).hexdigest()


def events(tranche) -> list[tuple]:
    return list(
        AllocationEvent.objects.filter(tranche=tranche)
        .order_by("id")
        .values_list("kind", "actor", "seed", "ranked_list_sha256", "run_public_id")
    )


# --- the seed -------------------------------------------------------------------------------------------


def test_previews_cannot_choose_another_seed():
    tranche = closed_tranche(budget_ceiling=Decimal("150000.00"))
    tranche.windows.update(ranking_method="lottery")
    three_requests(tranche)
    assessor = agency(assessor=True)
    client = client_for(assessor)
    prepare_page = reverse("admin:grants_tranche_prepare_allocation", args=[tranche.pk])

    form = client.get(prepare_page).content.decode()
    client.post(prepare_page, {"window": "", "seed": "42"})
    first = AllocationRun.objects.get()
    allocation_services.discard_allocation(run=first, user=assessor)
    again = allocation_services.prepare_allocation(tranche=tranche, user=assessor)

    assert 'name="seed"' not in form
    sealed = LotterySeed.objects.get(tranche=tranche)
    assert (sealed.source, sealed.sealed_by) == (SeedSource.SYSTEM, assessor)
    assert first.seed == again.seed == sealed.seed != 42
    assert first.ranked_list_sha256 == again.ranked_list_sha256
    with pytest.raises(TypeError):
        allocation_services.prepare_allocation(tranche=tranche, user=assessor, seed=42)


def test_an_external_seed_needs_a_second_person():
    tranche = closed_tranche()
    three_requests(tranche)
    assessor, colleague = agency(assessor=True), agency(approver=True)

    allocation_services.enter_external_seed(tranche=tranche, user=assessor, seed=20230707, reference=NOTARY)
    with pytest.raises(ValidationError, match="awaits confirmation by a second person"):
        allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    with pytest.raises(PermissionDenied, match="a second person must confirm it"):
        allocation_services.confirm_external_seed(tranche=tranche, user=assessor, seed=20230707)
    with pytest.raises(ValidationError, match="not the seed that was entered"):
        allocation_services.confirm_external_seed(tranche=tranche, user=colleague, seed=20230770)
    assert not LotterySeed.objects.get(tranche=tranche).is_sealed

    allocation_services.confirm_external_seed(tranche=tranche, user=colleague, seed=20230707)

    sealed = LotterySeed.objects.get(tranche=tranche)
    assert (sealed.seed, sealed.source, sealed.external_reference) == (20230707, SeedSource.EXTERNAL, NOTARY)
    assert (sealed.entered_by, sealed.sealed_by) == (assessor, colleague)
    assert allocation_services.prepare_allocation(tranche=tranche, user=assessor).seed == 20230707
    with pytest.raises(ValidationError, match="sealed and can no longer be changed"):
        allocation_services.enter_external_seed(tranche=tranche, user=colleague, seed=1, reference=NOTARY)
    assert [event[:3] for event in events(tranche)] == [
        (EventKind.SEED_ENTERED, assessor.pk, 20230707),
        (EventKind.SEED_SEALED, colleague.pk, 20230707),
        (EventKind.PREVIEWED, assessor.pk, 20230707),
    ]


def test_an_external_seed_entered_with_a_typing_error_is_replaced_before_it_is_sealed():
    tranche = closed_tranche()
    first, second = agency(assessor=True), agency(assessor=True)

    allocation_services.enter_external_seed(tranche=tranche, user=first, seed=20230770, reference=NOTARY)
    allocation_services.enter_external_seed(tranche=tranche, user=second, seed=20230707, reference=NOTARY)
    allocation_services.confirm_external_seed(tranche=tranche, user=first, seed=20230707)

    sealed = LotterySeed.objects.get(tranche=tranche)
    assert (sealed.seed, sealed.entered_by, sealed.sealed_by) == (20230707, second, first)


# --- every preview is recorded --------------------------------------------------------------------------


def test_every_preview_is_recorded_with_its_seed_and_list_hash():
    tranche = closed_tranche(slug="recorded", budget_ceiling=Decimal("150000.00"))
    references = [application.reference for application in three_requests(tranche)]
    assessor = agency(assessor=True)
    UserFactory(password=None, assessor=True, username="anna")

    client_for(assessor).post(reverse("admin:grants_tranche_prepare_allocation", args=[tranche.pk]), {"window": ""})
    call_command("allocate", "--tranche", "recorded", stdout=io.StringIO())
    call_command("allocate", "--tranche", "recorded", "--prepared-by", "anna", stdout=io.StringIO())
    back_office, stored = AllocationRun.objects.order_by("prepared_at")
    allocation_services.discard_allocation(run=back_office, user=assessor)

    seed = LotterySeed.objects.get(tranche=tranche).seed
    expected = list_hash(*references)
    previews = AllocationEvent.objects.filter(tranche=tranche, kind=EventKind.PREVIEWED).order_by("id")
    assert [(e.actor, e.seed, e.ranked_list_sha256, e.run_public_id) for e in previews] == [
        (assessor, seed, expected, back_office.public_id),
        (None, seed, expected, None),
        (stored.prepared_by, seed, expected, stored.public_id),
    ]
    assert "allocate" in previews[1].detail
    discard = AllocationEvent.objects.get(tranche=tranche, kind=EventKind.DISCARDED)
    assert (discard.actor, discard.seed, discard.ranked_list_sha256, discard.run_public_id) == (
        assessor,
        seed,
        expected,
        back_office.public_id,
    )
    assert stored.ranked_list_sha256 == expected


def test_seed_sealing_previews_discards_and_confirmations_are_audited():
    tranche = closed_tranche()
    three_requests(tranche)
    assessor, approver = agency(assessor=True), agency(approver=True)

    kept = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    dropped = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    allocation_services.discard_allocation(run=dropped, user=approver)
    allocation_services.confirm_allocation(run=kept, user=approver, generate_letters=False)

    seed, listed = kept.seed, kept.ranked_list_sha256
    assert events(tranche) == [
        (EventKind.SEED_SEALED, assessor.pk, seed, "", None),
        (EventKind.PREVIEWED, assessor.pk, seed, listed, kept.public_id),
        (EventKind.PREVIEWED, assessor.pk, seed, listed, dropped.public_id),
        (EventKind.DISCARDED, approver.pk, seed, listed, dropped.public_id),
        (EventKind.CONFIRMED, approver.pk, seed, listed, kept.public_id),
    ]


# --- when a run may be prepared and confirmed ------------------------------------------------------------


def test_confirmation_while_the_window_is_open_is_refused():
    open_tranche = TrancheFactory()
    three_requests(open_tranche)
    assessor, approver = agency(assessor=True), agency(approver=True)
    with pytest.raises(ValidationError, match="The tranche is open until"):
        allocation_services.prepare_allocation(tranche=open_tranche, user=assessor)
    assert not LotterySeed.objects.filter(tranche=open_tranche).exists()

    tranche = closed_tranche()
    three_requests(tranche)
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    # The closing is put off after the preview: the window is open again when the approver comes to confirm.
    TrancheAmendment.objects.create(
        tranche=tranche,
        kind=AmendmentKind.CLOSING,
        publication_reference="Stcrt. 2026, 1",
        effective_at=timezone.now(),
        old_closes_at=tranche.closes_at,
        new_closes_at=timezone.now() + timedelta(days=7),
    )

    with pytest.raises(ValidationError, match="The tranche is open until"):
        allocation_services.confirm_allocation(run=run, user=approver)

    assert AllocationRun.objects.get(pk=run.pk).status == RunStatus.PREVIEW
    assert not Decision.objects.exists()
    assert set(tranche.applications.values_list("status", flat=True)) == {Status.ELIGIBLE}


def test_confirmation_with_applications_awaiting_assessment_lists_them():
    tranche = closed_tranche()
    three_requests(tranche)
    assessor, approver = agency(assessor=True), agency(approver=True)
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    waiting = [
        ApplicationFactory(submitted=True, status=status, tranche=tranche)
        for status in (Status.SUBMITTED, Status.IN_REVIEW, Status.INFORMATION_REQUESTED, Status.RESUBMITTED)
    ]
    ApplicationFactory(submitted=True, status=Status.INELIGIBLE, tranche=tranche)
    listed = ", ".join(application.reference for application in waiting)

    with pytest.raises(ValidationError) as confirming:
        allocation_services.confirm_allocation(run=run, user=approver)
    with pytest.raises(ValidationError) as preparing:
        allocation_services.prepare_allocation(tranche=tranche, user=assessor)

    message = f"4 applications are still awaiting assessment: {listed}."
    assert confirming.value.messages == [message]
    assert preparing.value.messages == [message]
    assert AllocationRun.objects.get(pk=run.pk).status == RunStatus.PREVIEW
    assert not Decision.objects.exists()


def test_a_preview_not_made_with_the_sealed_seed_cannot_be_confirmed():
    tranche = closed_tranche()
    three_requests(tranche)
    run = allocation_services.prepare_allocation(tranche=tranche, user=agency(assessor=True))
    # As a preview stored before seeds were sealed, with a seed its preparer chose.
    AllocationRun.objects.filter(pk=run.pk).update(seed=run.seed + 1)

    with pytest.raises(ValidationError, match="not made with the sealed seed"):
        allocation_services.confirm_allocation(run=run, user=agency(approver=True))

    assert not Decision.objects.exists()
