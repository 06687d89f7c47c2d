import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from accounts.models import AuditEntry
from applications import services
from applications.models import Status
from grants.amendments import amendment_errors, amendment_values, confirm_amendment, prepare_amendment
from grants.models import AmendmentKind, AmendmentStatus, TrancheAmendment, UnitKind, Window
from grants.selectors import tranche_history
from grants.services import TRANCHES_DIR, load_tranche
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory

pytestmark = pytest.mark.django_db

TRANCHES = TRANCHES_DIR


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


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1"), None])
def test_a_ceiling_that_is_not_positive_is_refused(tranche, assessor, amount):
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        prepare_amendment(
            tranche=tranche,
            kind=AmendmentKind.CEILING,
            publication_reference="Stcrt. 2026, 1",
            effective_at=timezone.now() + timedelta(hours=1),
            new_ceiling=amount,
            user=assessor,
        )
    assert raised.value.message_dict == {"new_ceiling": ["Give the new ceiling, in euros."]}


def test_a_ceiling_of_one_euro_is_refused_only_for_the_windows_above_it(tranche, assessor):
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        raise_ceiling(tranche, assessor, "1", at=timezone.now() + timedelta(hours=1))
    assert raised.value.message_dict == {
        "new_ceiling": ["The windows add up to €\xa01.000.000,00, above this ceiling: amend their ceilings first."]
    }


ALL_VALUES = {
    "new_ceiling": Decimal("2000000"),
    "new_closes_at": datetime(2026, 12, 31, 16, tzinfo=UTC),
    "new_amount": Decimal("9000"),
    "unit_kind": "permanent",
}


@pytest.mark.parametrize(
    ("kind", "kept"),
    [
        (AmendmentKind.CEILING, {"new_ceiling": Decimal("2000000")}),
        (AmendmentKind.CLOSING, {"new_closes_at": datetime(2026, 12, 31, 16, tzinfo=UTC)}),
        (AmendmentKind.WINDOW_CEILING, {"new_amount": Decimal("9000"), "window": "the window"}),
        (AmendmentKind.MAX_PER_UNIT, {"new_amount": Decimal("9000"), "unit_kind": "permanent"}),
        (AmendmentKind.MAX_PER_MUNICIPALITY, {"new_amount": Decimal("9000")}),
    ],
)
def test_an_amendment_keeps_only_the_values_of_its_kind(kind, kept):
    values = amendment_values(kind=kind, window="the window", **ALL_VALUES)

    empty = {"new_ceiling": None, "new_closes_at": None, "new_amount": None, "window": None, "unit_kind": ""}
    assert values == {**empty, **kept}


def test_a_maximum_per_unit_without_its_kind_names_none():
    assert amendment_values(kind=AmendmentKind.MAX_PER_UNIT, new_amount=Decimal("9000"))["unit_kind"] == ""


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


# --- every check of an amendment, with its message --------------------------------------------------------


@pytest.fixture
def checked(tranche):
    """The errors amendment_errors gives on the tranche (ceiling € 1,000,000, one window of all of it), in English."""
    Window.objects.create(tranche=tranche, code="other", name="Ander loket", budget_ceiling=Decimal("0.01"))
    Window.objects.filter(tranche=tranche, code="all").update(budget_ceiling=Decimal("999999.99"))

    def errors(kind, **values):
        with translation.override("en"):
            return amendment_errors(tranche=tranche, kind=kind, **values)

    return errors


GIVE_AMOUNT = "Give the new amount, in euros."
MORE_THAN_ZERO = "The new amount must be more than zero."


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        ("opening", {}, {"kind": ["Choose what the amendment changes."]}),
        (AmendmentKind.CEILING, {}, {"new_ceiling": ["Give the new ceiling, in euros."]}),
        (AmendmentKind.CEILING, {"new_ceiling": Decimal("0")}, {"new_ceiling": ["Give the new ceiling, in euros."]}),
        (
            AmendmentKind.CEILING,
            {"new_ceiling": Decimal("999999.99")},
            {
                "new_ceiling": [
                    "The windows add up to €\xa01.000.000,00, above this ceiling: amend their ceilings first."
                ]
            },
        ),
        (AmendmentKind.CEILING, {"new_ceiling": Decimal("1000000.00")}, {}),
        (AmendmentKind.CLOSING, {}, {"new_closes_at": ["Give the new closing instant."]}),
        (
            AmendmentKind.WINDOW_CEILING,
            {},
            {"window": ["Choose a window of this tranche."], "new_amount": [GIVE_AMOUNT]},
        ),
        (
            AmendmentKind.MAX_PER_UNIT,
            {"new_amount": Decimal("9000")},
            {"unit_kind": ["Choose which maximum per unit the amendment changes."]},
        ),
        (AmendmentKind.MAX_PER_UNIT, {"unit_kind": UnitKind.PERMANENT}, {"new_amount": [GIVE_AMOUNT]}),
        (
            AmendmentKind.MAX_PER_UNIT,
            {"unit_kind": UnitKind.PERMANENT, "new_amount": Decimal("0")},
            {"new_amount": [MORE_THAN_ZERO]},
        ),
        (AmendmentKind.MAX_PER_UNIT, {"unit_kind": UnitKind.PERMANENT, "new_amount": Decimal("0.01")}, {}),
        # Short-stay units may be made ineligible: no amount.
        (AmendmentKind.MAX_PER_UNIT, {"unit_kind": UnitKind.SHORT_STAY}, {}),
        # No maximum per municipality is allowed, as on the tranche; zero is not.
        (AmendmentKind.MAX_PER_MUNICIPALITY, {}, {}),
        (AmendmentKind.MAX_PER_MUNICIPALITY, {"new_amount": Decimal("0")}, {"new_amount": [MORE_THAN_ZERO]}),
        (AmendmentKind.MAX_PER_MUNICIPALITY, {"new_amount": Decimal("-1")}, {"new_amount": [MORE_THAN_ZERO]}),
        (AmendmentKind.MAX_PER_MUNICIPALITY, {"new_amount": Decimal("0.01")}, {}),
    ],
    ids=lambda value: getattr(value, "value", None) if isinstance(value, AmendmentKind) else None,
)
def test_each_value_check_gives_its_message(checked, kind, values, expected):
    assert checked(kind, **values) == expected


def test_a_closing_at_the_opening_is_refused_and_a_moment_later_is_not(tranche, checked):
    assert checked(AmendmentKind.CLOSING, new_closes_at=tranche.opens_at) == {
        "new_closes_at": ["The new closing must be after the opening."]
    }
    assert checked(AmendmentKind.CLOSING, new_closes_at=tranche.opens_at + timedelta(microseconds=1)) == {}


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (None, {"new_amount": [GIVE_AMOUNT]}),
        (Decimal("0"), {"new_amount": [GIVE_AMOUNT]}),
        (Decimal("-1"), {"new_amount": [GIVE_AMOUNT]}),
        # The other window keeps its € 0.01: this one may take the rest of the ceiling, and not a cent more.
        (Decimal("999999.99"), {}),
        (
            Decimal("1000000.00"),
            {
                "new_amount": [
                    "The windows would add up to €\xa01.000.000,01, above the tranche's ceiling in force, "
                    "€\xa01.000.000,00."
                ]
            },
        ),
    ],
)
def test_a_window_ceiling_is_checked_against_the_other_windows_and_the_ceiling(tranche, checked, amount, expected):
    window = tranche.windows.get(code="all")

    assert checked(AmendmentKind.WINDOW_CEILING, window=window, new_amount=amount) == expected


def test_a_window_of_another_tranche_is_named(checked):
    elsewhere = TrancheFactory().windows.get()

    # Even an amount that no ceiling holds: the window is what is wrong, the sum is not made.
    assert checked(AmendmentKind.WINDOW_CEILING, window=elsewhere, new_amount=Decimal("5000000")) == {
        "window": ["Choose a window of this tranche."]
    }


def test_a_window_ceiling_counts_the_ceiling_in_force_at_the_moment_given(tranche, checked, assessor, approver):
    later = timezone.now() + timedelta(days=1)
    confirm_amendment(amendment=raise_ceiling(tranche, assessor, "2000000", at=later), user=approver)
    window = tranche.windows.get(code="all")

    assert checked(AmendmentKind.WINDOW_CEILING, window=window, new_amount=Decimal("1500000")) != {}
    assert checked(AmendmentKind.WINDOW_CEILING, window=window, new_amount=Decimal("1500000"), now=later) == {}


# --- checks against the tranche and the other amendments --------------------------------------------------

SAME_PUBLICATION = "An amendment of this kind from this publication has already been recorded."
SAME_INSTANT = "Another amendment of this kind takes effect at the same instant."


@pytest.fixture
def recorded_max(tranche, assessor):
    """A maximum per municipality of € 150,000 from 'Stcrt. 2026, 1', prepared now, waiting for confirmation."""
    return prepare_amendment(
        tranche=tranche,
        kind=AmendmentKind.MAX_PER_MUNICIPALITY,
        publication_reference="Stcrt. 2026, 1",
        effective_at=timezone.now(),
        new_amount=Decimal("150000"),
        user=assessor,
    )


def test_the_same_publication_and_instant_are_refused_for_the_same_kind_with_their_messages(
    tranche, recorded_max, checked
):
    errors = checked(
        AmendmentKind.MAX_PER_MUNICIPALITY,
        new_amount=Decimal("160000"),
        publication_reference=" Stcrt. 2026, 1 ",
        effective_at=recorded_max.effective_at,
    )

    assert errors == {"publication_reference": [SAME_PUBLICATION], "effective_at": [SAME_INSTANT]}


def test_the_same_publication_may_change_another_window_or_another_maximum_per_unit(tranche, assessor, checked):
    first, second = tranche.windows.get(code="all"), tranche.windows.get(code="other")
    Window.objects.filter(pk=first.pk).update(budget_ceiling=Decimal("900000"))
    at = timezone.now()
    prepare_amendment(
        tranche=tranche,
        kind=AmendmentKind.WINDOW_CEILING,
        publication_reference="Stcrt. 2026, 7",
        effective_at=at,
        window=first,
        new_amount=Decimal("800000"),
        user=assessor,
    )
    prepare_amendment(
        tranche=tranche,
        kind=AmendmentKind.MAX_PER_UNIT,
        publication_reference="Stcrt. 2026, 7",
        effective_at=at,
        unit_kind=UnitKind.PERMANENT,
        new_amount=Decimal("9000"),
        user=assessor,
    )

    assert (
        checked(
            AmendmentKind.WINDOW_CEILING,
            window=second,
            new_amount=Decimal("1"),
            publication_reference="Stcrt. 2026, 7",
            effective_at=at,
        )
        == {}
    )
    assert (
        checked(
            AmendmentKind.MAX_PER_UNIT,
            unit_kind=UnitKind.FLEXIBLE,
            new_amount=Decimal("9000"),
            publication_reference="Stcrt. 2026, 7",
            effective_at=at,
        )
        == {}
    )


def test_the_same_publication_is_refused_for_the_same_window(tranche, assessor, checked):
    window = tranche.windows.get(code="all")
    Window.objects.filter(pk=window.pk).update(budget_ceiling=Decimal("900000"))
    prepare_amendment(
        tranche=tranche,
        kind=AmendmentKind.WINDOW_CEILING,
        publication_reference="Stcrt. 2026, 7",
        effective_at=timezone.now(),
        window=window,
        new_amount=Decimal("800000"),
        user=assessor,
    )

    errors = checked(
        AmendmentKind.WINDOW_CEILING,
        window=window,
        new_amount=Decimal("700000"),
        publication_reference="Stcrt. 2026, 7",
    )

    assert errors == {"publication_reference": [SAME_PUBLICATION]}


def test_another_tranches_amendments_do_not_count(tranche, assessor, checked):
    other = TrancheFactory()
    at = timezone.now()
    raise_ceiling(other, assessor, "2000000", at=at, reference="Stcrt. 2026, 9")

    assert (
        checked(
            AmendmentKind.CEILING,
            new_ceiling=Decimal("2000000"),
            publication_reference="Stcrt. 2026, 9",
            effective_at=at,
        )
        == {}
    )


def test_an_amendment_may_take_effect_at_the_creation_of_its_tranche_and_not_a_moment_before():
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        tranche = TrancheFactory()
    created = tranche.history.filter(history_type="+").get().history_date

    def errors(effective_at):
        with translation.override("en"):
            return amendment_errors(
                tranche=tranche, kind=AmendmentKind.CEILING, new_ceiling=Decimal("2000000"), effective_at=effective_at
            )

    assert errors(created) == {}
    assert errors(created - timedelta(microseconds=1)) == {
        "effective_at": ["An amendment cannot take effect before the tranche was created (2 March 2026 10:00)."]
    }


def test_a_written_kind_takes_effect_at_the_latest_now(checked):
    now = timezone.now()
    values = {"new_amount": Decimal("150000"), "now": now}

    assert checked(AmendmentKind.MAX_PER_MUNICIPALITY, effective_at=now, **values) == {}
    assert checked(AmendmentKind.MAX_PER_MUNICIPALITY, effective_at=now + timedelta(microseconds=1), **values) == {
        "effective_at": [
            "A window ceiling or a maximum changes when its amendment is confirmed, so it cannot take effect "
            "in the future: record it once it has taken effect."
        ]
    }


def test_a_new_closing_must_come_after_the_amendment_takes_effect(tranche, checked):
    at = timezone.now() + timedelta(days=40)

    assert checked(AmendmentKind.CLOSING, new_closes_at=at, effective_at=at) == {
        "new_closes_at": ["The new closing must be after the amendment takes effect."]
    }
    assert checked(AmendmentKind.CLOSING, new_closes_at=at + timedelta(microseconds=1), effective_at=at) == {}


def test_the_audit_log_names_the_amendment_and_its_values_before_and_after(tranche, assessor):
    closing = tranche.closes_at + timedelta(days=7)
    amendment = extend(tranche, assessor, closing, at=timezone.now() + timedelta(hours=1))

    entry = AuditEntry.objects.filter(object_id=str(amendment.pk)).get()

    assert entry.detail == (
        f"prepared: {tranche.slug} closing Stcrt. 2026, 2, {tranche.closes_at.isoformat()} -> {closing.isoformat()}"
    )
