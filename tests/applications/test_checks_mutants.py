"""What applications.checks refuses, to the letter: each rule of a unit line, of the whole content and of the
moment (docs/testing.md, "Mutation testing")."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from applications.checks import UnitLineData, content_errors, submission_errors, unit_line_errors
from applications.models import UnitLine
from grants.models import HousingType, RentLimit, TrancheAmendment
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def housing(code: str = "regular") -> HousingType:
    return HousingType.objects.get(code=code)


def data(tranche, **overrides) -> UnitLineData:
    values = {
        "target_group": tranche.target_groups.get(code="homeless"),
        "housing_type": housing(),
        "permanence": "permanent",
        "units": 10,
    }
    values.update(overrides)
    return UnitLineData(**values)


def errors(tranche, window=None, **overrides) -> dict[str, list[str]]:
    return unit_line_errors(tranche=tranche, window=window or tranche.windows.get(), line=data(tranche, **overrides))


# --- one unit line --------------------------------------------------------------------------------------


def test_a_complete_line_within_the_rules_has_no_errors():
    tranche = TrancheFactory()

    assert errors(tranche) == {}
    assert errors(tranche, requested_amount=Decimal("70000.00"), planned_monthly_rent=Decimal("713.90")) == {}
    assert errors(tranche, permanence="flexible", units=1, requested_amount=Decimal("0")) == {}


def test_a_line_without_anything_chosen_names_every_field_at_once():
    tranche = TrancheFactory()

    assert errors(
        tranche, target_group=None, housing_type=None, permanence="", units=0, planned_monthly_rent=Decimal("-1")
    ) == {
        "target_group": ["Choose a target group."],
        "housing_type": ["Choose a housing type."],
        "permanence": ["Choose permanent or flexible."],
        "units": ["The number of units must be at least 1."],
        "planned_monthly_rent": ["The planned monthly rent cannot be negative."],
    }


@pytest.mark.parametrize("units", [None, -1, 0])
def test_fewer_than_one_unit_is_refused(units):
    assert errors(TrancheFactory(), units=units) == {"units": ["The number of units must be at least 1."]}


def test_a_target_group_of_another_tranche_is_refused():
    tranche = TrancheFactory()
    other = TrancheFactory()

    assert errors(tranche, target_group=other.target_groups.get(code="homeless")) == {
        "target_group": ["This target group is not part of the tranche."]
    }


def test_a_target_group_a_window_does_not_take_is_named_with_the_window():
    tranche = TrancheFactory()
    window = tranche.windows.get()
    group = tranche.target_groups.get(code="homeless")
    window.eligible_target_groups.remove(group)

    assert errors(tranche, window) == {"target_group": [f"{group} is not eligible in Alle groepen."]}


def test_a_rent_above_the_years_limit_is_refused_naming_it_and_a_rent_at_it_taken():
    tranche = TrancheFactory(year=2026)

    assert errors(tranche, planned_monthly_rent=Decimal("713.90")) == {}
    assert errors(tranche, planned_monthly_rent=Decimal("0")) == {}
    assert errors(tranche, planned_monthly_rent=Decimal("713.91")) == {
        "planned_monthly_rent": [
            "The planned rent is above the limit of 2026: at most € 713.90 a month (aftoppingsgrens)."
        ]
    }


def test_a_rent_limit_of_a_thousand_euros_is_shown_with_a_thousands_separator():
    tranche = TrancheFactory(year=2026)
    RentLimit.objects.filter(year=2026).update(aftoppingsgrens=Decimal("1234.50"), max_starting_rent=Decimal("2000"))

    with translation.override("nl"):
        found = errors(tranche, planned_monthly_rent=Decimal("1234.51"))

    assert found == {
        "planned_monthly_rent": [
            "De geplande huur ligt boven de grens van 2026: maximaal € 1.234,50 per maand (aftoppingsgrens)."
        ]
    }


def test_a_year_without_rent_limits_checks_no_rent_but_still_a_negative_one():
    tranche = TrancheFactory(year=2099)

    assert errors(tranche, planned_monthly_rent=Decimal("5000.00")) == {}
    assert errors(tranche, planned_monthly_rent=Decimal("-0.01")) == {
        "planned_monthly_rent": ["The planned monthly rent cannot be negative."]
    }


def test_a_line_with_a_wrong_field_is_not_checked_for_its_amount():
    tranche = TrancheFactory()

    assert errors(tranche, units=0, requested_amount=Decimal("99999999.00")) == {
        "units": ["The number of units must be at least 1."]
    }


def test_a_kind_of_unit_the_tranche_does_not_fund_is_refused_on_the_housing_type():
    tranche = TrancheFactory(max_per_short_stay_unit=None)

    assert errors(tranche, housing_type=housing("short_stay"), requested_amount=Decimal("-5")) == {
        "housing_type": [f"{housing('short_stay')} units are not eligible in this tranche."]
    }


@pytest.mark.parametrize("permanence", ["permanent", "flexible"])
def test_the_requested_amount_may_be_zero_up_to_units_times_the_maximum_and_not_a_cent_more(permanence):
    tranche = TrancheFactory(max_per_permanent_unit=Decimal("7000.00"), max_per_flexible_unit=Decimal("3500.00"))
    per_unit, shown, shown_total = {
        "permanent": (Decimal("7000.00"), "7,000.00", "70,000.00"),
        "flexible": (Decimal("3500.00"), "3,500.00", "35,000.00"),
    }[permanence]

    assert errors(tranche, permanence=permanence, requested_amount=per_unit * 10) == {}
    assert errors(tranche, permanence=permanence, requested_amount=Decimal("0.00")) == {}
    assert errors(tranche, permanence=permanence, requested_amount=per_unit * 10 + Decimal("0.01")) == {
        "requested_amount": [f"At most € {shown_total}: 10 units × € {shown} per unit."]
    }
    assert errors(tranche, permanence=permanence, requested_amount=Decimal("-0.01")) == {
        "requested_amount": ["The requested amount cannot be negative."]
    }


def test_the_maximum_of_a_line_is_shown_with_thousands_separators_in_dutch():
    tranche = TrancheFactory(max_per_permanent_unit=Decimal("12500.00"))

    with translation.override("nl"):
        found = errors(tranche, units=100, requested_amount=Decimal("1250000.01"))

    assert found == {"requested_amount": ["Ten hoogste € 1.250.000,00: 100 eenheden × € 12.500,00 per eenheid."]}


# --- the whole content ----------------------------------------------------------------------------------


def test_an_application_without_unit_lines_is_told_to_add_one():
    application = ApplicationFactory(lines=[])

    assert content_errors(application) == ["Add at least one unit line."]


def test_the_errors_of_each_line_are_numbered_by_line():
    application = ApplicationFactory(lines=[("homeless", 10, "permanent"), ("homeless", 2, "permanent")])
    first, second = application.unit_lines.order_by("pk")
    UnitLine.objects.filter(pk=second.pk).update(requested_amount=Decimal("14000.01"))
    UnitLine.objects.filter(pk=first.pk).update(planned_monthly_rent=Decimal("713.91"))

    assert content_errors(application) == [
        "Unit line 1: The planned rent is above the limit of 2026: at most € 713.90 a month (aftoppingsgrens).",
        "Unit line 2: At most € 14,000.00: 2 units × € 7,000.00 per unit.",
    ]


def test_an_application_needs_the_minimum_of_units_counted_over_its_lines():
    tranche = TrancheFactory(min_units_per_application=12)

    assert content_errors(ApplicationFactory(tranche=tranche, lines=[("homeless", 6, "permanent")] * 2)) == []
    assert content_errors(ApplicationFactory(tranche=tranche, lines=[("homeless", 11, "permanent")])) == [
        "An application needs at least 12 units; this one has 11."
    ]


def test_the_cap_per_municipality_is_reached_exactly_and_passed_by_a_cent_over_the_lines():
    tranche = TrancheFactory(max_per_municipality=Decimal("1400000.00"), max_per_permanent_unit=Decimal("70000.00"))
    at_cap = ApplicationFactory(tranche=tranche, lines=[("homeless", 10, "permanent")] * 2)

    assert content_errors(at_cap) == []

    line = at_cap.unit_lines.order_by("pk").first()
    line.units, line.requested_amount = 11, Decimal("700000.01")
    line.save()
    with translation.override("nl"):
        assert content_errors(at_cap) == [
            "Een gemeente kan in deze tranche ten hoogste € 1.400.000,00 ontvangen; "
            "deze aanvraag vraagt € 1.400.000,01."
        ]


def test_required_attachments_are_named_each_until_attached():
    tranche = TrancheFactory(required_attachments=["project_plan", "council_decision"])
    application = ApplicationFactory(tranche=tranche)

    assert content_errors(application) == ["Attach the project plan.", "Attach the council decision."]

    application.attachments.create(
        kind="council_decision", original_name="b.pdf", size=1, sha256="0" * 64, uploaded_by=UserFactory()
    )
    assert content_errors(application) == ["Attach the project plan."]


# --- the moment -----------------------------------------------------------------------------------------


def test_a_submission_is_possible_from_the_opening_to_just_before_the_closing():
    opens = datetime(2026, 10, 1, 7, 0, tzinfo=UTC)
    tranche = TrancheFactory(opens_at=opens, closes_at=opens + timedelta(days=30))
    application = ApplicationFactory(tranche=tranche)

    assert submission_errors(application, now=opens) == []
    assert submission_errors(application, now=opens + timedelta(days=30, microseconds=-1)) == []
    assert submission_errors(application, now=opens - timedelta(microseconds=1)) == [
        "This tranche opens at Oct. 1, 2026, 9 a.m.; you cannot submit before then."
    ]
    assert submission_errors(application, now=opens + timedelta(days=30)) == [
        "The deadline of this tranche was Oct. 31, 2026, 8 a.m.; applications can no longer be submitted."
    ]


def test_the_closing_in_force_at_the_moment_decides_and_is_named():
    opens = datetime(2026, 10, 1, 7, 0, tzinfo=UTC)
    tranche = TrancheFactory(opens_at=opens, closes_at=opens + timedelta(days=30))
    new_closing = opens + timedelta(days=10)
    TrancheAmendment.objects.create(
        tranche=tranche, kind="closing", new_closes_at=new_closing, effective_at=opens + timedelta(days=2)
    )
    application = ApplicationFactory(tranche=tranche, lines=[])

    assert submission_errors(application, now=new_closing) == [
        "The deadline of this tranche was Oct. 11, 2026, 9 a.m.; applications can no longer be submitted.",
        "Add at least one unit line.",
    ]


def test_the_content_check_reads_the_lines_with_their_group_and_type_in_one_query(django_assert_num_queries):
    application = ApplicationFactory(
        lines=[("homeless", 10, "permanent"), ("status_holders", 6, "flexible"), ("students", 5, "permanent")]
    )
    application.tranche.required_attachments = []
    # The lines with their group and type, not a query per line.
    with django_assert_num_queries(5):
        content_errors(application)
