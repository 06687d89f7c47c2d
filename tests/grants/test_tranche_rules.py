import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation import ranking
from applications import services
from applications.models import Status
from applications.services import UnitLineData, unit_line_errors
from grants.models import HousingType, Tranche, Window
from grants.services import TRANCHES_DIR, load_tranche
from tests.factories import ApplicationFactory, TrancheFactory, UnitLineFactory, UserFactory

pytestmark = pytest.mark.django_db

TRANCHES = TRANCHES_DIR


def load(name: str) -> Tranche:
    return load_tranche(data=json.loads((TRANCHES / name).read_text(encoding="utf-8")))


def line(tranche, *, units=10, amount=None, permanence="permanent", housing_type="regular", group="homeless"):
    return UnitLineData(
        target_group=tranche.target_groups.get(code=group),
        housing_type=HousingType.objects.get(code=housing_type),
        permanence=permanence,
        units=units,
        requested_amount=amount,
    )


def errors(tranche, data):
    return unit_line_errors(tranche=tranche, window=tranche.windows.get(), line=data)


# --- maximum per unit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("permanence", ["permanent", "flexible"])
def test_amount_exactly_units_times_the_maximum_is_accepted(permanence):
    tranche = TrancheFactory(max_per_permanent_unit=Decimal("7000"), max_per_flexible_unit=Decimal("6000"))
    maximum = {"permanent": Decimal("70000"), "flexible": Decimal("60000")}[permanence]
    assert errors(tranche, line(tranche, amount=maximum, permanence=permanence)) == {}


@pytest.mark.parametrize("permanence", ["permanent", "flexible"])
def test_amount_one_euro_above_units_times_the_maximum_is_refused_naming_the_limit(permanence):
    tranche = TrancheFactory(max_per_permanent_unit=Decimal("7000"), max_per_flexible_unit=Decimal("6000"))
    maximum = {"permanent": Decimal("70000"), "flexible": Decimal("60000")}[permanence]
    with translation.override("en"):
        found = errors(tranche, line(tranche, amount=maximum + 1, permanence=permanence))
    assert list(found) == ["requested_amount"]
    assert f"€ {maximum:,.2f}" in found["requested_amount"][0]


def test_short_stay_units_of_2021_may_ask_2500_each_and_not_a_euro_more():
    tranche = load("rha-2021.json")
    assert errors(tranche, line(tranche, units=4, amount=Decimal("10000"), housing_type="short_stay")) == {}
    refused = errors(tranche, line(tranche, units=4, amount=Decimal("10001"), housing_type="short_stay"))
    assert list(refused) == ["requested_amount"]


def test_short_stay_units_are_not_eligible_in_2022():
    tranche = load("rha-2022.json")
    with translation.override("en"):
        found = errors(tranche, line(tranche, housing_type="short_stay"))
    assert list(found) == ["housing_type"]
    assert "not eligible in this tranche" in found["housing_type"][0]


def test_a_line_is_accepted_exactly_when_it_asks_at_most_units_times_the_maximum():
    tranche = TrancheFactory()
    window = Window.objects.prefetch_related("eligible_target_groups").get(tranche=tranche)
    group = tranche.target_groups.get(code="homeless")
    regular = HousingType.objects.get(code="regular")

    # The maximum is changed in memory only: each example reads the same rows and writes nothing.
    @settings(max_examples=300, deadline=None)
    @given(
        max_cents=st.integers(min_value=1, max_value=10_000_000),
        units=st.integers(min_value=1, max_value=5_000),
        data=st.data(),
    )
    def check(max_cents, units, data):
        tranche.max_per_permanent_unit = Decimal(max_cents) / 100
        limit_cents = max_cents * units
        cents = data.draw(st.integers(min_value=0, max_value=2 * limit_cents + 100), label="requested cents")
        found = unit_line_errors(
            tranche=tranche,
            window=window,
            line=UnitLineData(
                target_group=group,
                housing_type=regular,
                permanence="permanent",
                units=units,
                requested_amount=Decimal(cents) / 100,
            ),
        )
        assert ("requested_amount" in found) == (cents > limit_cents)
        assert set(found) <= {"requested_amount"}

    check()


# --- maximum per municipality -------------------------------------------------------------------------


def submit_with_cap(cap: Decimal):
    signatory = UserFactory(signatory=True)
    tranche = TrancheFactory(max_per_municipality=cap)
    application = ApplicationFactory(municipality=signatory.municipality, tranche=tranche, lines=[])
    UnitLineFactory(application=application, units=10, requested_amount=Decimal("40000"))
    UnitLineFactory(application=application, units=10, requested_amount=Decimal("30000"))
    return services.submit_application(application=application, user=signatory), application


def test_an_application_exactly_at_the_municipal_cap_is_accepted():
    submitted, _ = submit_with_cap(Decimal("70000"))
    assert submitted.status == Status.SUBMITTED


def test_an_application_one_euro_above_the_municipal_cap_is_refused_naming_the_cap():
    with translation.override("en"), pytest.raises(ValidationError, match=re.escape("€ 69,999.00")):
        submit_with_cap(Decimal("69999"))


# --- tranche files ------------------------------------------------------------------------------------


def test_every_tranche_file_loads_alongside_the_others():
    loaded = [load(path.name) for path in sorted(TRANCHES.glob("*.json"))]
    assert len({t.number for t in loaded}) == len(loaded)
    assert len({t.receipt_prefix for t in loaded}) == len(loaded)


@pytest.mark.parametrize("path", sorted(TRANCHES.glob("*.json")), ids=lambda path: path.name)
def test_loading_a_tranche_file_twice_changes_nothing(path):
    first = load(path.name)
    counts = (first.target_groups.count(), first.windows.count(), first.amendments.count())
    second = load(path.name)
    assert second.pk == first.pk
    assert (second.target_groups.count(), second.windows.count(), second.amendments.count()) == counts


@pytest.mark.parametrize("path", sorted(TRANCHES.glob("*.json")), ids=lambda path: path.name)
def test_every_tranche_file_names_its_sources_and_has_a_row_in_the_readme(path):
    assert json.loads(path.read_text(encoding="utf-8"))["source"].strip()
    assert f"`{path.name}`" in (TRANCHES / "README.md").read_text(encoding="utf-8")


def test_the_2022_ceiling_is_raised_on_21_september_2022():
    tranche = load("rha-2022.json")
    assert tranche.ceiling_at(datetime(2022, 9, 20, 21, 59, tzinfo=UTC)) == Decimal("37100000")
    assert tranche.ceiling_at(datetime(2022, 9, 20, 22, 0, tzinfo=UTC)) == Decimal("52135000")


def test_the_2022_closing_moves_to_28_november_2022_at_five():
    tranche = load("rha-2022.json")
    assert tranche.closes_at_in_force(datetime(2022, 11, 1, tzinfo=UTC)) == datetime(2022, 10, 24, 13, 0, tzinfo=UTC)
    assert tranche.closes_at_in_force(datetime(2022, 11, 20, tzinfo=UTC)) == datetime(2022, 11, 28, 16, 0, tzinfo=UTC)


def test_the_2024_student_tranche_takes_students_only_and_ranks_non_self_contained_first():
    tranche = load("rha-2024-studenten.json")
    window = Window.objects.get(tranche=tranche)
    assert list(window.eligible_target_groups.values_list("national_group__code", flat=True)) == ["students"]
    assert (window.ranking_method, window.category_rule) == ("category", "non_self_contained_first")
    assert window.category_rule in ranking.CATEGORY_RULES
    assert tranche.ceiling_at(datetime(2024, 12, 1, tzinfo=UTC)) == Decimal("31500000")


@pytest.mark.parametrize(("shared", "total", "category"), [(10, 10, "A"), (1, 10, "B"), (9, 10, "B"), (0, 10, "C")])
def test_non_self_contained_first_puts_applications_with_only_rooms_first(shared, total, category):
    candidate = ranking.Candidate(
        reference="RHA-2024-ST-0001",
        receipt_sequence=1,
        municipality="GM0344",
        requested=Decimal("8500"),
        ranked_at=datetime(2024, 8, 26, 7, 0, tzinfo=UTC),
        units=total,
        units_not_self_contained=shared,
    )
    assert ranking.non_self_contained_first_category(candidate) == category


def test_the_2020_tranche_is_a_fixed_allocation_configured_inside_2020():
    tranche = load("rha-2020.json")
    assert (tranche.opens_at.year, tranche.closes_at.year) == (2020, 2020)
    assert "58877" in tranche.source
    assert list(tranche.windows.values_list("ranking_method", flat=True)) == ["first_come"]


def test_the_2021_tranche_has_the_published_money_rules():
    tranche = load("rha-2021.json")
    assert (
        tranche.budget_ceiling,
        tranche.max_per_permanent_unit,
        tranche.max_per_short_stay_unit,
        tranche.max_per_municipality,
    ) == (Decimal("50000000"), Decimal("5000"), Decimal("2500"), Decimal("1000000"))
    assert "onbevestigd" in tranche.source
