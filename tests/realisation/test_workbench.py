"""The agency's workbench: what waits on each agency user, from every stage, filtered, sorted and paged."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import sync_agency_group
from allocation import objections
from allocation.models import Decision
from allocation.services import prepare_allocation
from applications import services
from applications.models import Status
from grants.amendments import prepare_amendment
from grants.models import AmendmentKind
from realisation.changes import submit_change_request
from realisation.models import ChangeKind, ReclaimGround
from realisation.reclaims import confirm_reclaim, prepare_reclaim
from realisation.selectors import accountability_due_on
from realisation.workbench import PAGE_SIZE, WorkKind, workbench
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.figures import allocate, close
from tests.progress import granted, signatory_of

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WORKBENCH = reverse("admin:index")


def agency(**role):
    user = UserFactory(**role)
    user.groups.add(sync_agency_group())
    return user


@pytest.fixture
def assessor():
    return agency(assessor=True)


@pytest.fixture
def approver():
    return agency(approver=True)


def items(user, today=None, **params):
    return workbench(user, params or None, today=today or timezone.localdate()).items


def of_kind(user, kind, today=None, **params):
    return [item for item in items(user, today, **params) if item.kind == kind]


def received(minutes_ago: int, **fields):
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return ApplicationFactory(submitted=True, received_at=at, completed_at=at, ranks_at=at, **fields)


# --- the start page ---------------------------------------------------------------------------------------


def test_agency_staff_land_on_the_workbench(client, assessor):
    client.force_login(assessor)
    response = client.get(WORKBENCH)
    assert response.status_code == 200
    assert "admin/realisation/workbench.html" in [template.name for template in response.templates]
    # Every other back-office page stays one click away.
    assert reverse("admin:applications_application_changelist") in response.content.decode()


def test_staff_without_an_agency_role_keep_the_list_of_pages(client):
    client.force_login(UserFactory(analyst=True, is_staff=True, is_superuser=True))
    response = client.get(WORKBENCH)
    assert response.status_code == 200
    assert "admin/index.html" in [template.name for template in response.templates]


# --- what each kind lists ---------------------------------------------------------------------------------


def test_applications_to_assess_come_earliest_ranking_instant_first(assessor):
    late = received(10)
    early = received(30, status=Status.RESUBMITTED)
    middle = received(20, status=Status.IN_REVIEW)
    ApplicationFactory(eligible=True)
    ApplicationFactory()

    listed = of_kind(assessor, WorkKind.ASSESS)

    assert [item.reference for item in listed] == [early.reference, middle.reference, late.reference]
    assert listed[0].url == reverse("admin:applications_application_change", args=[early.pk])
    assert not any(item.overdue for item in listed)


def test_an_information_request_is_listed_from_the_day_after_its_last_day(assessor):
    application = received(5)
    services.start_review(application=application, user=assessor)
    services.request_information(application=application, user=assessor, reason="Raadsbesluit ontbreekt")
    deadline = application.information_requests.get().deadline

    assert of_kind(assessor, WorkKind.INFORMATION, today=deadline) == []
    [item] = of_kind(assessor, WorkKind.INFORMATION, today=deadline + timedelta(days=1))
    assert (item.reference, item.deadline, item.overdue, item.detail) == (
        application.reference,
        deadline,
        True,
        "Raadsbesluit ontbreekt",
    )


def test_a_preview_waits_on_an_approver_who_did_not_prepare_it(assessor, approver):
    tranche = TrancheFactory()
    ApplicationFactory(eligible=True, tranche=tranche)
    close(tranche)
    run = prepare_allocation(tranche=tranche, user=approver)
    other_approver = agency(approver=True)

    assert of_kind(approver, WorkKind.PREVIEW) == []
    assert of_kind(assessor, WorkKind.PREVIEW) == []
    [item] = of_kind(other_approver, WorkKind.PREVIEW)
    assert item.url == reverse("admin:allocation_allocationrun_change", args=[run.pk])
    assert WorkKind.PREVIEW not in {
        kind for kind, _count, _late in workbench(assessor, None, today=date.today()).counts
    }


def test_a_tranche_amendment_waits_on_an_approver_who_did_not_prepare_it(approver):
    tranche = TrancheFactory()
    amendment = prepare_amendment(
        tranche=tranche,
        kind=AmendmentKind.CEILING,
        publication_reference="Stcrt. 2026, 1234",
        effective_at=timezone.now() + timedelta(days=1),
        new_ceiling=tranche.budget_ceiling + Decimal("1000000"),
        user=approver,
    )

    assert of_kind(approver, WorkKind.AMENDMENT) == []
    [item] = of_kind(agency(approver=True), WorkKind.AMENDMENT)
    assert item.url == reverse("admin:grants_tranche_amendment_confirm", args=[tranche.pk, amendment.pk])


def test_an_objection_is_listed_with_its_awb_deadline_and_late_after_it(assessor):
    tranche = closed_tranche(budget_ceiling=Decimal("100000.00"), last_application_rule="stop")
    ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0344")
    ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0363")
    allocate(tranche)
    refused = Decision.objects.current().get(application__tranche=tranche, application__municipality__code="GM0363")
    objections.record_dispatch(decision=refused, user=assessor, dispatched_on=refused.decision_date)
    objection = objections.register_objection(
        decision=refused, user=assessor, received_on=timezone.localdate(), grounds="Er was nog geld over."
    )

    [item] = of_kind(assessor, WorkKind.OBJECTION)
    assert (item.reference, item.deadline, item.overdue) == (refused.application.reference, objection.deadline, False)
    [late] = of_kind(assessor, WorkKind.OBJECTION, today=objection.deadline + timedelta(days=1))
    assert late.overdue


def at(day: date):
    return time_machine.travel(datetime.combine(day, time(12), tzinfo=AMSTERDAM), tick=False)


def test_after_the_grant_missed_deadlines_change_requests_and_reclaims_wait(assessor, approver):
    grant = granted()
    start_by = grant.decision.start_construction_by
    day = start_by + timedelta(days=1)
    submit_change_request(
        application=grant,
        user=signatory_of(grant),
        kind=ChangeKind.LOCATION,
        motivation="Another plot.",
        proposed_location="Elders",
    )

    [missed] = of_kind(assessor, WorkKind.PROGRESS, today=day)
    assert (missed.reference, missed.deadline, missed.overdue) == (grant.reference, start_by, True)
    [change] = of_kind(assessor, WorkKind.CHANGE, today=day)
    assert change.url == reverse("admin:realisation_changerequest_change", args=[grant.change_requests.get().pk])

    with at(day):
        reclaim = prepare_reclaim(application=grant, user=approver, ground=ReclaimGround.START_MISSED, reason="None.")
    assert of_kind(approver, WorkKind.RECLAIM_CONFIRM, today=day) == []
    assert len(of_kind(agency(approver=True), WorkKind.RECLAIM_CONFIRM, today=day)) == 1
    assert of_kind(assessor, WorkKind.PROGRESS, today=day) == []

    with at(day):
        confirm_reclaim(reclaim=reclaim, user=agency(approver=True))
    reclaim.refresh_from_db()
    [due] = of_kind(assessor, WorkKind.RECLAIM_PAYMENT, today=reclaim.due_on + timedelta(days=1))
    assert (due.deadline, due.overdue) == (reclaim.due_on, True)


def test_an_accountability_report_not_certified_is_overdue_from_the_day_after_1_march(assessor):
    grant = granted()
    year = grant.decision.decision_date.year
    due_on = accountability_due_on(year)

    assert of_kind(assessor, WorkKind.ACCOUNTABILITY, today=due_on) == []
    [item] = of_kind(assessor, WorkKind.ACCOUNTABILITY, today=due_on + timedelta(days=1))
    assert (item.reference, item.deadline, item.overdue) == (grant.reference, due_on, True)


# --- filters, sorting, paging -------------------------------------------------------------------------------


def test_filters_by_kind_tranche_and_overdue_and_counts_per_kind(assessor):
    first, second = TrancheFactory(), TrancheFactory()
    received(5, tranche=first)
    received(6, tranche=second)
    late = received(7, tranche=second)
    services.start_review(application=late, user=assessor)
    services.request_information(application=late, user=assessor, reason="Begroting ontbreekt")
    day = late.information_requests.get().deadline + timedelta(days=1)

    assert {item.kind for item in items(assessor, day)} == {WorkKind.ASSESS, WorkKind.INFORMATION}
    assert [item.kind for item in items(assessor, day, kind="information")] == [WorkKind.INFORMATION]
    assert {item.tranche_id for item in items(assessor, day, tranche=str(second.pk))} == {second.pk}
    assert [item.reference for item in items(assessor, day, overdue="on")] == [late.reference]
    bench = workbench(assessor, {"tranche": str(second.pk)}, today=day)
    counts = {kind: (count, overdue) for kind, count, overdue in bench.counts}
    assert (counts[WorkKind.ASSESS], counts[WorkKind.INFORMATION]) == ((1, 0), (1, 1))


def test_sorts_by_deadline_first_and_by_any_column_both_ways(assessor):
    early, late = received(30), received(10)
    asked = received(20)
    services.start_review(application=asked, user=assessor)
    services.request_information(application=asked, user=assessor, reason="Planning ontbreekt")
    day = asked.information_requests.get().deadline + timedelta(days=1)

    def order(sort=None):
        return [item.reference for item in items(assessor, day, **({"sort": sort} if sort else {}))]

    # What has a deadline comes first; the rest by what it waits since.
    assert order() == [asked.reference, early.reference, late.reference]
    # An application to assess waits since its ranking instant, an information request since it was asked.
    assert order("since") == [early.reference, late.reference, asked.reference]
    assert order("-since") == [asked.reference, late.reference, early.reference]
    assert order("-deadline")[0] == asked.reference
    assert order("reference") == sorted([early.reference, late.reference, asked.reference])


def test_pages_hold_fifty_items_and_the_second_page_the_rest(client, assessor):
    for minutes in range(PAGE_SIZE + 3):
        received(minutes + 1)
    client.force_login(assessor)

    first = client.get(WORKBENCH).context["page"]
    second = client.get(WORKBENCH, {"page": 2}).context["page"]

    assert (len(first.object_list), len(second.object_list)) == (PAGE_SIZE, 3)
    assert first.object_list[0].since < second.object_list[0].since


def test_the_workbench_query_count_does_not_grow_with_the_work(client, approver):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(WORKBENCH).status_code == 200
        return len(queries)

    client.force_login(approver)
    received(1)
    few = count()
    for minutes in range(2, 12):
        received(minutes)
    granted()

    assert count() == few


def test_rows_link_to_their_pages_and_an_unknown_filter_shows_everything(client, assessor):
    application = received(3)
    client.force_login(assessor)

    response = client.get(WORKBENCH, {"kind": "nonsense", "sort": "nonsense"})

    assert [item.reference for item in response.context["page"]] == [application.reference]
    assert reverse("admin:applications_application_change", args=[application.pk]) in response.content.decode()
