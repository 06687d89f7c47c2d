from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from applications import services
from applications.models import Status, StatusChange
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_submit_stamps_receipt_number_and_instant(signatory):
    application = ApplicationFactory(municipality=signatory.municipality)
    submitted = services.submit_application(application=application, user=signatory)
    assert submitted.status == Status.SUBMITTED
    assert submitted.reference == f"{application.tranche.receipt_prefix}-0001"
    assert submitted.received_at is not None
    change = StatusChange.objects.filter(application=application).latest("id")
    assert (change.from_status, change.to_status, change.actor) == (Status.DRAFT, Status.SUBMITTED, signatory)


def test_second_submit_of_same_application_is_refused(signatory):
    application = ApplicationFactory(municipality=signatory.municipality)
    services.submit_application(application=application, user=signatory)
    with pytest.raises(ValidationError, match="already been submitted"):
        services.submit_application(application=application, user=signatory)
    application.tranche.refresh_from_db()
    assert application.tranche.last_receipt_number == 1


def test_editor_cannot_submit():
    editor = UserFactory()
    application = ApplicationFactory(municipality=editor.municipality)
    with pytest.raises(PermissionDenied, match="signatory"):
        services.submit_application(application=application, user=editor)


def test_submit_after_closing_is_refused_and_draft_kept(signatory):
    application = ApplicationFactory(municipality=signatory.municipality)
    late = application.tranche.closes_at + timedelta(seconds=1)
    with pytest.raises(ValidationError, match="deadline"):
        services.submit_application(application=application, user=signatory, now=late)
    application.refresh_from_db()
    assert application.status == Status.DRAFT
    assert application.unit_lines.count() == 1


def test_full_review_path(signatory, assessor):
    application = ApplicationFactory(municipality=signatory.municipality)
    services.submit_application(application=application, user=signatory)
    services.start_review(application=application, user=assessor)
    services.request_information(application=application, user=assessor, reason="Raadsbesluit ontbreekt")
    resubmitted = services.resubmit_application(application=application, user=signatory)
    assert resubmitted.completed_at > resubmitted.received_at
    services.start_review(application=application, user=assessor)
    services.mark_eligible(application=application, user=assessor)
    application.refresh_from_db()
    assert application.status == Status.ELIGIBLE
    assert [c.to_status for c in application.status_changes.all()] == [
        Status.DRAFT,
        Status.SUBMITTED,
        Status.IN_REVIEW,
        Status.INFORMATION_REQUESTED,
        Status.RESUBMITTED,
        Status.IN_REVIEW,
        Status.ELIGIBLE,
    ]


def test_forbidden_transition_is_refused(assessor):
    application = ApplicationFactory()
    with pytest.raises(ValidationError, match="cannot become"):
        services.start_review(application=application, user=assessor)


def test_withdraw_before_decision_but_not_after(signatory):
    application = ApplicationFactory(municipality=signatory.municipality, eligible=True)
    services.withdraw_application(application=application, user=signatory, reason="Project gaat niet door")
    assert application.__class__.objects.get(pk=application.pk).status == Status.WITHDRAWN
    decided = ApplicationFactory(municipality=signatory.municipality, eligible=True, status=Status.GRANTED)
    with pytest.raises(ValidationError):
        services.withdraw_application(application=decided, user=signatory, reason="Te laat")


def test_submission_time_is_exclusive_at_closing(signatory):
    application = ApplicationFactory(municipality=signatory.municipality)
    closing = application.tranche.closes_at
    assert services.submission_errors(application, now=closing - timedelta(seconds=1)) == []
    assert services.submission_errors(application, now=closing) != []
    assert timezone.is_aware(closing)
