"""Progress reports: validation in the service, the editor/signatory split, history, and the database's guard."""

from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from allocation.selectors import current_decision
from ministry import tasks
from realisation import services as realisation_services
from realisation.models import ProgressReport, ProgressStatus, RealisedUnits
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.figures import allocate
from tests.progress import TEN_HOMELESS, granted, prepare, realised_by_line, signatory_of, submit

pytestmark = pytest.mark.django_db

TWO_LINES = (TEN_HOMELESS, ("students", 4, "flexible", None))


def _errors(raised: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return raised.value.message_dict


@pytest.fixture
def grant():
    return granted(lines=TWO_LINES)


@pytest.fixture
def editor(grant):
    return UserFactory(municipality=grant.municipality)


@pytest.fixture
def today():
    return timezone.localdate()


def test_valid_report_is_saved_as_a_draft_with_a_row_per_unit_line(grant, editor, today):
    report = prepare(grant, editor, started=today - timedelta(days=30), realised=[3, 0], remarks="Vergunning later.")

    assert report.status == ProgressStatus.DRAFT
    assert report.submitted_at is None and not report.is_latest
    assert sorted(report.realised_units.values_list("units", flat=True)) == [0, 3]
    assert report.delay_remarks == "Vergunning later."


def test_saving_again_replaces_the_draft_instead_of_adding_one(grant, editor, today):
    first = prepare(grant, editor, started=today - timedelta(days=30))
    second = prepare(grant, editor, started=today - timedelta(days=20), realised=[1, 1])

    assert second.pk == first.pk
    assert ProgressReport.objects.filter(application=grant).count() == 1
    assert RealisedUnits.objects.filter(report=second).count() == 2


def test_realised_above_the_granted_units_is_refused_on_its_line(grant, editor, today):
    with pytest.raises(ValidationError) as raised:
        prepare(grant, editor, started=today - timedelta(days=30), realised=[11, 4])

    homeless, students = grant.unit_lines.order_by("pk")
    assert list(_errors(raised)) == [f"realised-{homeless.pk}"]
    assert not ProgressReport.objects.filter(application=grant).exists()


def test_negative_realised_units_are_refused(grant, editor, today):
    with pytest.raises(ValidationError) as raised:
        prepare(grant, editor, started=today - timedelta(days=30), realised=[0, -1])

    students = grant.unit_lines.order_by("pk").last()
    assert list(_errors(raised)) == [f"realised-{students.pk}"]


def test_every_unit_line_needs_a_number_of_units_realised(grant, editor, today):
    homeless, students = grant.unit_lines.order_by("pk")
    with pytest.raises(ValidationError) as raised:
        realisation_services.save_progress_report(
            application=grant,
            user=editor,
            construction_started_on=today,
            completed_on=None,
            realised={homeless.pk: 2, students.pk: None},
        )

    assert list(_errors(raised)) == [f"realised-{students.pk}"]


def test_unit_lines_of_another_application_are_not_accepted(grant, editor, today):
    stranger = ApplicationFactory().unit_lines.get()
    realised = {**realised_by_line(grant, [0, 0]), stranger.pk: 1}

    with pytest.raises(ValueError):
        realisation_services.save_progress_report(
            application=grant, user=editor, construction_started_on=None, completed_on=None, realised=realised
        )


def test_completion_before_the_start_is_refused(grant, editor, today):
    with pytest.raises(ValidationError) as raised:
        prepare(grant, editor, started=today - timedelta(days=10), completed=today - timedelta(days=11))

    assert list(_errors(raised)) == ["completed_on"]


def test_completion_on_the_day_construction_started_is_accepted(grant, editor, today):
    report = prepare(grant, editor, started=today, completed=today, realised=[10, 4])

    assert report.completed_on == report.construction_started_on == today


def test_completion_without_a_start_is_refused(grant, editor, today):
    with pytest.raises(ValidationError) as raised:
        prepare(grant, editor, completed=today - timedelta(days=1))

    assert list(_errors(raised)) == ["completed_on"]


def test_units_realised_without_a_start_are_refused(grant, editor):
    with pytest.raises(ValidationError) as raised:
        prepare(grant, editor, realised=[1, 0])

    homeless = grant.unit_lines.order_by("pk").first()
    assert list(_errors(raised)) == [f"realised-{homeless.pk}"]


def test_a_start_in_the_future_is_refused_by_the_amsterdam_date(grant, editor):
    # Both instants are on 1 March in UTC; in Amsterdam the second one is on 2 March already.
    with time_machine.travel("2027-03-01T23:30:00+01:00", tick=False), pytest.raises(ValidationError) as raised:
        prepare(grant, editor, started=date(2027, 3, 2))
    assert list(_errors(raised)) == ["construction_started_on"]

    with time_machine.travel("2027-03-02T00:30:00+01:00", tick=False):
        report = prepare(grant, editor, started=date(2027, 3, 2))
    assert report.construction_started_on == date(2027, 3, 2)


def test_a_completion_in_the_future_is_refused(grant, editor, today):
    with pytest.raises(ValidationError) as raised:
        prepare(grant, editor, started=today, completed=today + timedelta(days=1))

    assert list(_errors(raised)) == ["completed_on"]


def test_errors_are_explained_in_dutch(grant, editor, today):
    with translation.override("nl"), pytest.raises(ValidationError) as raised:
        prepare(grant, editor, started=today + timedelta(days=1))

    assert _errors(raised)["construction_started_on"] == ["De start van de bouw kan niet in de toekomst liggen."]


# --- who may report -------------------------------------------------------------------------------------


def test_another_municipality_cannot_report_on_the_grant(grant, today):
    outsider = UserFactory(signatory=True, municipality__code="GM0363")

    with pytest.raises(PermissionDenied):
        prepare(grant, outsider, started=today)


def test_agency_staff_cannot_report_for_the_municipality(grant, today):
    with pytest.raises(PermissionDenied):
        prepare(grant, UserFactory(assessor=True), started=today)


def test_progress_is_not_reported_on_a_refused_application(today):
    tranche = TrancheFactory(budget_ceiling=Decimal("70000.00"))
    first, second = (ApplicationFactory(eligible=True, tranche=tranche) for _ in range(2))
    allocate(tranche)
    second.refresh_from_db()
    assert (current_decision(application=first).outcome, current_decision(application=second).outcome) == (
        "granted",
        "refused",
    )

    with pytest.raises(PermissionDenied):
        prepare(second, signatory_of(second), started=today)


def test_an_editor_prepares_but_cannot_submit(grant, editor, today):
    draft = prepare(grant, editor, started=today)

    with pytest.raises(PermissionDenied):
        realisation_services.submit_progress_report(report=draft, user=editor)

    draft.refresh_from_db()
    assert draft.status == ProgressStatus.DRAFT


def test_a_signatory_submits_the_draft_an_editor_prepared(grant, editor, today):
    draft = prepare(grant, editor, started=today)
    signatory = signatory_of(grant)

    report = realisation_services.submit_progress_report(report=draft, user=signatory)

    report.refresh_from_db()
    assert report.status == ProgressStatus.SUBMITTED
    assert (report.prepared_by, report.submitted_by) == (editor, signatory)
    assert report.is_latest and report.submitted_at is not None


def test_a_submitted_report_cannot_be_submitted_again(grant):
    report = submit(grant, started=timezone.localdate())

    with pytest.raises(ValidationError):
        realisation_services.submit_progress_report(report=report, user=signatory_of(grant))


def test_each_submission_is_kept_and_only_the_newest_is_the_latest(grant, today):
    first = submit(grant, started=today - timedelta(days=40))
    second = submit(grant, started=today - timedelta(days=40), completed=today, realised=[10, 4])

    first.refresh_from_db()
    assert not first.is_latest and second.is_latest
    assert first.status == second.status == ProgressStatus.SUBMITTED
    assert first.completed_on is None and second.completed_on == today


def test_submitting_refreshes_the_totals_after_commit(grant, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(tasks.refresh_totals, "delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        submit(grant, started=timezone.localdate())

    delay.assert_called_once_with()


# --- the database's guard -------------------------------------------------------------------------------


def test_database_refuses_a_completion_before_the_start(grant, editor, today):
    report = prepare(grant, editor, started=today)

    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressReport.objects.filter(pk=report.pk).update(completed_on=today - timedelta(days=1))


def test_database_refuses_a_completion_without_a_start(grant, editor, today):
    report = prepare(grant, editor)

    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressReport.objects.filter(pk=report.pk).update(completed_on=today)


def test_database_refuses_negative_realised_units(grant, editor, today):
    report = prepare(grant, editor, started=today)

    with pytest.raises(IntegrityError), transaction.atomic():
        RealisedUnits.objects.filter(report=report).update(units=-1)


def test_database_refuses_a_second_draft(grant, editor, today):
    report = prepare(grant, editor, started=today)

    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressReport.objects.create(application=grant, prepared_by=editor, prepared_at=report.prepared_at)


def test_database_refuses_two_latest_reports(grant, today):
    first = submit(grant, started=today)
    second = submit(grant, started=today)

    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressReport.objects.filter(pk=first.pk).update(is_latest=True)
    assert second.is_latest
