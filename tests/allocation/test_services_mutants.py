"""What allocation.services decides and records, to the letter: deadlines of a grant, refusals of a preview or a
confirmation, the outcome of a later decision and the records each step leaves (docs/testing.md, "Mutation
testing")."""

import logging
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation

from accounts.models import AuditAction, AuditEntry
from accounts.services import sync_agency_group
from allocation import services as allocation_services
from allocation.models import (
    AllocationEvent,
    AllocationRun,
    Decision,
    DecisionKind,
    DecisionOutcome,
    EventKind,
    LotterySeed,
    RunKind,
    SeedSource,
)
from allocation.services import add_months
from applications.models import Status
from grants.models import AmendmentKind, Tranche, TrancheAmendment, Window
from tests.allocation.reserve import apply, decided
from tests.allocation.sealing import NOTARY, closed_tranche
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def agency(**role):
    user = UserFactory(password=None, **role)
    user.groups.add(sync_agency_group())
    return user


def two_windows(*, ceiling: str, first: str, second: str) -> Tranche:
    """A closed tranche with its window `all` and a window `more` open to the same groups."""
    tranche = closed_tranche(budget_ceiling=Decimal(ceiling))
    window = tranche.windows.get()
    window.budget_ceiling = Decimal(first)
    window.save(update_fields=["budget_ceiling"])
    more = Window.objects.create(tranche=tranche, code="more", name="Meer", budget_ceiling=Decimal(second))
    more.eligible_target_groups.set(window.eligible_target_groups.all())
    return tranche


def issue(application, amount):
    with transaction.atomic():
        return allocation_services.issue_decision(
            application=application,
            kind=DecisionKind.WITHDRAWAL,
            amount=Decimal(amount),
            user=agency(approver=True),
            explanation="Reden.",
        )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2027, 3, 31), 1, date(2027, 4, 30)),
        (date(2027, 11, 30), 1, date(2027, 12, 30)),
        (date(2027, 12, 15), 1, date(2028, 1, 15)),
        (date(2027, 1, 1), 11, date(2027, 12, 1)),
        (date(2027, 1, 1), 12, date(2028, 1, 1)),
        (date(2026, 12, 2), 24, date(2028, 12, 2)),
        (date(2026, 12, 2), 60, date(2031, 12, 2)),
        (date(2026, 12, 31), 0, date(2026, 12, 31)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),
    ],
)
def test_months_later_is_the_same_day_or_the_last_of_a_shorter_month(day, months, expected):
    assert add_months(day, months) == expected


# --- the seed the system draws ----------------------------------------------------------------------------


def test_the_first_preview_draws_a_seed_of_at_most_nine_digits_and_seals_it(monkeypatch, caplog):
    tranche = closed_tranche(slug="drawn")
    apply(tranche, 10)
    assessor, now = agency(assessor=True), timezone.now()
    # The highest seed the draw can give: docs/rules.md promises secrets.randbelow(10**9).
    monkeypatch.setattr(allocation_services.secrets, "randbelow", lambda below: below - 1)

    with caplog.at_level(logging.INFO, logger="allocation.services"):
        run = allocation_services.prepare_allocation(tranche=tranche, user=assessor, now=now)

    logged = [record.getMessage() for record in caplog.records if record.name == "allocation.services"]
    assert logged[0] == "seed of drawn drawn and sealed at the first preview"
    seed = LotterySeed.objects.get(tranche=tranche)
    assert (seed.seed, seed.source, seed.entered_by, seed.entered_at) == (999_999_999, SeedSource.SYSTEM, None, now)
    assert (seed.sealed_by, seed.sealed_at, run.seed) == (assessor, now, 999_999_999)
    sealing = AllocationEvent.objects.get(tranche=tranche, kind=EventKind.SEED_SEALED)
    assert (sealing.actor, sealing.at, sealing.seed, sealing.window) == (assessor, now, 999_999_999, None)
    assert sealing.detail == "Getrokken door het systeem bij de eerste voorlopige verdeling."
    audit = AuditEntry.objects.get(object_type="allocation.lotteryseed")
    assert (audit.action, audit.actor) == (AuditAction.CONFIRMATION, assessor)
    assert audit.detail == "seed of drawn drawn by the system and sealed at the first preview"


def test_previews_wait_for_the_second_person_to_seal_an_external_seed():
    tranche = closed_tranche()
    apply(tranche, 10)
    allocation_services.enter_external_seed(tranche=tranche, user=agency(assessor=True), seed=7, reference=NOTARY)

    with pytest.raises(ValidationError) as refused:
        allocation_services.prepare_allocation(tranche=tranche, user=agency(assessor=True))

    assert refused.value.messages == [
        "The seed of an external draw awaits confirmation by a second person; previews wait for it."
    ]
    assert not AllocationRun.objects.exists()


# --- when a preview may be made ---------------------------------------------------------------------------


def test_a_preview_may_be_made_from_the_instant_of_closing_and_not_a_second_before():
    closing = datetime(2026, 11, 30, 17, tzinfo=AMSTERDAM)
    tranche = closed_tranche(opens_at=closing - timedelta(days=30), closes_at=closing)
    apply(tranche, 10)
    assessor = agency(assessor=True)

    with pytest.raises(ValidationError) as refused:
        allocation_services.prepare_allocation(tranche=tranche, user=assessor, now=closing - timedelta(seconds=1))
    run = allocation_services.prepare_allocation(tranche=tranche, user=assessor, now=closing)

    assert refused.value.messages == [
        "The tranche is open until 30-11-2026 17:00; allocation waits until it has closed."
    ]
    assert run.prepared_at == closing


def test_one_application_awaiting_assessment_is_named_in_the_singular():
    tranche = closed_tranche()
    apply(tranche, 10)
    waiting = ApplicationFactory(submitted=True, status=Status.IN_REVIEW, tranche=tranche)

    with pytest.raises(ValidationError) as refused:
        allocation_services.prepare_allocation(tranche=tranche, user=agency(assessor=True))

    assert refused.value.messages == [f"1 application is still awaiting assessment: {waiting.reference}."]


def test_an_application_awaiting_assessment_in_another_window_does_not_hold_up_a_window():
    tranche = two_windows(ceiling="200000.00", first="100000.00", second="100000.00")
    window = tranche.windows.get(code="all")
    apply(tranche, 10, window=window)
    ApplicationFactory(submitted=True, tranche=tranche, window=tranche.windows.get(code="more"))

    run = allocation_services.prepare_allocation(tranche=tranche, window=window, user=agency(assessor=True))

    assert list(run.lines.values_list("window", flat=True)) == [window.pk]


def test_a_window_of_another_tranche_cannot_be_previewed():
    tranche, other = closed_tranche(), closed_tranche()

    with pytest.raises(ValidationError) as refused:
        allocation_services.prepare_allocation(tranche=tranche, window=other.windows.get(), user=agency(assessor=True))

    assert refused.value.message_dict == {"window": ["This window is not part of the tranche."]}
    assert not LotterySeed.objects.exists()


def test_a_confirmed_window_blocks_its_own_preview_and_that_of_every_window_but_not_another_window():
    tranche = two_windows(ceiling="200000.00", first="100000.00", second="100000.00")
    first, second = tranche.windows.order_by("pk")
    apply(tranche, 10, window=first)
    apply(tranche, 10, window=second)
    assessor = agency(assessor=True)
    allocation_services.confirm_allocation(
        run=allocation_services.prepare_allocation(tranche=tranche, window=first, user=assessor),
        user=agency(approver=True),
    )

    for window in (first, None):
        with pytest.raises(ValidationError) as refused:
            allocation_services.prepare_allocation(tranche=tranche, window=window, user=assessor)
        assert refused.value.messages == ["This window already has a confirmed allocation."]
    run = allocation_services.prepare_allocation(tranche=tranche, window=second, user=assessor)

    assert run.window == second


# --- what a stored preview records ------------------------------------------------------------------------


def test_a_stored_preview_records_its_lines_its_scope_and_its_money_in_the_audit_log():
    tranche = closed_tranche(slug="stored", budget_ceiling=Decimal("100000.00"))
    window = tranche.windows.get()
    first, second = apply(tranche, 10), apply(tranche, 10)
    assessor, now = agency(assessor=True), timezone.now()

    with translation.override("en"):
        run = allocation_services.prepare_allocation(tranche=tranche, window=window, user=assessor, now=now)

    assert (run.kind, run.prepared_by, run.prepared_at, run.window) == (RunKind.INITIAL, assessor, now, window)
    assert list(
        run.lines.order_by("rank").values_list(
            "application",
            "window",
            "rank",
            "category",
            "drawn",
            "requested",
            "proposed",
            "cumulative",
            "outcome",
            "reason",
        )
    ) == [
        (
            first.pk,
            window.pk,
            1,
            "",
            False,
            Decimal("70000.00"),
            Decimal("70000.00"),
            Decimal("70000.00"),
            "funded",
            "fits",
        ),
        (
            second.pk,
            window.pk,
            2,
            "",
            False,
            Decimal("70000.00"),
            Decimal("30000.00"),
            Decimal("100000.00"),
            "partial",
            "budget_remainder",
        ),
    ]
    previewed = AllocationEvent.objects.get(tranche=tranche, kind=EventKind.PREVIEWED)
    assert (previewed.window, previewed.at, previewed.detail) == (window, now, "Opgeslagen als voorlopige verdeling.")
    with translation.override("en"):
        every_window = allocation_services.prepare_allocation(tranche=tranche, user=assessor, now=now)
    summaries = AuditEntry.objects.filter(object_type="allocation.allocationrun", action=AuditAction.PREVIEW)
    assert [(entry.object_id, entry.detail) for entry in summaries.order_by("id")] == [
        (
            str(run.pk),
            "initial allocation run of stored (all): 100000.00 proposed of 140000.00 requested, ceiling 100000.00",
        ),
        (
            str(every_window.pk),
            "initial allocation run of stored (all windows): 100000.00 proposed of 140000.00 requested, "
            "ceiling 100000.00",
        ),
    ]


# --- the decisions a confirmation issues ------------------------------------------------------------------


def test_confirming_issues_for_each_line_the_decision_its_outcome_leads_to():
    tranche = closed_tranche(
        budget_ceiling=Decimal("100000.00"), months_to_start=6, months_to_complete=36, years_for_target_groups=15
    )
    tranche.windows.update(budget_ceiling=Decimal("100000.00"))
    funded, partial, reserve = apply(tranche, 10), apply(tranche, 10), apply(tranche, 10)
    run = allocation_services.prepare_allocation(tranche=tranche, user=agency(assessor=True))
    # Half past midnight in Amsterdam, still the day before in UTC: the decision is dated by the Dutch day.
    day = timezone.localdate() + timedelta(days=2)
    now = datetime.combine(day, time(0, 30), tzinfo=AMSTERDAM)

    allocation_services.confirm_allocation(run=run, user=agency(approver=True), now=now)

    decisions = {decision.application: decision for decision in Decision.objects.filter(run=run)}
    assert [
        (
            decisions[application].outcome,
            decisions[application].requested,
            decisions[application].amount,
            decisions[application].reason,
            decisions[application].decision_date,
        )
        for application in (funded, partial, reserve)
    ] == [
        ("granted", Decimal("70000.00"), Decimal("70000.00"), "fits", day),
        ("partially_granted", Decimal("70000.00"), Decimal("30000.00"), "budget_remainder", day),
        ("refused", Decimal("70000.00"), Decimal("0.00"), "budget_exhausted", day),
    ]
    for application in (funded, partial):
        decision = decisions[application]
        # The units stay for the target groups fifteen years from the completion deadline.
        assert (decision.start_construction_by, decision.complete_by, decision.units_available_until) == (
            add_months(day, 6),
            add_months(day, 36),
            add_months(day, 36 + 15 * 12),
        )
    assert (decisions[reserve].start_construction_by, decisions[reserve].units_available_until) == (None, None)


# --- the ceilings a confirmation must keep ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("transfer", "ceiling", "first", "second", "confirmed"),
    [
        (False, "70000.00", "100000.00", "100000.00", True),
        (False, "69999.99", "100000.00", "100000.00", False),
        (False, "200000.00", "70000.00", "100000.00", True),
        (False, "200000.00", "69999.99", "100000.00", False),
        (True, "200000.00", "60000.00", "10000.00", True),
        (True, "200000.00", "60000.00", "9999.99", False),
        (True, "69999.99", "100000.00", "100000.00", False),
    ],
)
def test_a_confirmation_may_take_the_grants_to_a_ceiling_lowered_since_the_preview_but_not_a_cent_over(
    transfer, ceiling, first, second, confirmed
):
    tranche = two_windows(ceiling="200000.00", first="100000.00", second="100000.00")
    tranche.transfer_unused_between_windows = transfer
    tranche.save(update_fields=["transfer_unused_between_windows"])
    window = tranche.windows.get(code="all")
    # Two grants of € 35,000 in the window: the run's lines count together.
    apply(tranche, 5, window=window)
    apply(tranche, 5, window=window)
    run = allocation_services.prepare_allocation(tranche=tranche, window=window, user=agency(assessor=True))
    if ceiling != "200000.00":
        TrancheAmendment.objects.create(
            tranche=tranche,
            kind=AmendmentKind.CEILING,
            publication_reference="Stcrt. 2026, 2",
            effective_at=timezone.now(),
            old_ceiling=Decimal("200000.00"),
            new_ceiling=Decimal(ceiling),
        )
    tranche.windows.filter(code="all").update(budget_ceiling=Decimal(first))
    tranche.windows.filter(code="more").update(budget_ceiling=Decimal(second))

    if confirmed:
        allocation_services.confirm_allocation(run=run, user=agency(approver=True))
    else:
        with pytest.raises(ValidationError) as refused:
            allocation_services.confirm_allocation(run=run, user=agency(approver=True))
        assert refused.value.messages == [
            "Confirming would take the grants over a budget ceiling; prepare a new allocation."
        ]

    assert Decision.objects.filter(run=run).exists() == confirmed


# --- the outcome of a later decision ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "outcome", "status"),
    [
        ("70000.00", DecisionOutcome.GRANTED, Status.GRANTED),
        ("1.00", DecisionOutcome.PARTIALLY_GRANTED, Status.PARTIALLY_GRANTED),
        ("0.01", DecisionOutcome.PARTIALLY_GRANTED, Status.PARTIALLY_GRANTED),
        ("0.00", DecisionOutcome.WITHDRAWN, Status.GRANT_WITHDRAWN),
    ],
)
def test_a_later_decision_on_a_partial_grant_follows_from_the_amount(amount, outcome, status):
    _, (_, application) = decided("100000.00", 10, 10)

    later = issue(application, amount)

    application.refresh_from_db()
    assert (later.outcome, later.requested, application.status) == (outcome, Decimal("70000.00"), status)


@pytest.mark.parametrize(
    ("amount", "outcome", "status"),
    [
        ("0.00", DecisionOutcome.REFUSED, Status.REFUSED),
        ("1.00", DecisionOutcome.PARTIALLY_GRANTED, Status.PARTIALLY_GRANTED),
    ],
)
def test_a_later_decision_on_a_refusal_follows_from_the_amount(amount, outcome, status):
    _, (_, application) = decided("70000.00", 10, 10)

    later = issue(application, amount)

    application.refresh_from_db()
    assert (later.outcome, application.status) == (outcome, status)


def test_a_stored_preview_of_a_category_window_keeps_each_lines_category():
    tranche = closed_tranche(slug="categories", budget_ceiling=Decimal("1000000.00"))
    Window.objects.filter(tranche=tranche).update(ranking_method="category", category_rule="student_2025")
    self_contained, shared = apply(tranche, 10), apply(tranche, 10)
    shared.unit_lines.update(self_contained=False)

    run = allocation_services.prepare_allocation(tranche=tranche, user=agency(assessor=True), now=timezone.now())

    assert list(run.lines.order_by("rank").values_list("application", "category")) == [
        (shared.pk, "A"),
        (self_contained.pk, "E"),
    ]


def test_a_preview_uses_the_ceiling_in_force_at_its_moment():
    tranche = closed_tranche(slug="moment", budget_ceiling=Decimal("100000.00"))
    apply(tranche, 10, "GM0344"), apply(tranche, 10, "GM0363")
    raised_at = timezone.now() + timedelta(days=2)
    TrancheAmendment.objects.create(
        tranche=tranche,
        kind=AmendmentKind.CEILING,
        publication_reference="Stcrt. 2026, 9",
        effective_at=raised_at,
        old_ceiling=Decimal("100000.00"),
        new_ceiling=Decimal("140000.00"),
    )

    before = allocation_services.preview_allocation(
        tranche=tranche, account="beheer", now=raised_at - timedelta(days=1)
    )
    after = allocation_services.preview_allocation(tranche=tranche, account="beheer", now=raised_at)

    # The window keeps its own ceiling of € 100,000; the tranche's is the one in force.
    assert (before.ceiling, after.ceiling) == (Decimal("100000.00"), Decimal("140000.00"))


def test_a_confirmed_supplementary_run_does_not_block_a_window_still_to_be_allocated():
    tranche = two_windows(ceiling="200000.00", first="100000.00", second="100000.00")
    first, second = tranche.windows.order_by("pk")
    apply(tranche, 10, window=first)
    apply(tranche, 10, window=second)
    assessor = agency(assessor=True)
    initial = allocation_services.prepare_allocation(tranche=tranche, window=first, user=assessor)
    allocation_services.confirm_allocation(run=initial, user=agency(approver=True))
    # The reserve list of the tranche, allocated and confirmed while the second window waits.
    initial.refresh_from_db()
    initial.pk, initial.public_id, initial.kind, initial.window = None, uuid.uuid4(), RunKind.SUPPLEMENTARY, None
    initial.save()

    run = allocation_services.prepare_allocation(tranche=tranche, window=second, user=assessor)

    assert (run.kind, run.window) == (RunKind.INITIAL, second)
