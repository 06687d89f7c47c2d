"""Budget that comes free goes to the reserve list: later decisions, the budget left and supplementary runs."""

import io
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from accounts.services import sync_agency_group
from allocation import reserve, services
from allocation.budget import budget_left
from allocation.decision_letters import render_decision_letter
from allocation.models import AllocationEvent, AllocationRun, Decision, DecisionKind, DecisionOutcome
from allocation.selectors import current_decision, run_is_reproducible
from applications.models import Status, StatusChange
from grants.models import AmendmentKind, Window
from grants.services import load_reference_data
from ministry.models import TotalsRow
from tests.allocation.reserve import amend, apply, approver, assessor, decided, raise_ceiling, supplementary
from tests.allocation.sealing import closed_tranche
from tests.factories import UserFactory
from tests.figures import allocate
from tests.portal import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def issue(application, amount, **kwargs):
    kwargs.setdefault("kind", DecisionKind.WITHDRAWAL)
    kwargs.setdefault("user", approver())
    kwargs.setdefault("explanation", "Reden.")
    with transaction.atomic():
        return services.issue_decision(application=application, amount=Decimal(amount), **kwargs)


# --- a later decision on one case ------------------------------------------------------------------------


def test_lowering_a_grant_replaces_the_decision_and_keeps_its_deadlines():
    _, (application,) = decided("1000000.00", 10)
    first = current_decision(application=application)
    later = issue(application, "30000.00", on=first.decision_date + timedelta(days=90))
    first.refresh_from_db()
    assert (first.is_current, later.is_current, later.replaces) == (False, True, first)
    assert (later.outcome, later.amount, later.requested) == (
        DecisionOutcome.PARTIALLY_GRANTED,
        Decimal("30000.00"),
        Decimal("70000.00"),
    )
    assert (later.start_construction_by, later.complete_by, later.units_available_until) == (
        first.start_construction_by,
        first.complete_by,
        first.units_available_until,
    )
    application.refresh_from_db()
    assert application.status == Status.PARTIALLY_GRANTED
    change = StatusChange.objects.filter(application=application).latest("at", "id")
    assert (change.from_status, change.to_status, change.reason) == (Status.GRANTED, Status.PARTIALLY_GRANTED, "Reden.")


def test_lowering_a_grant_to_nothing_withdraws_it():
    _, (application,) = decided("1000000.00", 10)
    later = issue(application, "0")
    assert (later.outcome, later.start_construction_by) == (DecisionOutcome.WITHDRAWN, None)
    application.refresh_from_db()
    assert application.status == Status.GRANT_WITHDRAWN


def test_a_grant_replacing_a_refusal_gets_deadlines_from_its_own_date():
    tranche, (_, refused) = decided("70000.00", 10, 10)
    assert current_decision(application=refused).outcome == DecisionOutcome.REFUSED
    on = date(2030, 1, 31)
    later = issue(refused, "70000.00", kind=DecisionKind.OBJECTION, on=on)
    assert later.outcome == DecisionOutcome.GRANTED
    assert later.start_construction_by == services.add_months(on, tranche.months_to_start)
    assert later.complete_by == services.add_months(on, tranche.months_to_complete)


def test_a_refusal_confirmed_again_stays_a_refusal():
    _, (_, refused) = decided("70000.00", 10, 10)
    assert issue(refused, "0", kind=DecisionKind.OBJECTION).outcome == DecisionOutcome.REFUSED


def test_a_change_decision_takes_the_deadlines_it_is_given():
    _, (application,) = decided("1000000.00", 10)
    first = current_decision(application=application)
    later_dates = Decision(
        start_construction_by=first.start_construction_by + timedelta(days=180),
        complete_by=first.complete_by + timedelta(days=365),
        units_available_until=first.units_available_until + timedelta(days=365),
    )
    later = issue(application, first.amount, kind=DecisionKind.CHANGE, obligations_from=later_dates)
    assert (later.outcome, later.start_construction_by, later.complete_by) == (
        DecisionOutcome.GRANTED,
        later_dates.start_construction_by,
        later_dates.complete_by,
    )


@pytest.mark.parametrize("amount", ["-1.00", "70000.01"])
def test_a_later_decision_cannot_grant_below_nothing_or_above_the_request(amount):
    _, (application,) = decided("1000000.00", 10)
    with pytest.raises(ValidationError):
        issue(application, amount)
    assert current_decision(application=application).kind == DecisionKind.ALLOCATION


def test_a_later_decision_needs_one_to_replace():
    application = apply(closed_tranche(), 10)
    with pytest.raises(ValidationError):
        issue(application, "0")
    assert not Decision.objects.filter(application=application).exists()


def test_a_later_decision_announces_itself_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    _, (application,) = decided("1000000.00", 10)
    announced = []
    monkeypatch.setattr(services.signals.decision_issued, "send", lambda **kwargs: announced.append(kwargs))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        later = issue(application, "35000.00")
    assert announced == []
    for callback in callbacks:
        callback()
    assert announced == [{"sender": Decision, "decision": later}]


def test_a_later_decision_gets_its_letter_and_dispatch_day_after_commit(django_capture_on_commit_callbacks):
    _, (application,) = decided("1000000.00", 10)
    with django_capture_on_commit_callbacks(execute=True):
        later = issue(application, "35000.00")
    later.refresh_from_db()
    assert later.letter_pdf and later.dispatched_on == timezone.localdate()
    html = later.letter_html.read().decode()
    assert "35.000,00" in html


# --- the budget left ------------------------------------------------------------------------------------


def test_budget_left_is_the_ceiling_in_force_less_what_the_grants_commit():
    tranche, (first, _) = decided("100000.00", 10, 10)
    assert budget_left(tranche=tranche).total == 0
    issue(first, "50000.00")
    left = budget_left(tranche=tranche)
    assert (left.ceiling, left.committed, left.total) == (
        Decimal("100000.00"),
        Decimal("80000.00"),
        Decimal("20000.00"),
    )
    raise_ceiling(tranche, "150000.00")
    assert budget_left(tranche=tranche).total == Decimal("70000.00")


def test_budget_left_needs_room_under_the_window_ceiling_too():
    tranche, _ = decided("70000.00", 10, 10)
    # The tranche's ceiling rises but its only window (deelplafond) keeps its own.
    amend(tranche, AmendmentKind.CEILING, new_ceiling=Decimal("140000.00"))
    assert budget_left(tranche=tranche).total == 0


def test_budget_left_is_never_below_zero_and_a_grant_above_the_ceiling_is_filled_first():
    tranche, (first, refused) = decided("70000.00", 10, 10)
    issue(refused, "70000.00", kind=DecisionKind.OBJECTION, over_commitment=Decimal("70000.00"))
    assert budget_left(tranche=tranche).total == 0
    assert budget_left(tranche=tranche).over_ceiling == Decimal("70000.00")
    issue(first, "20000.00")
    # The 50,000 that came free fills the gap above the ceiling; nothing is left for the reserve list.
    left = budget_left(tranche=tranche)
    assert (left.total, left.over_ceiling) == (0, Decimal("20000.00"))


# --- supplementary runs ---------------------------------------------------------------------------------


def test_supplementary_run_serves_the_reserve_list_in_rank_order():
    tranche, (first, second, third, fourth) = decided("140000.00", 10, 10, 10, 10)
    assert [current_decision(application=a).outcome for a in (third, fourth)] == ["refused", "refused"]
    raise_ceiling(tranche, "210000.00")
    run = supplementary(tranche)
    assert (run.kind, run.window, run.status) == ("supplementary", None, "confirmed")
    assert [(line.application, line.rank, line.outcome) for line in run.lines.order_by("rank")] == [
        (third, 3, "funded"),
        (fourth, 4, "reserve"),
    ]
    granted = current_decision(application=third)
    assert (granted.kind, granted.run, granted.outcome, granted.amount) == (
        DecisionKind.SUPPLEMENTARY,
        run,
        DecisionOutcome.GRANTED,
        Decimal("70000.00"),
    )
    assert granted.replaces.outcome == DecisionOutcome.REFUSED and granted.replaces.kind == DecisionKind.ALLOCATION
    assert current_decision(application=fourth).kind == DecisionKind.ALLOCATION
    third.refresh_from_db()
    assert third.status == Status.GRANTED
    assert [current_decision(application=a).kind for a in (first, second)] == ["allocation", "allocation"]


def test_partially_granted_applications_keep_their_amount():
    tranche, (_, partial) = decided("100000.00", 10, 10)
    assert current_decision(application=partial).amount == Decimal("30000.00")
    raise_ceiling(tranche, "200000.00")
    with pytest.raises(ValidationError, match="Nobody is on the reserve list"):
        reserve.prepare_supplementary(tranche=tranche, user=assessor())
    assert current_decision(application=partial).amount == Decimal("30000.00")


def test_supplementary_run_grants_the_rest_of_the_budget_under_the_partial_rule():
    tranche, (_, _, third, fourth) = decided("140000.00", 10, 10, 10, 10)
    raise_ceiling(tranche, "175000.00")
    supplementary(tranche)
    assert current_decision(application=third).amount == Decimal("35000.00")
    assert current_decision(application=fourth).outcome == DecisionOutcome.REFUSED


def test_supplementary_run_under_the_skip_rule_funds_a_smaller_request_further_down():
    tranche = closed_tranche(budget_ceiling=Decimal("70000.00"), last_application_rule="skip")
    apply(tranche, 10)
    big, small = apply(tranche, 10), apply(tranche, 5)
    allocate(tranche)
    raise_ceiling(tranche, "105000.00")
    supplementary(tranche)
    assert current_decision(application=big).outcome == DecisionOutcome.REFUSED
    assert current_decision(application=small).amount == Decimal("35000.00")


def test_supplementary_run_respects_the_municipal_cap():
    tranche = closed_tranche(
        budget_ceiling=Decimal("140000.00"), max_per_municipality=Decimal("100000.00"), last_application_rule="skip"
    )
    held, capped, other = apply(tranche, 10), apply(tranche, 10), apply(tranche, 10, municipality="GM0344")
    allocate(tranche)
    assert [current_decision(application=a).outcome for a in (held, capped, other)] == [
        "granted",
        "refused",
        "granted",
    ]
    raise_ceiling(tranche, "280000.00")
    run = supplementary(tranche)
    (line,) = run.lines.all()
    assert (line.application, line.outcome, line.reason) == (capped, "refused", "municipal_cap")
    assert current_decision(application=capped).outcome == DecisionOutcome.REFUSED
    # Once Amsterdam holds less, the same budget reaches its application on the reserve list.
    issue(held, "0")
    supplementary(tranche)
    assert current_decision(application=capped).amount == Decimal("70000.00")


def test_supplementary_run_transfers_budget_between_windows_when_the_tranche_allows_it():
    tranche = closed_tranche(
        budget_ceiling=Decimal("140000.00"), transfer_unused_between_windows=True, last_application_rule="skip"
    )
    first = tranche.windows.get()
    first.budget_ceiling = Decimal("70000.00")
    first.save()
    second = Window.objects.create(tranche=tranche, code="zz", name="Tweede", budget_ceiling=Decimal("70000.00"))
    funded, waiting = apply(tranche, 10, window=first), apply(tranche, 10, window=first)
    other = apply(tranche, 5, window=second)
    allocate(tranche)
    assert current_decision(application=waiting).outcome == DecisionOutcome.REFUSED
    issue(other, "0")
    run = supplementary(tranche)
    (line,) = run.lines.all()
    assert (line.application, line.outcome, line.reason) == (waiting, "funded", "transfer")
    assert current_decision(application=waiting).amount == Decimal("70000.00")
    assert funded.decisions.count() == 1


def test_supplementary_run_without_transfers_stays_inside_each_window():
    tranche = closed_tranche(budget_ceiling=Decimal("140000.00"), last_application_rule="skip")
    first = tranche.windows.get()
    first.budget_ceiling = Decimal("70000.00")
    first.save()
    second = Window.objects.create(tranche=tranche, code="zz", name="Tweede", budget_ceiling=Decimal("70000.00"))
    apply(tranche, 10, window=first)
    waiting = apply(tranche, 10, window=first)
    other = apply(tranche, 5, window=second)
    allocate(tranche)
    issue(other, "0")
    run = supplementary(tranche)
    assert run.lines.get().outcome == "reserve"
    assert current_decision(application=waiting).outcome == DecisionOutcome.REFUSED


def test_supplementary_run_needs_a_second_person():
    tranche, _ = decided("70000.00", 10, 10)
    raise_ceiling(tranche, "140000.00")
    preparer = assessor()
    preparer_approver = approver()
    run = reserve.prepare_supplementary(tranche=tranche, user=preparer_approver)
    with pytest.raises(PermissionDenied):
        reserve.confirm_supplementary(run=run, user=preparer_approver)
    with pytest.raises(PermissionDenied):
        reserve.confirm_supplementary(run=run, user=preparer)
    run.refresh_from_db()
    assert run.status == "preview"


def test_supplementary_run_without_budget_left_is_refused():
    tranche, _ = decided("70000.00", 10, 10)
    with pytest.raises(ValidationError, match="No budget is left"):
        reserve.prepare_supplementary(tranche=tranche, user=assessor())
    assert not AllocationRun.objects.filter(kind="supplementary").exists()


def test_supplementary_run_waits_for_a_confirmed_allocation():
    tranche = closed_tranche()
    apply(tranche, 10)
    with pytest.raises(ValidationError, match="no confirmed allocation"):
        reserve.prepare_supplementary(tranche=tranche, user=assessor())


def test_a_supplementary_preview_that_no_longer_fits_is_refused():
    tranche, (_, second, third) = decided("70000.00", 10, 10, 10)
    raise_ceiling(tranche, "140000.00")
    run = reserve.prepare_supplementary(tranche=tranche, user=assessor())
    # Meanwhile the second is granted on objection: the budget the preview offered is gone.
    issue(second, "70000.00", kind=DecisionKind.OBJECTION)
    with pytest.raises(ValidationError, match="has changed since this preview"):
        reserve.confirm_supplementary(run=run, user=approver())
    assert current_decision(application=third).outcome == DecisionOutcome.REFUSED


def test_supplementary_run_is_recorded_and_reproducible():
    tranche, _ = decided("70000.00", 10, 10, 10)
    raise_ceiling(tranche, "140000.00")
    run = supplementary(tranche)
    kinds = list(
        AllocationEvent.objects.filter(run_public_id=run.public_id).order_by("at", "id").values_list("kind", flat=True)
    )
    assert kinds == ["previewed", "confirmed"]
    assert run_is_reproducible(run=run)
    assert run.seed == tranche.lottery_seed.seed


def test_a_supplementary_run_is_not_confirmed_as_an_initial_one():
    tranche, _ = decided("70000.00", 10, 10)
    raise_ceiling(tranche, "140000.00")
    run = reserve.prepare_supplementary(tranche=tranche, user=assessor())
    with pytest.raises(ValidationError):
        services.confirm_allocation(run=run, user=approver())


def test_supplementary_run_letters_and_totals_follow_its_confirmation(django_capture_on_commit_callbacks):
    tranche, (_, second) = decided("70000.00", 10, 10)
    raise_ceiling(tranche, "140000.00")
    with django_capture_on_commit_callbacks(execute=True):
        run = supplementary(tranche)
    granted = current_decision(application=second)
    assert granted.letter_pdf and granted.dispatched_on == timezone.localdate()
    assert TotalsRow.objects.exists()
    assert run.decisions.get() == granted


# --- the allocate command -------------------------------------------------------------------------------


def _allocate_command(*args):
    out = io.StringIO()
    with translation.override("en"):
        call_command("allocate", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_allocate_command_confirms_a_supplementary_run_after_a_ceiling_raise():
    tranche, (first, second, third) = decided("70000.00", 10, 10, 10)
    UserFactory(password=None, assessor=True, username="anna")
    UserFactory(password=None, approver=True, username="bram")
    raise_ceiling(tranche, "140000.00")
    output = _allocate_command("--tranche", tranche.slug, "--confirm", "--prepared-by", "anna", "--approved-by", "bram")
    run = AllocationRun.objects.get(kind="supplementary")
    assert (run.status, run.prepared_by.username, run.approved_by.username) == ("confirmed", "anna", "bram")
    assert f"Confirmed run {run.public_id}: 1 decisions." in output
    assert f"Reserve list: 1. {third.reference}" in output
    assert current_decision(application=second).kind == DecisionKind.SUPPLEMENTARY
    assert [current_decision(application=a).kind for a in (first, third)] == ["allocation", "allocation"]


def test_allocate_command_prints_the_reserve_list_run_and_stores_nothing():
    tranche, (_, second) = decided("70000.00", 10, 10)
    raise_ceiling(tranche, "105000.00")
    output = _allocate_command("--tranche", tranche.slug)
    assert second.reference in output and "35,000.00" in output
    assert not AllocationRun.objects.filter(kind="supplementary").exists()
    # A printed preview stores no run; its event says which account printed it.
    assert AllocationEvent.objects.filter(kind="previewed", run_public_id__isnull=True).exists()


def test_allocate_command_without_budget_left_says_so_in_one_line():
    tranche, _ = decided("70000.00", 10, 10)
    UserFactory(password=None, assessor=True, username="anna")
    UserFactory(password=None, approver=True, username="bram")
    with pytest.raises(CommandError) as refused:
        _allocate_command("--tranche", tranche.slug, "--confirm", "--prepared-by", "anna", "--approved-by", "bram")
    assert str(refused.value) == "No budget is left in this tranche for the reserve list."
    assert not AllocationRun.objects.filter(kind="supplementary").exists()


# --- letters --------------------------------------------------------------------------------------------


def test_new_grant_letter_refers_to_the_refusal_it_replaces():
    tranche, (_, second) = decided("70000.00", 10, 10)
    refusal = current_decision(application=second)
    raise_ceiling(tranche, "140000.00")
    run = supplementary(tranche)
    granted = current_decision(application=second)
    letter = _letter(granted)
    assert "Alsnog verlening van een specifieke uitkering" in letter
    with translation.override("nl"):
        assert f"Dit besluit vervangt ons besluit van {date_format(refusal.decision_date, 'j F Y')}" in letter
    assert "weigerden wij de uitkering" in letter and "reservelijst" in letter
    assert "€ 70.000,00" in letter and run.ranked_list_sha256 in letter
    assert "Verplichtingen" in letter


def _letter(decision):
    with translation.override("nl"):
        return render_decision_letter(decision=decision)


def test_a_withdrawal_letter_names_its_ground_and_has_no_ranking_or_obligations():
    _, (application,) = decided("1000000.00", 10)
    withdrawn = issue(application, "0", explanation="Het project gaat niet door.")
    letter = _letter(withdrawn)
    assert "Intrekking van uw specifieke uitkering" in letter
    assert "Onze redenen: Het project gaat niet door." in letter
    assert "Rangschikking en loting" not in letter and "Verplichtingen" not in letter


def test_a_lowered_grant_letter_keeps_the_obligations_and_states_both_amounts():
    _, (application,) = decided("1000000.00", 10)
    lowered = issue(application, "30000.00")
    letter = _letter(lowered)
    assert "Verlaging van uw specifieke uitkering" in letter
    assert "van € 70.000,00 naar" in letter and "€ 30.000,00" in letter
    assert "Verplichtingen" in letter


@pytest.mark.parametrize(
    ("kind", "wording"),
    [
        (DecisionKind.OBJECTION, "beroep instellen bij de rechtbank"),
        (DecisionKind.CHANGE, "de verplichtingen hieronder vervangen de eerdere"),
        (DecisionKind.RECLAIM, "vorderen wij van u terug"),
    ],
)
def test_each_later_kind_of_decision_has_its_own_paragraph(kind, wording):
    _, (application,) = decided("1000000.00", 10)
    letter = _letter(issue(application, "35000.00", kind=kind))
    assert wording in letter and "Dit besluit vervangt ons besluit" in letter


# --- the back office ------------------------------------------------------------------------------------


def _agency(**role):
    user = UserFactory(**role)
    user.groups.add(sync_agency_group())
    return user


def test_the_reserve_list_page_prepares_a_run_that_a_second_approver_confirms():
    tranche, (_, second, third) = decided("70000.00", 10, 10, 10)
    raise_ceiling(tranche, "140000.00")
    page_url = reverse("admin:grants_tranche_reserve_list", args=[tranche.pk])
    preparer = client_for(_agency(assessor=True))
    page = preparer.get(page_url).content.decode()
    assert second.reference in page and third.reference in page and "70.000,00" in page
    response = preparer.post(page_url)
    run = AllocationRun.objects.get(kind="supplementary")
    assert response["Location"] == reverse("admin:allocation_allocationrun_change", args=[run.pk])
    confirm_url = reverse("admin:allocation_allocationrun_confirm", args=[run.pk])
    client_for(_agency(approver=True)).post(confirm_url)
    run.refresh_from_db()
    assert run.status == "confirmed"
    assert current_decision(application=second).kind == DecisionKind.SUPPLEMENTARY


def test_the_reserve_list_page_says_why_nothing_can_be_prepared():
    tranche, _ = decided("70000.00", 10, 10)
    page_url = reverse("admin:grants_tranche_reserve_list", args=[tranche.pk])
    response = client_for(_agency(assessor=True)).post(page_url)
    assert response.status_code == 200
    assert "No budget is left in this tranche for the reserve list." in response.content.decode()


def test_the_reserve_list_page_keeps_its_query_count(django_assert_num_queries):
    small, _ = decided("70000.00", 10, 10)
    client = client_for(_agency(assessor=True))
    client.get(reverse("admin:grants_tranche_reserve_list", args=[small.pk]))
    with CaptureQueriesContext(connection) as baseline:
        client.get(reverse("admin:grants_tranche_reserve_list", args=[small.pk]))
    large, applications = decided("70000.00", 10, 10, 10, 10, 10, 10)
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = client.get(reverse("admin:grants_tranche_reserve_list", args=[large.pk]))
    assert applications[-1].reference in response.content.decode()


# --- at the same time -----------------------------------------------------------------------------------


@pytest.fixture
def _reference_data_restored(django_db_blocker):
    """Transactional tests end by emptying every table; put the reference data back for the tests after."""
    yield
    with django_db_blocker.unblock():
        load_reference_data()


@pytest.mark.postgres
def test_parallel_supplementary_confirmations_grant_the_freed_budget_once(
    _require_postgres, _reference_data_restored, transactional_db
):
    tranche, (_, second, third) = decided("70000.00", 10, 10, 10)
    raise_ceiling(tranche, "140000.00")
    runs = [reserve.prepare_supplementary(tranche=tranche, user=assessor()) for _ in range(2)]
    approvers = [approver() for _ in runs]
    barrier = threading.Barrier(len(runs))
    outcomes = [""] * len(runs)

    def confirm(index):
        try:
            barrier.wait()
            reserve.confirm_supplementary(run=runs[index], user=approvers[index])
            outcomes[index] = "confirmed"
        except ValidationError:
            outcomes[index] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(index,)) for index in range(len(runs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["confirmed", "refused"]
    assert current_decision(application=second).kind == DecisionKind.SUPPLEMENTARY
    assert current_decision(application=third).outcome == DecisionOutcome.REFUSED
    assert Decision.objects.filter(application=second).count() == 2
