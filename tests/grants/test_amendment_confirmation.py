"""Four eyes on amendments, the kinds written on confirmation, and no direct change once a tranche has opened."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from grants.amendments import confirm_amendment, discard_amendment, prepare_amendment
from grants.models import AmendmentKind, AmendmentStatus, HousingType, Tranche, TrancheAmendment, UnitKind, Window
from grants.selectors import open_tranches
from grants.services import TRANCHES_DIR, load_tranche, update_tranche, update_window
from tests.factories import TrancheFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tranche():
    return TrancheFactory(budget_ceiling=Decimal("1000000"), max_per_municipality=Decimal("200000"))


def prepare(tranche, user, kind=AmendmentKind.CEILING, *, reference="Stcrt. 2026, 1", at=None, **values):
    return prepare_amendment(
        tranche=tranche,
        kind=kind,
        publication_reference=reference,
        effective_at=at or timezone.now(),
        user=user,
        **values,
    )


def fresh(tranche: Tranche) -> Tranche:
    return Tranche.objects.get(pk=tranche.pk)


# --- four eyes ------------------------------------------------------------------------------------------


def test_an_amendment_counts_only_once_a_second_person_confirms_it(tranche, assessor, approver):
    now = timezone.now()
    ceiling = prepare(tranche, assessor, new_ceiling=Decimal("1500000"), at=now)
    closing = prepare(
        tranche, assessor, AmendmentKind.CLOSING, new_closes_at=tranche.closes_at + timedelta(days=7), at=now
    )
    later = tranche.closes_at + timedelta(days=1)
    assert (fresh(tranche).ceiling_at(now), fresh(tranche).closes_at_in_force(later)) == (
        Decimal("1000000"),
        tranche.closes_at,
    )
    assert not TrancheAmendment.objects.filter(tranche=tranche).exists()
    assert tranche not in open_tranches(later)

    for amendment in (ceiling, closing):
        confirm_amendment(amendment=amendment, user=approver)

    assert (fresh(tranche).ceiling_at(now), fresh(tranche).closes_at_in_force(later)) == (
        Decimal("1500000"),
        tranche.closes_at + timedelta(days=7),
    )
    assert tranche in open_tranches(later)
    ceiling.refresh_from_db()
    assert (ceiling.status, ceiling.prepared_by, ceiling.confirmed_by) == (
        AmendmentStatus.CONFIRMED,
        assessor,
        approver,
    )
    assert ceiling.confirmed_at is not None


def test_the_preparer_cannot_confirm_their_own_amendment(tranche, approver):
    amendment = prepare(tranche, approver, new_ceiling=Decimal("1500000"))
    with translation.override("en"), pytest.raises(PermissionDenied, match="another approver must confirm it"):
        confirm_amendment(amendment=amendment, user=approver)
    amendment.refresh_from_db()
    assert amendment.status == AmendmentStatus.PREPARED
    assert fresh(tranche).ceiling_at(timezone.now()) == Decimal("1000000")


def test_the_database_refuses_an_amendment_confirmed_by_whoever_prepared_it(tranche, approver):
    amendment = prepare(tranche, approver, new_ceiling=Decimal("1500000"))
    with pytest.raises(IntegrityError), transaction.atomic():
        TrancheAmendment.all_objects.filter(pk=amendment.pk).update(
            status=AmendmentStatus.CONFIRMED, confirmed_by=approver, confirmed_at=timezone.now()
        )


def test_only_an_approver_confirms_an_amendment(tranche, assessor):
    amendment = prepare(tranche, assessor, new_ceiling=Decimal("1500000"))
    with pytest.raises(PermissionDenied):
        confirm_amendment(amendment=amendment, user=UserFactory(assessor=True))


def test_only_agency_staff_prepare_an_amendment(tranche):
    with pytest.raises(PermissionDenied):
        prepare(tranche, UserFactory(signatory=True), new_ceiling=Decimal("1500000"))


def test_a_discarded_amendment_leaves_a_trace_and_never_counts(tranche, assessor, approver):
    amendment = prepare(tranche, assessor, new_ceiling=Decimal("1500000"))
    discard_amendment(amendment=amendment, user=approver, reason="Verkeerd bedrag overgenomen.")

    amendment.refresh_from_db()
    assert (amendment.status, amendment.discarded_by, amendment.discard_reason, amendment.new_ceiling) == (
        AmendmentStatus.DISCARDED,
        approver,
        "Verkeerd bedrag overgenomen.",
        Decimal("1500000"),
    )
    assert amendment.discarded_at is not None
    assert fresh(tranche).ceiling_at(timezone.now()) == Decimal("1000000")
    with pytest.raises(PermissionDenied):
        confirm_amendment(amendment=amendment, user=approver)


def test_discarding_needs_a_reason(tranche, assessor):
    amendment = prepare(tranche, assessor, new_ceiling=Decimal("1500000"))
    with pytest.raises(ValidationError):
        discard_amendment(amendment=amendment, user=assessor, reason="  ")
    amendment.refresh_from_db()
    assert amendment.status == AmendmentStatus.PREPARED


def test_a_confirmed_amendment_can_be_neither_confirmed_again_nor_discarded(tranche, assessor, approver):
    amendment = confirm_amendment(amendment=prepare(tranche, assessor, new_ceiling=Decimal("1500000")), user=approver)
    with pytest.raises(PermissionDenied):
        confirm_amendment(amendment=amendment, user=UserFactory(approver=True))
    with pytest.raises(PermissionDenied):
        discard_amendment(amendment=amendment, user=assessor, reason="Toch niet.")


def test_a_discarded_publication_can_be_prepared_again(tranche, assessor, approver):
    wrong = prepare(tranche, assessor, new_ceiling=Decimal("15000000"))
    discard_amendment(amendment=wrong, user=approver, reason="Een nul te veel.")
    right = prepare(tranche, assessor, new_ceiling=Decimal("1500000"))
    assert right.publication_reference == wrong.publication_reference


def test_a_publication_already_prepared_cannot_be_prepared_twice(tranche, assessor):
    prepare(tranche, assessor, new_ceiling=Decimal("1500000"))
    with pytest.raises(ValidationError) as raised:
        prepare(tranche, assessor, new_ceiling=Decimal("1600000"), at=timezone.now() + timedelta(minutes=2))
    assert set(raised.value.message_dict) == {"publication_reference"}


def test_confirmation_is_refused_when_the_value_replaced_has_changed_since_it_was_prepared(tranche, assessor, approver):
    stale = prepare(tranche, assessor, AmendmentKind.MAX_PER_MUNICIPALITY, new_amount=Decimal("300000"))
    other = prepare(
        tranche, assessor, AmendmentKind.MAX_PER_MUNICIPALITY, new_amount=Decimal("250000"), reference="Stcrt. 2026, 2"
    )
    confirm_amendment(amendment=other, user=approver)
    with translation.override("en"), pytest.raises(ValidationError, match="has changed to"):
        confirm_amendment(amendment=stale, user=approver)
    assert fresh(tranche).max_per_municipality == Decimal("250000")


def stale_after(tranche, assessor, approver, kind, first: dict, second: dict, *, later=timedelta(0)):
    """Two amendments of one kind prepared on the same value; the second is confirmed first: the first is stale.

    The first takes effect `later` (a closing may wait; a written kind takes effect when it is prepared).
    """
    stale = prepare(tranche, assessor, kind, at=timezone.now() + later, **first)
    other = prepare(tranche, assessor, kind, reference="Stcrt. 2026, 2", **second)
    confirm_amendment(amendment=other, user=approver)
    with translation.override("en"), pytest.raises(ValidationError) as raised:
        confirm_amendment(amendment=stale, user=approver)
    return raised.value.messages


CHANGED = "The value this amendment replaces has changed to {} since it was prepared: discard it and record it again."


def test_a_stale_confirmation_names_the_amount_now_in_force(tranche, assessor, approver):
    kind = AmendmentKind.MAX_PER_MUNICIPALITY
    messages = stale_after(
        tranche, assessor, approver, kind, {"new_amount": Decimal("300000")}, {"new_amount": Decimal("250000")}
    )

    assert messages == [CHANGED.format("€\xa0250.000,00")]


def test_a_stale_confirmation_says_when_the_maximum_was_taken_away(tranche, assessor, approver):
    kind = AmendmentKind.MAX_PER_MUNICIPALITY
    messages = stale_after(tranche, assessor, approver, kind, {"new_amount": Decimal("300000")}, {"new_amount": None})

    assert messages == [CHANGED.format("none")]


def test_a_stale_confirmation_names_the_closing_now_in_force(tranche, assessor, approver):
    closing = timezone.localtime(tranche.closes_at).replace(microsecond=0)
    messages = stale_after(
        tranche,
        assessor,
        approver,
        AmendmentKind.CLOSING,
        {"new_closes_at": closing + timedelta(days=7)},
        {"new_closes_at": closing + timedelta(days=3)},
        later=timedelta(hours=1),
    )

    (message,) = messages
    assert message.startswith("The value this amendment replaces has changed to ")
    assert (closing + timedelta(days=3)).strftime("%Y") in message and "since it was prepared" in message


# --- kinds written on confirmation ------------------------------------------------------------------------


def test_a_window_ceiling_amendment_is_written_into_the_window_on_confirmation(tranche, assessor, approver):
    window = tranche.windows.get()
    Window.objects.filter(pk=window.pk).update(budget_ceiling=Decimal("600000"))
    amendment = prepare(tranche, assessor, AmendmentKind.WINDOW_CEILING, window=window, new_amount=Decimal("900000"))
    window.refresh_from_db()
    assert (amendment.old_amount, window.budget_ceiling) == (Decimal("600000"), Decimal("600000"))

    confirm_amendment(amendment=amendment, user=approver)

    window.refresh_from_db()
    assert window.budget_ceiling == Decimal("900000")
    latest = window.history.latest()
    assert (latest.history_user, latest.history_change_reason) == (approver, "Stcrt. 2026, 1")


def test_window_ceilings_may_not_add_up_to_more_than_the_ceiling_in_force(tranche, assessor):
    window = tranche.windows.get()
    with translation.override("en"), pytest.raises(ValidationError, match="above the tranche's ceiling in force"):
        prepare(tranche, assessor, AmendmentKind.WINDOW_CEILING, window=window, new_amount=Decimal("1000000.01"))


def test_a_window_of_another_tranche_is_refused(tranche, assessor):
    other = TrancheFactory().windows.get()
    with pytest.raises(ValidationError) as raised:
        prepare(tranche, assessor, AmendmentKind.WINDOW_CEILING, window=other, new_amount=Decimal("1000"))
    assert set(raised.value.message_dict) == {"window"}


def test_a_ceiling_below_what_the_windows_add_up_to_is_refused(tranche, assessor):
    with translation.override("en"), pytest.raises(ValidationError, match="amend their ceilings first"):
        prepare(tranche, assessor, new_ceiling=Decimal("999999"))


@pytest.mark.parametrize(
    ("unit_kind", "permanence"),
    [(UnitKind.PERMANENT, "permanent"), (UnitKind.FLEXIBLE, "flexible"), (UnitKind.SHORT_STAY, "permanent")],
)
def test_a_max_per_unit_amendment_is_written_into_the_tranche_on_confirmation(
    tranche, assessor, approver, unit_kind, permanence
):
    housing_type = HousingType.objects.filter(is_short_stay=unit_kind == UnitKind.SHORT_STAY).first()
    amendment = prepare(tranche, assessor, AmendmentKind.MAX_PER_UNIT, unit_kind=unit_kind, new_amount=Decimal("9000"))
    assert fresh(tranche).max_per_unit(permanence=permanence, housing_type=housing_type) != Decimal("9000")

    confirm_amendment(amendment=amendment, user=approver)

    # What applications read to check a unit line's request.
    assert fresh(tranche).max_per_unit(permanence=permanence, housing_type=housing_type) == Decimal("9000")
    assert amendment.old_amount == getattr(tranche, unit_kind)


def test_short_stay_units_can_be_made_ineligible_by_amendment(assessor, approver):
    tranche = TrancheFactory(max_per_short_stay_unit=Decimal("2500"))
    amendment = prepare(tranche, assessor, AmendmentKind.MAX_PER_UNIT, unit_kind=UnitKind.SHORT_STAY, new_amount=None)
    confirm_amendment(amendment=amendment, user=approver)
    assert (amendment.old_amount, fresh(tranche).max_per_short_stay_unit) == (Decimal("2500"), None)


def test_a_max_per_unit_amendment_names_which_maximum(tranche, assessor):
    with pytest.raises(ValidationError) as raised:
        prepare(tranche, assessor, AmendmentKind.MAX_PER_UNIT, new_amount=Decimal("9000"))
    assert set(raised.value.message_dict) == {"unit_kind"}


@pytest.mark.parametrize("new_amount", [Decimal("300000"), None], ids=["raised", "lifted"])
def test_a_max_per_municipality_amendment_is_written_into_the_tranche_on_confirmation(
    tranche, assessor, approver, new_amount
):
    amendment = prepare(tranche, assessor, AmendmentKind.MAX_PER_MUNICIPALITY, new_amount=new_amount)
    assert fresh(tranche).max_per_municipality == Decimal("200000")
    confirm_amendment(amendment=amendment, user=approver)
    assert (amendment.old_amount, fresh(tranche).max_per_municipality) == (Decimal("200000"), new_amount)


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        (AmendmentKind.WINDOW_CEILING, {"new_amount": Decimal("500000")}),
        (AmendmentKind.MAX_PER_UNIT, {"unit_kind": UnitKind.PERMANENT, "new_amount": Decimal("9000")}),
        (AmendmentKind.MAX_PER_MUNICIPALITY, {"new_amount": Decimal("300000")}),
    ],
)
def test_a_window_ceiling_or_maximum_cannot_take_effect_in_the_future(tranche, assessor, kind, values):
    if kind == AmendmentKind.WINDOW_CEILING:
        values = {**values, "window": tranche.windows.get()}
    with translation.override("en"), pytest.raises(ValidationError, match="cannot take effect in the future") as raised:
        prepare(tranche, assessor, kind, at=timezone.now() + timedelta(hours=1), **values)
    assert set(raised.value.message_dict) == {"effective_at"}


# --- no direct change once opened -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("budget_ceiling", Decimal("2000000")),
        ("closes_at", timezone.now() + timedelta(days=60)),
        ("max_per_permanent_unit", Decimal("9000")),
        ("max_per_flexible_unit", Decimal("9000")),
        ("max_per_short_stay_unit", Decimal("2500")),
        ("max_per_municipality", None),
    ],
)
def test_an_opened_tranches_ceiling_cannot_be_edited_directly(tranche, assessor, field, value):
    with translation.override("en"), pytest.raises(ValidationError, match="record an amendment") as raised:
        update_tranche(tranche=tranche, user=assessor, **{field: value})
    assert set(raised.value.message_dict) == {field}
    assert getattr(fresh(tranche), field) == getattr(tranche, field)


def test_an_opened_tranches_opening_cannot_be_moved(tranche, assessor):
    # Moving it into the future would otherwise lift the guard for a direct change afterwards.
    with pytest.raises(ValidationError) as raised:
        update_tranche(tranche=tranche, user=assessor, opens_at=timezone.now() + timedelta(days=1))
    assert set(raised.value.message_dict) == {"opens_at"}


def test_an_opened_tranches_other_fields_can_still_be_edited(tranche, assessor):
    update_tranche(tranche=tranche, user=assessor, title="Nieuwe titel", budget_ceiling=tranche.budget_ceiling)
    assert fresh(tranche).title == "Nieuwe titel"


def test_a_tranche_not_yet_opened_can_be_edited_directly(assessor):
    opens = timezone.now() + timedelta(days=1)
    tranche = TrancheFactory(opens_at=opens, closes_at=opens + timedelta(days=30))
    update_tranche(tranche=tranche, user=assessor, budget_ceiling=Decimal("2000000"), max_per_municipality=None)
    update_window(window=tranche.windows.get(), user=assessor, budget_ceiling=Decimal("1500000"))
    assert (fresh(tranche).budget_ceiling, tranche.windows.get().budget_ceiling) == (
        Decimal("2000000"),
        Decimal("1500000"),
    )


def test_an_opened_tranches_window_ceiling_cannot_be_edited_directly(tranche, assessor):
    window = tranche.windows.get()
    with translation.override("en"), pytest.raises(ValidationError, match="record an amendment") as raised:
        update_window(window=window, user=assessor, budget_ceiling=Decimal("500000"))
    assert set(raised.value.message_dict) == {"budget_ceiling"}
    update_window(window=window, user=assessor, name="Alle aandachtsgroepen")
    window.refresh_from_db()
    assert (window.name, window.budget_ceiling) == ("Alle aandachtsgroepen", Decimal("1000000"))


def test_loading_its_file_again_keeps_what_confirmed_amendments_wrote(assessor, approver):
    data = json.loads((TRANCHES_DIR / "rha-2023.json").read_text(encoding="utf-8"))
    tranche = load_tranche(data=data)
    window = tranche.windows.order_by("code").first()
    for kind, values in (
        (AmendmentKind.MAX_PER_UNIT, {"unit_kind": UnitKind.PERMANENT, "new_amount": Decimal("9999")}),
        (AmendmentKind.WINDOW_CEILING, {"window": window, "new_amount": window.budget_ceiling - 1000}),
    ):
        confirm_amendment(amendment=prepare(tranche, assessor, kind, **values), user=approver)

    load_tranche(data=data)

    window.refresh_from_db()
    assert (fresh(tranche).max_per_permanent_unit, window.budget_ceiling) == (
        Decimal("9999"),
        Decimal(data["windows"][0]["budget_ceiling"]) - 1000,
    )
