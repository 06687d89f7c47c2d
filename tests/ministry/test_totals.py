from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from ministry import tasks
from ministry.models import TotalsRow, TotalsScope
from ministry.selectors import tranche_totals
from ministry.services import compute_totals, store_totals
from tests.factories import TrancheFactory
from tests.figures import allocate, application, varied_data

pytestmark = pytest.mark.django_db

MEASURES = [
    field.name for field in TotalsRow._meta.concrete_fields if field.name not in ("id", "generation", "computed_at")
]


def _comparable(rows) -> dict:
    """Rows by scope and dimensions, as their measures: what a refresh must store exactly."""
    result = {}
    for row in rows:
        values = {name: getattr(row, f"{name}_id" if name in FOREIGN_KEYS else name) for name in MEASURES}
        key = tuple(values[name] for name in DIMENSIONS)
        assert key not in result, f"two rows for {key}"
        result[key] = values
    return result


FOREIGN_KEYS = {"scheme", "tranche", "window", "municipality", "target_group", "tranche_target_group", "housing_type"}
DIMENSIONS = ["scope", "scheme", *sorted(FOREIGN_KEYS - {"scheme"}), "province", "permanence", "year"]


def _row(scope, **dimensions) -> TotalsRow:
    return TotalsRow.objects.get(scope=scope, **dimensions)


def test_stored_totals_equal_a_direct_computation_on_varied_data():
    varied_data()

    tasks.refresh_totals()

    stored = _comparable(TotalsRow.objects.all())
    assert stored == _comparable(compute_totals())
    assert len(stored) > 40


def test_tranche_totals_count_submitted_and_granted_applications_by_hand():
    data = varied_data()
    store_totals()

    row = _row(TotalsScope.TRANCHE, tranche=data.older)
    assert row.budget == Decimal("120000.00")  # the ceiling in force, after the amendment
    assert row.requested == Decimal("140000.00")  # withdrawn and draft applications are left out
    assert row.oversubscription == Decimal("20000.00")
    assert (row.applications_submitted, row.municipalities_submitted) == (3, 2)
    assert (row.applications_granted, row.municipalities_granted) == (2, 2)
    assert row.amount_granted == Decimal("100000.00")


def test_partially_granted_application_counts_all_its_units():
    data = varied_data()
    store_totals()

    row = _row(TotalsScope.TRANCHE, tranche=data.older)
    assert (row.units_granted, row.units_permanent, row.units_flexible) == (18, 5, 13)


def test_tranche_without_applications_has_its_budget_and_zeros():
    data = varied_data()
    store_totals()

    row = _row(TotalsScope.TRANCHE, tranche=data.empty)
    assert row.budget == Decimal("500000.00")
    assert row.requested == row.oversubscription == row.amount_granted == Decimal("0")
    assert row.applications_submitted == row.units_granted == 0


def test_window_row_has_the_window_ceiling():
    data = varied_data()
    store_totals()

    row = _row(TotalsScope.WINDOW, window=data.older.windows.get())
    assert (row.budget, row.requested, row.oversubscription) == (
        Decimal("100000.00"),
        Decimal("140000.00"),
        Decimal("40000.00"),
    )


def test_scheme_row_adds_up_all_tranches_and_counts_a_municipality_once():
    data = varied_data()
    store_totals()

    row = _row(TotalsScope.SCHEME, scheme=data.older.scheme)
    assert row.budget == Decimal("1620000.00")
    assert row.oversubscription == Decimal("20000.00")  # only the older tranche was oversubscribed
    assert row.units_granted == 24
    assert row.applications_granted == 4
    assert row.municipalities_granted == 3  # Amsterdam was granted in both tranches
    assert row.amount_granted == Decimal("142000.00")


def test_national_target_group_adds_up_the_tranche_groups_mapped_to_it():
    data = varied_data()
    store_totals()

    per_tranche = TotalsRow.objects.filter(scope=TotalsScope.TRANCHE_TARGET_GROUP, tranche=data.older)
    national = _row(TotalsScope.TARGET_GROUP, tranche=data.older, target_group__code="urgency")
    assert {row.tranche_target_group.code: row.units_granted for row in per_tranche} == {
        "homeless": 5,
        "students": 3,
        "social_urgency": 10,
        "medical_urgency": 0,  # refused: requested but not granted
    }
    assert (national.units_granted, national.requested, national.amount_granted) == (10, Decimal("84000.00"), None)


def test_cumulative_rows_add_up_over_tranches():
    varied_data()
    store_totals()

    homeless = _row(TotalsScope.TARGET_GROUP, tranche=None, target_group__code="homeless")
    province = _row(TotalsScope.PROVINCE, tranche=None, province="Noord-Holland")
    caravan = _row(TotalsScope.HOUSING_TYPE, tranche=None, housing_type__code="caravan_pitch")
    permanent = _row(TotalsScope.PERMANENCE, tranche=None, permanence="permanent")
    assert homeless.units_granted == 9
    assert (province.units_granted, province.amount_granted) == (14, Decimal("72000.00"))
    assert caravan.units_granted == 2
    assert (permanent.units_granted, permanent.units_flexible) == (11, 0)


def test_municipality_rows_carry_their_province():
    data = varied_data()
    store_totals()

    row = _row(TotalsScope.MUNICIPALITY, tranche=data.older, municipality__code="GM0344")
    assert row.province == "Utrecht"
    assert (row.applications_submitted, row.applications_granted, row.units_granted) == (2, 1, 8)


def test_realised_settled_and_reclaimed_stay_zero_without_reports():
    varied_data()
    store_totals()

    assert not TotalsRow.objects.exclude(units_realised=0).exists()
    assert not TotalsRow.objects.exclude(amount_settled=0, amount_reclaimed=0).exists()
    assert not TotalsRow.objects.filter(scope=TotalsScope.COMPLETION_YEAR).exists()


def test_stored_tranche_totals_match_the_report_totals_command():
    data = varied_data()
    store_totals()

    row = _row(TotalsScope.TRANCHE, tranche=data.older)
    report = tranche_totals(tranche=data.older)
    assert (row.budget, row.requested, row.oversubscription, row.amount_granted) == (
        report.budget,
        report.requested,
        report.oversubscription,
        report.amount_granted,
    )
    assert (row.applications_submitted, row.municipalities_submitted) == (
        report.applications_received,
        report.municipalities_applied,
    )
    assert (row.units_granted, row.units_permanent, row.units_flexible) == (
        report.units_total,
        report.units_permanent,
        report.units_flexible,
    )


def test_refresh_replaces_the_previous_generation():
    varied_data()
    first = store_totals()
    count = TotalsRow.objects.count()

    second = store_totals()

    assert second == first + 1
    assert set(TotalsRow.objects.values_list("generation", flat=True)) == {second}
    assert TotalsRow.objects.count() == count


def test_refresh_after_new_grants_shows_them():
    tranche = TrancheFactory()
    store_totals()
    application(tranche, "GM0344", [("homeless", 3, "permanent", "regular")], minutes=1)
    allocate(tranche)

    store_totals()

    assert _row(TotalsScope.TRANCHE, tranche=tranche).units_granted == 3


def test_refresh_is_deferred_while_another_refresh_holds_the_lock():
    TrancheFactory()
    cache.set(tasks.TOTALS_LOCK, "someone else")
    try:
        assert tasks.refresh_totals() is None
        assert not TotalsRow.objects.exists()
        assert cache.get(tasks.TOTALS_PENDING)
    finally:
        cache.delete_many([tasks.TOTALS_LOCK, tasks.TOTALS_PENDING])


def test_refresh_asked_for_during_a_refresh_runs_once_more_afterwards(monkeypatch):
    TrancheFactory()
    generations = []
    real_store = tasks.services.store_totals

    def store_and_meanwhile_ask_again():
        if not generations:
            assert tasks.refresh_totals() is None  # overlapping: deferred, not run alongside
        generations.append(real_store())
        return generations[-1]

    monkeypatch.setattr(tasks.services, "store_totals", store_and_meanwhile_ask_again)

    tasks.refresh_totals()

    assert len(generations) == 2
    assert cache.get(tasks.TOTALS_LOCK) is None


def test_confirming_an_allocation_refreshes_the_totals_after_commit(django_capture_on_commit_callbacks):
    tranche = TrancheFactory()
    application(tranche, "GM0344", [("homeless", 3, "permanent", "regular")], minutes=1)

    with django_capture_on_commit_callbacks(execute=True):
        allocate(tranche)
        assert not TotalsRow.objects.exists()

    assert _row(TotalsScope.TRANCHE, tranche=tranche).applications_granted == 1


def test_refresh_runs_nightly_at_half_past_two_amsterdam_time():
    schedule = settings.CELERY_BEAT_SCHEDULE["refresh-totals-nightly"]

    assert schedule["task"] == "ministry.tasks.refresh_totals"
    assert (schedule["schedule"].hour, schedule["schedule"].minute) == ({2}, {30})
    assert settings.CELERY_TIMEZONE == "Europe/Amsterdam"


def test_a_row_whose_dimensions_do_not_match_its_scope_is_refused():
    tranche = TrancheFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        TotalsRow.objects.create(
            generation=1, computed_at=tranche.opens_at, scope=TotalsScope.PROVINCE, scheme=tranche.scheme
        )


def test_two_rows_for_the_same_cumulative_dimensions_are_refused():
    tranche = TrancheFactory()
    values = {
        "generation": 1,
        "computed_at": tranche.opens_at,
        "scope": TotalsScope.PROVINCE,
        "scheme": tranche.scheme,
        "province": "Utrecht",
    }
    TotalsRow.objects.create(**values)

    with pytest.raises(IntegrityError), transaction.atomic():
        TotalsRow.objects.create(**values)
