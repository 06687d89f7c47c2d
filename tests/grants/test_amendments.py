import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from applications import services
from applications.models import Status
from grants.amendments import confirm_amendment, prepare_amendment
from grants.models import AmendmentKind, AmendmentStatus, TrancheAmendment
from grants.selectors import tranche_history
from grants.services import TRANCHES_DIR, load_tranche
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory

pytestmark = pytest.mark.django_db

TRANCHES = TRANCHES_DIR


@pytest.fixture
def assessor():
    return UserFactory(assessor=True)


@pytest.fixture
def approver():
    return UserFactory(approver=True)


@pytest.fixture
def tranche():
    return TrancheFactory(budget_ceiling=Decimal("1000000"))


def raise_ceiling(tranche, user, amount, *, at, reference="Stcrt. 2026, 1"):
    return prepare_amendment(
        tranche=tranche,
        kind=AmendmentKind.CEILING,
        publication_reference=reference,
        effective_at=at,
        new_ceiling=Decimal(amount),
        user=user,
    )


def extend(tranche, user, new_closes_at, *, at, reference="Stcrt. 2026, 2"):
    return prepare_amendment(
        tranche=tranche,
        kind=AmendmentKind.CLOSING,
        publication_reference=reference,
        effective_at=at,
        new_closes_at=new_closes_at,
        user=user,
    )


def field_errors(raised) -> set[str]:
    return set(raised.value.message_dict)


def recorded(tranche) -> int:
    """Amendments of the tranche in any status: the default manager shows only confirmed ones."""
    return TrancheAmendment.all_objects.filter(tranche=tranche).count()


# --- prepare_amendment ---------------------------------------------------------------------------------


def test_a_ceiling_raise_stores_old_and_new_value_and_who_prepared_it(tranche, assessor, approver):
    at = timezone.now() + timedelta(hours=1)
    amendment = raise_ceiling(tranche, assessor, "1500000", at=at)
    amendment.refresh_from_db()
    assert (amendment.old_ceiling, amendment.new_ceiling, amendment.prepared_by, amendment.status) == (
        Decimal("1000000"),
        Decimal("1500000"),
        assessor,
        AmendmentStatus.PREPARED,
    )
    confirm_amendment(amendment=amendment, user=approver)
    assert tranche.ceiling_at(at - timedelta(microseconds=1)) == Decimal("1000000")
    assert tranche.ceiling_at(at) == Decimal("1500000")


def test_the_old_value_is_the_one_in_force_just_before_the_amendment(tranche, assessor, approver):
    now = timezone.now()
    first = raise_ceiling(tranche, assessor, "1500000", at=now + timedelta(hours=1), reference="Stcrt. 2026, 1")
    confirm_amendment(amendment=first, user=approver)
    second = raise_ceiling(tranche, assessor, "1750000", at=now + timedelta(hours=2), reference="Stcrt. 2026, 3")
    assert second.old_ceiling == Decimal("1500000")


def test_an_extension_stores_the_closing_it_replaces(tranche, assessor):
    original = tranche.closes_at
    amendment = extend(tranche, assessor, original + timedelta(days=7), at=timezone.now() + timedelta(hours=1))
    assert (amendment.old_closes_at, amendment.new_closes_at) == (original, original + timedelta(days=7))


def test_a_reopening_after_the_closing_is_recorded_as_an_amendment(tranche, assessor, approver):
    # As in 2022: announced weeks after the first closing, the extension reopened the counter.
    first_closing = tranche.closes_at
    reopens_at = first_closing + timedelta(days=22)
    amendment = extend(tranche, assessor, reopens_at + timedelta(days=13), at=reopens_at)
    confirm_amendment(amendment=amendment, user=approver)
    assert amendment.old_closes_at == first_closing
    instants = (first_closing, reopens_at - timedelta(seconds=1), reopens_at, reopens_at + timedelta(days=13))
    assert [tranche.is_open_at(instant) for instant in instants] == [False, False, True, False]


def test_an_extension_taking_effect_at_the_closing_instant_keeps_the_tranche_open(tranche, assessor, approver):
    closing = tranche.closes_at
    confirm_amendment(amendment=extend(tranche, assessor, closing + timedelta(days=7), at=closing), user=approver)
    assert tranche.is_open_at(closing)


def test_a_second_extension_counts_from_the_closing_in_force_at_that_moment(tranche, assessor, approver):
    first_closing = tranche.closes_at
    first = extend(tranche, assessor, first_closing + timedelta(days=10), at=timezone.now() + timedelta(hours=1))
    confirm_amendment(amendment=first, user=approver)
    second = extend(
        tranche,
        assessor,
        first_closing + timedelta(days=20),
        at=first_closing + timedelta(days=5),
        reference="Stcrt. 2026, 4",
    )
    assert second.old_closes_at == first_closing + timedelta(days=10)
    confirm_amendment(amendment=second, user=approver)
    assert tranche.closes_at_in_force(first_closing + timedelta(days=15)) == first_closing + timedelta(days=20)


def test_a_new_closing_before_the_amendment_takes_effect_is_refused(tranche, assessor):
    at = timezone.now() + timedelta(days=2)
    with pytest.raises(ValidationError) as raised:
        extend(tranche, assessor, at - timedelta(hours=1), at=at)
    assert field_errors(raised) == {"new_closes_at"}


@pytest.mark.parametrize("amount", ["0", "-1"])
def test_a_ceiling_that_is_not_positive_is_refused(tranche, assessor, amount):
    with pytest.raises(ValidationError) as raised:
        raise_ceiling(tranche, assessor, amount, at=timezone.now() + timedelta(hours=1))
    assert field_errors(raised) == {"new_ceiling"}


def test_an_amendment_taking_effect_before_the_tranche_was_created_is_refused(assessor):
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        tranche = TrancheFactory()
    with pytest.raises(ValidationError) as raised:
        raise_ceiling(tranche, assessor, "2000000", at=datetime(2026, 3, 1, tzinfo=UTC))
    assert field_errors(raised) == {"effective_at"}


def test_the_same_publication_cannot_be_recorded_twice_for_the_same_kind(tranche, assessor):
    raise_ceiling(tranche, assessor, "1500000", at=timezone.now() + timedelta(hours=1))
    with pytest.raises(ValidationError) as raised:
        raise_ceiling(tranche, assessor, "1600000", at=timezone.now() + timedelta(hours=2))
    assert field_errors(raised) == {"publication_reference"}
    assert recorded(tranche) == 1


def test_one_publication_may_change_both_ceiling_and_closing(tranche, assessor):
    at = timezone.now() + timedelta(hours=1)
    raise_ceiling(tranche, assessor, "1500000", at=at, reference="Stcrt. 2026, 9")
    extend(tranche, assessor, tranche.closes_at + timedelta(days=7), at=at, reference="Stcrt. 2026, 9")
    assert recorded(tranche) == 2


def test_two_amendments_of_one_kind_taking_effect_at_the_same_instant_are_refused(tranche, assessor):
    at = timezone.now() + timedelta(hours=1)
    raise_ceiling(tranche, assessor, "1500000", at=at, reference="Stcrt. 2026, 1")
    with pytest.raises(ValidationError) as raised:
        raise_ceiling(tranche, assessor, "1600000", at=at, reference="Stcrt. 2026, 5")
    assert field_errors(raised) == {"effective_at"}


def test_the_database_refuses_a_duplicate_publication_of_one_kind(tranche):
    at = timezone.now()
    TrancheAmendment.objects.create(
        tranche=tranche, kind="ceiling", publication_reference="Stcrt. 2026, 1", effective_at=at, new_ceiling=1
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        TrancheAmendment.objects.create(
            tranche=tranche, kind="ceiling", publication_reference="Stcrt. 2026, 1", effective_at=at, new_ceiling=2
        )


# --- history ------------------------------------------------------------------------------------------


def test_history_shows_the_original_values_and_the_confirmed_amendments_in_the_order_they_took_effect(
    tranche, assessor, approver
):
    now = timezone.now()
    later = extend(tranche, assessor, tranche.closes_at + timedelta(days=7), at=now + timedelta(days=2))
    earlier = raise_ceiling(tranche, assessor, "1500000", at=now + timedelta(days=1))
    raise_ceiling(tranche, assessor, "1600000", at=now + timedelta(days=3), reference="Stcrt. 2026, 7")
    for amendment in (later, earlier):
        confirm_amendment(amendment=amendment, user=approver)
    history = tranche_history(tranche)
    assert (history.original_ceiling, history.original_closes_at) == (Decimal("1000000"), tranche.closes_at)
    assert history.amendments == [earlier, later]


def test_history_of_2022_lists_the_raise_then_the_extension():
    tranche = load_tranche(data=json.loads((TRANCHES / "rha-2022.json").read_text(encoding="utf-8")))
    history = tranche_history(tranche)
    assert history.original_ceiling == Decimal("37100000")
    assert [(a.kind, a.publication_reference) for a in history.amendments] == [
        ("ceiling", "Stcrt. 2022, 25169"),
        ("closing", "Stcrt. 2022, <unconfirmed>"),
    ]


def test_a_tranche_file_loads_its_amendments_as_confirmed_and_loading_it_again_changes_nothing():
    data = json.loads((TRANCHES / "rha-2022.json").read_text(encoding="utf-8"))
    tranche = load_tranche(data=data)
    before = list(TrancheAmendment.all_objects.filter(tranche=tranche).values())
    load_tranche(data=data)
    assert list(TrancheAmendment.all_objects.filter(tranche=tranche).values()) == before
    assert {a["status"] for a in before} == {AmendmentStatus.CONFIRMED}


# --- an amendment between two submissions ---------------------------------------------------------------


@pytest.fixture
def tranche_2022():
    return load_tranche(data=json.loads((TRANCHES / "rha-2022.json").read_text(encoding="utf-8")))


def submit_2022(tranche, at: datetime):
    signatory = UserFactory(signatory=True)
    application = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    return services.submit_application(application=application, user=signatory, now=at)


def test_2022_submission_just_before_the_first_closing_is_accepted(tranche_2022):
    assert submit_2022(tranche_2022, datetime(2022, 10, 24, 12, 59, 59, tzinfo=UTC)).status == Status.SUBMITTED


def test_2022_submission_after_the_first_closing_and_before_the_extension_took_effect_is_refused(tranche_2022):
    with translation.override("en"), pytest.raises(ValidationError, match="deadline"):
        submit_2022(tranche_2022, datetime(2022, 10, 24, 13, 0, 1, tzinfo=UTC))


def test_2022_submission_after_the_extension_took_effect_and_before_the_new_closing_is_accepted(tranche_2022):
    assert submit_2022(tranche_2022, datetime(2022, 11, 28, 15, 59, 59, tzinfo=UTC)).status == Status.SUBMITTED


def test_2022_submission_after_the_new_closing_is_refused(tranche_2022):
    with translation.override("en"), pytest.raises(ValidationError, match="deadline"):
        submit_2022(tranche_2022, datetime(2022, 11, 28, 16, 0, tzinfo=UTC))


def test_an_extension_recorded_while_open_admits_a_submission_after_the_first_closing(tranche, assessor, approver):
    first_closing = tranche.closes_at
    amendment = extend(tranche, assessor, first_closing + timedelta(days=7), at=timezone.now() + timedelta(hours=1))
    confirm_amendment(amendment=amendment, user=approver)
    signatory = UserFactory(signatory=True)
    application = ApplicationFactory(municipality=signatory.municipality, tranche=tranche)
    submitted = services.submit_application(
        application=application, user=signatory, now=first_closing + timedelta(days=1)
    )
    assert submitted.status == Status.SUBMITTED
