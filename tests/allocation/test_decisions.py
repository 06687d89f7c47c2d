"""Preparing, confirming and reproducing allocation runs; the decisions and letters they issue."""

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from accounts.spreadsheets import csv_bytes
from allocation import selectors as allocation_selectors
from allocation import services as allocation_services
from allocation.models import AllocationRun, Decision, RunStatus
from applications import services
from applications.models import Status, StatusChange
from grants.models import Window
from tests.allocation.sealing import closed_tranche, seal
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def make_tranche(ceiling="200000.00", **settings):
    """A tranche that has closed, so that it may be allocated."""
    return closed_tranche(budget_ceiling=Decimal(ceiling), **settings)


def apply(tranche, units, municipality="GM0363", **fields):
    """An eligible application of `units` permanent homeless units at € 7,000 each."""
    return ApplicationFactory(
        eligible=True,
        tranche=tranche,
        municipality__code=municipality,
        lines=[("homeless", units, "permanent")],
        **fields,
    )


def test_preview_stores_ranked_lines_and_changes_no_application(assessor):
    tranche = make_tranche(ceiling="200000.00")
    first, second, third = apply(tranche, 10), apply(tranche, 10), apply(tranche, 10)
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    lines = list(run.lines.order_by("rank"))
    assert [(line.application, line.proposed, line.outcome) for line in lines] == [
        (first, Decimal("70000.00"), "funded"),
        (second, Decimal("70000.00"), "funded"),
        (third, Decimal("60000.00"), "partial"),
    ]
    assert (run.status, run.ceiling, run.requested_total, run.oversubscription) == (
        RunStatus.PREVIEW,
        Decimal("200000.00"),
        Decimal("210000.00"),
        Decimal("10000.00"),
    )
    assert [item["reference"] for item in run.inputs] == [first.reference, second.reference, third.reference]
    assert run.rules["last_application_rule"] == "partial"
    assert set(tranche.applications.values_list("status", flat=True)) == {Status.ELIGIBLE}


def test_confirming_issues_decisions_and_moves_applications(assessor, approver):
    tranche = make_tranche(ceiling="100000.00", last_application_rule="partial")
    funded, partial, refused = apply(tranche, 10), apply(tranche, 10), apply(tranche, 10)
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    allocation_services.confirm_allocation(run=run, user=approver)
    run.refresh_from_db()
    assert (run.status, run.approved_by) == (RunStatus.CONFIRMED, approver)
    decisions = {d.application_id: d for d in Decision.objects.filter(run=run)}
    assert (decisions[funded.pk].outcome, decisions[funded.pk].amount) == ("granted", Decimal("70000.00"))
    assert (decisions[partial.pk].outcome, decisions[partial.pk].amount) == ("partially_granted", Decimal("30000.00"))
    assert (decisions[refused.pk].outcome, decisions[refused.pk].amount) == ("refused", Decimal("0.00"))
    assert decisions[refused.pk].reason == "budget_exhausted"
    for application, status in ((funded, "granted"), (partial, "partially_granted"), (refused, "refused")):
        application.refresh_from_db()
        assert application.status == status
        change = StatusChange.objects.filter(application=application).latest("id")
        assert (change.from_status, change.to_status, change.actor) == ("eligible", status, approver)
        assert change.reason


def test_obligation_dates_follow_the_tranche_settings(assessor, approver):
    tranche = make_tranche(
        months_to_start=6,
        months_to_complete=60,
        years_for_target_groups=10,
        opens_at=datetime(2023, 5, 30, 9, tzinfo=AMSTERDAM),
        closes_at=datetime(2023, 7, 7, 17, tzinfo=AMSTERDAM),
    )
    application = apply(tranche, 10)
    with time_machine.travel(datetime(2023, 8, 31, 10, tzinfo=AMSTERDAM), tick=False):
        run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
        allocation_services.confirm_allocation(run=run, user=approver)
    decision = Decision.objects.get(application=application)
    assert decision.decision_date.isoformat() == "2023-08-31"
    assert decision.start_construction_by.isoformat() == "2024-02-29"
    assert decision.complete_by.isoformat() == "2028-08-31"
    assert decision.units_available_until.isoformat() == "2038-08-31"


def test_empty_window_gives_an_empty_run_that_confirms_without_decisions(assessor, approver):
    tranche = make_tranche()
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    assert (run.lines.count(), run.requested_total, run.proposed_total, run.oversubscription) == (0, 0, 0, 0)
    allocation_services.confirm_allocation(run=run, user=approver)
    run.refresh_from_db()
    assert run.status == RunStatus.CONFIRMED
    assert not Decision.objects.filter(run=run).exists()


def test_refused_decision_has_no_obligation_dates(assessor, approver):
    tranche = make_tranche(ceiling="50000.00", last_application_rule="skip")
    application = apply(tranche, 10)
    allocation_services.confirm_allocation(
        run=allocation_services.prepare_allocation(tranche=tranche, user=assessor), user=approver
    )
    decision = Decision.objects.get(application=application)
    assert (decision.outcome, decision.start_construction_by, decision.complete_by) == ("refused", None, None)


def test_preparer_cannot_confirm_their_own_run():
    approver = UserFactory(approver=True)
    tranche = make_tranche()
    apply(tranche, 10)
    run = allocation_services.prepare_allocation(tranche=tranche, user=approver)
    with pytest.raises(PermissionDenied, match="another approver"):
        allocation_services.confirm_allocation(run=run, user=approver)
    run.refresh_from_db()
    assert run.status == RunStatus.PREVIEW
    assert not Decision.objects.exists()


def test_assessor_cannot_confirm(assessor):
    tranche = make_tranche()
    apply(tranche, 10)
    run = allocation_services.prepare_allocation(tranche=tranche, user=UserFactory(approver=True))
    with pytest.raises(PermissionDenied, match="approver"):
        allocation_services.confirm_allocation(run=run, user=assessor)


def test_municipal_user_cannot_prepare():
    tranche = make_tranche()
    with pytest.raises(PermissionDenied):
        allocation_services.prepare_allocation(tranche=tranche, user=UserFactory(signatory=True))


def test_database_refuses_an_approver_who_prepared_the_run(assessor):
    tranche = make_tranche()
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    with pytest.raises(IntegrityError), transaction.atomic():
        AllocationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.CONFIRMED, approved_by=assessor, confirmed_at=timezone.now()
        )


def test_database_refuses_a_second_confirmed_run_for_a_window(assessor, approver):
    tranche = make_tranche()
    apply(tranche, 10)
    first = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    second = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    allocation_services.confirm_allocation(run=first, user=approver)
    with pytest.raises(IntegrityError), transaction.atomic():
        AllocationRun.objects.filter(pk=second.pk).update(
            status=RunStatus.CONFIRMED, approved_by=approver, confirmed_at=timezone.now()
        )


def test_confirmed_run_cannot_be_confirmed_again_or_discarded(assessor, approver):
    tranche = make_tranche()
    apply(tranche, 10)
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    allocation_services.confirm_allocation(run=run, user=approver)
    with pytest.raises(PermissionDenied, match="already been confirmed"):
        allocation_services.confirm_allocation(run=run, user=UserFactory(approver=True))
    with pytest.raises(PermissionDenied, match="already been confirmed"):
        allocation_services.discard_allocation(run=run, user=approver)
    assert AllocationRun.objects.filter(pk=run.pk, status=RunStatus.CONFIRMED).exists()


def test_preview_can_be_discarded(assessor):
    tranche = make_tranche()
    apply(tranche, 10)
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    allocation_services.discard_allocation(run=run, user=assessor)
    assert not AllocationRun.objects.exists()


def test_second_preview_of_a_confirmed_window_is_refused(assessor, approver):
    tranche = make_tranche()
    apply(tranche, 10)
    allocation_services.confirm_allocation(
        run=allocation_services.prepare_allocation(tranche=tranche, user=assessor), user=approver
    )
    with pytest.raises(ValidationError, match="already has a confirmed allocation"):
        allocation_services.prepare_allocation(tranche=tranche, user=assessor)


def test_stale_preview_is_refused_after_an_application_was_withdrawn(assessor, approver):
    tranche = make_tranche()
    signatory = UserFactory(signatory=True, municipality__code="GM0363")
    apply(tranche, 10)
    withdrawn = apply(tranche, 10)
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    services.withdraw_application(application=withdrawn, user=signatory, reason="Project gestopt")
    with pytest.raises(ValidationError, match="changed since this preview"):
        allocation_services.confirm_allocation(run=run, user=approver)
    assert not Decision.objects.exists()


def test_confirmation_that_would_exceed_the_tranche_ceiling_is_refused(assessor, approver):
    tranche = make_tranche(ceiling="100000.00")
    first = Window.objects.get(tranche=tranche)
    first.budget_ceiling = Decimal("80000.00")
    first.save()
    second = Window.objects.create(tranche=tranche, code="more", name="More", budget_ceiling=Decimal("80000.00"))
    second.eligible_target_groups.set(first.eligible_target_groups.all())
    apply(tranche, 11, window=first)
    apply(tranche, 11, window=second)
    run_first = allocation_services.prepare_allocation(tranche=tranche, window=first, user=assessor)
    run_second = allocation_services.prepare_allocation(tranche=tranche, window=second, user=assessor)
    allocation_services.confirm_allocation(run=run_first, user=approver)
    with pytest.raises(ValidationError, match="over a budget ceiling"):
        allocation_services.confirm_allocation(run=run_second, user=approver)
    assert allocation_selectors.granted_per_window(tranche=tranche) == {first.pk: Decimal("77000.00")}


def test_window_run_uses_what_is_left_of_the_tranche_after_earlier_grants(assessor, approver):
    tranche = make_tranche(ceiling="100000.00")
    first = Window.objects.get(tranche=tranche)
    second = Window.objects.create(tranche=tranche, code="more", name="More", budget_ceiling=Decimal("80000.00"))
    second.eligible_target_groups.set(first.eligible_target_groups.all())
    apply(tranche, 10, window=first)
    late = apply(tranche, 10, window=second)
    allocation_services.confirm_allocation(
        run=allocation_services.prepare_allocation(tranche=tranche, window=first, user=assessor), user=approver
    )
    run = allocation_services.prepare_allocation(tranche=tranche, window=second, user=assessor)
    line = run.lines.get(application=late)
    assert (run.ceiling, line.proposed, line.outcome) == (Decimal("30000.00"), Decimal("30000.00"), "partial")


def test_unused_budget_of_a_confirmed_window_is_transferred_when_the_tranche_allows_it(assessor, approver):
    tranche = make_tranche(ceiling="200000.00", transfer_unused_between_windows=True)
    first = Window.objects.get(tranche=tranche)
    first.budget_ceiling = Decimal("100000.00")
    first.save()
    second = Window.objects.create(tranche=tranche, code="more", name="More", budget_ceiling=Decimal("100000.00"))
    second.eligible_target_groups.set(first.eligible_target_groups.all())
    apply(tranche, 5, window=first)
    big = apply(tranche, 20, window=second)
    allocation_services.confirm_allocation(
        run=allocation_services.prepare_allocation(tranche=tranche, window=first, user=assessor), user=approver
    )
    run = allocation_services.prepare_allocation(tranche=tranche, window=second, user=assessor)
    assert run.ceiling == Decimal("165000.00")
    assert run.lines.get(application=big).outcome == "funded"


def test_allocation_uses_the_ceiling_in_force_when_prepared(assessor):
    tranche = make_tranche(ceiling="70000.00")
    tranche.windows.update(budget_ceiling=Decimal("140000.00"))
    apply(tranche, 10)
    second = apply(tranche, 10)
    tranche.amendments.create(
        kind="ceiling",
        publication_reference="Stcrt. 2022, 25169",
        effective_at=timezone.now() - timedelta(hours=1),
        old_ceiling=Decimal("70000.00"),
        new_ceiling=Decimal("140000.00"),
    )
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    assert run.ceiling == Decimal("140000.00")
    assert run.lines.get(application=second).outcome == "funded"


def test_application_ranks_by_its_completion_instant_when_the_tranche_says_so(assessor):
    tranche = make_tranche(ceiling="70000.00", ranking_instant="completion", last_application_rule="skip")
    opened = timezone.now() - timedelta(hours=5)
    completed_late = apply(tranche, 10, received_at=opened, completed_at=opened + timedelta(hours=3))
    complete_at_once = apply(tranche, 10, received_at=opened + timedelta(hours=1))
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    assert list(run.lines.order_by("rank").values_list("application", "outcome")) == [
        (complete_at_once.pk, "funded"),
        (completed_late.pk, "reserve"),
    ]


def test_application_ranks_by_first_receipt_when_the_tranche_says_so(assessor):
    tranche = make_tranche(ceiling="70000.00", ranking_instant="receipt", last_application_rule="skip")
    opened = timezone.now() - timedelta(hours=5)
    completed_late = apply(tranche, 10, received_at=opened, completed_at=opened + timedelta(hours=3))
    apply(tranche, 10, received_at=opened + timedelta(hours=1))
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    assert run.lines.get(rank=1).application == completed_late


def test_same_day_lottery_run_is_reproduced_from_its_seed(assessor):
    tranche = make_tranche(ceiling="140000.00")
    tranche.windows.update(ranking_method="first_come_same_day_lottery")
    day_before = datetime(2023, 5, 30, 9, tzinfo=AMSTERDAM)
    lottery_day = datetime(2023, 5, 31, 9, tzinfo=AMSTERDAM)
    early = apply(tranche, 10, received_at=day_before)
    same_day = [apply(tranche, 10, received_at=lottery_day + timedelta(minutes=n)) for n in range(6)]
    seal(tranche, 20230707)
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    assert run.seed == 20230707
    ranked = list(run.lines.order_by("rank").values_list("application__reference", flat=True))
    redrawn = sorted(
        (a.reference for a in same_day), key=lambda ref: hashlib.sha256(f"20230707:{ref}".encode()).hexdigest()
    )
    assert ranked == [early.reference, *redrawn]
    assert run.rules["windows"][0]["lottery_day"] == "2023-05-31"


def test_confirmed_run_is_reproduced_exactly_from_its_snapshot(assessor, approver):
    tranche = make_tranche(ceiling="150000.00", max_per_municipality=Decimal("100000.00"))
    tranche.windows.update(ranking_method="lottery")
    for number in range(8):
        apply(tranche, 5 + number, municipality=["GM0363", "GM0344", "GM0599"][number % 3])
    seal(tranche, 77)
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    allocation_services.confirm_allocation(run=run, user=approver)
    assert allocation_selectors.run_is_reproducible(run=run)


def test_same_inputs_and_seed_give_an_identical_run(assessor):
    tranche = make_tranche(ceiling="150000.00")
    tranche.windows.update(ranking_method="lottery")
    for number in range(8):
        apply(tranche, 5 + number)
    seal(tranche, 5)

    def outcome(run):
        return list(run.lines.order_by("rank").values_list("application__reference", "proposed", "outcome", "reason"))

    first = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    again = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    # Only an auditor's computation can take another seed: a preview always takes the sealed one.
    [other_seed] = allocation_selectors.compute_allocation(tranche=tranche, seed=6).results
    assert outcome(first) == outcome(again)
    assert outcome(first) != [
        (line.candidate.reference, line.proposed, line.outcome, line.reason) for line in other_seed.lines
    ]


def test_tampered_run_is_not_reproducible(assessor):
    tranche = make_tranche(ceiling="100000.00")
    apply(tranche, 10)
    apply(tranche, 10)
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    run.lines.filter(rank=2).update(proposed=Decimal("70000.00"), outcome="funded", reason="fits")
    assert not allocation_selectors.run_is_reproducible(run=run)


def test_ranked_list_exports_as_csv(assessor):
    tranche = make_tranche(ceiling="100000.00")
    first = apply(tranche, 10)
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor)
    with translation.override("en"):
        header, row = csv_bytes(*allocation_selectors.ranked_list_table(run=run)).decode("utf-8-sig").splitlines()
    assert header.startswith("window;rank;receipt number;CBS code;municipality")
    assert row.startswith(f"{tranche.windows.get().name};1;{first.reference};GM0363;")
    assert ";70000,00;70000,00;70000,00;funded;The request fits within the budget ceiling.;no" in row
