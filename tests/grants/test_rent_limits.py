import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import translation

from applications import services
from applications.models import Status
from applications.services import UnitLineData, unit_line_errors
from grants.models import HousingType, RentLimit
from grants.services import DATA_DIR, load_rent_limits
from tests.factories import ApplicationFactory, TrancheFactory, UnitLineFactory, UserFactory

pytestmark = pytest.mark.django_db


def rent_errors(tranche, rent):
    line = UnitLineData(
        target_group=tranche.target_groups.get(code="homeless"),
        housing_type=HousingType.objects.get(code="regular"),
        permanence="permanent",
        units=10,
        planned_monthly_rent=rent,
    )
    return unit_line_errors(tranche=tranche, window=tranche.windows.get(), line=line)


def test_reference_data_holds_rent_limits_for_2021_to_2026():
    assert list(RentLimit.objects.values_list("year", flat=True)) == [2021, 2022, 2023, 2024, 2025, 2026]


@pytest.mark.parametrize(
    ("year", "aftoppingsgrens", "max_starting_rent", "increase"),
    [
        (2021, "633.25", "752.33", "0.00"),
        (2022, "633.25", "763.47", "2.30"),
        (2023, "647.19", "808.06", "3.10"),
        (2024, "650.43", "879.66", "5.80"),
        (2025, "682.96", "900.07", "5.00"),
    ],
)
def test_rent_limits_are_the_published_values(year, aftoppingsgrens, max_starting_rent, increase):
    limit = RentLimit.objects.get(year=year)
    assert (limit.aftoppingsgrens, limit.max_starting_rent, limit.max_yearly_increase_percent) == (
        Decimal(aftoppingsgrens),
        Decimal(max_starting_rent),
        Decimal(increase),
    )


def test_the_unconfirmed_2026_value_says_so_in_its_source():
    assert "onbevestigd" in RentLimit.objects.get(year=2026).source


def test_loading_the_rent_limits_again_changes_nothing():
    before = list(RentLimit.objects.order_by("year").values())
    assert load_rent_limits() == 6
    assert list(RentLimit.objects.order_by("year").values()) == before


def test_load_rent_limits_command_updates_a_year_from_the_file(tmp_path):
    items = json.loads((DATA_DIR / "rent_limits.json").read_text(encoding="utf-8"))
    items[3]["aftoppingsgrens"] = "651.00"
    path = tmp_path / "rent_limits.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    call_command("load_rent_limits", str(path))
    assert RentLimit.objects.get(year=2024).aftoppingsgrens == Decimal("651.00")


def test_load_rent_limits_refuses_an_aftoppingsgrens_above_the_starting_rent_and_keeps_the_old_values(tmp_path):
    items = json.loads((DATA_DIR / "rent_limits.json").read_text(encoding="utf-8"))
    items[0]["aftoppingsgrens"] = "800.00"
    path = tmp_path / "rent_limits.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    with translation.override("en"), pytest.raises(CommandError, match="aftoppingsgrens cannot be above"):
        call_command("load_rent_limits", str(path))
    assert RentLimit.objects.get(year=2021).aftoppingsgrens == Decimal("633.25")


def test_load_rent_limits_command_reports_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="missing.json"):
        call_command("load_rent_limits", str(tmp_path / "missing.json"))


def test_rent_one_cent_above_the_limit_of_the_tranche_year_is_refused_naming_limit_and_year():
    tranche = TrancheFactory(year=2024)
    with translation.override("en"):
        errors = rent_errors(tranche, Decimal("650.44"))
    assert list(errors) == ["planned_monthly_rent"]
    assert "2024" in errors["planned_monthly_rent"][0]
    assert "€ 650.43" in errors["planned_monthly_rent"][0]


def test_rent_exactly_at_the_limit_is_accepted():
    assert rent_errors(TrancheFactory(year=2024), Decimal("650.43")) == {}


def test_the_limit_of_the_tranche_year_applies():
    assert rent_errors(TrancheFactory(year=2025), Decimal("660.00")) == {}
    assert "planned_monthly_rent" in rent_errors(TrancheFactory(year=2024), Decimal("660.00"))


def test_the_limit_is_shown_in_dutch_money_format_in_dutch():
    with translation.override("nl"):
        errors = rent_errors(TrancheFactory(year=2024), Decimal("700.00"))
    assert "€ 650,43" in errors["planned_monthly_rent"][0]


def test_a_year_without_rent_limits_has_no_rent_check():
    assert rent_errors(TrancheFactory(year=2035), Decimal("5000.00")) == {}


def test_an_empty_rent_is_not_checked():
    assert rent_errors(TrancheFactory(year=2024), None) == {}


def test_a_negative_rent_is_refused():
    assert "planned_monthly_rent" in rent_errors(TrancheFactory(year=2035), Decimal("-1.00"))


def test_saving_a_line_with_a_rent_above_the_limit_is_refused_on_its_field():
    editor = UserFactory()
    application = ApplicationFactory(municipality=editor.municipality, tranche=TrancheFactory(year=2024), lines=[])
    line = UnitLineData(
        target_group=application.tranche.target_groups.get(code="homeless"),
        housing_type=HousingType.objects.get(code="regular"),
        permanence="permanent",
        units=4,
        planned_monthly_rent=Decimal("700.00"),
    )
    with pytest.raises(ValidationError) as raised:
        services.save_unit_lines(application=application, user=editor, lines=[line])
    assert set(raised.value.message_dict) == {"lines-0-planned_monthly_rent"}
    assert application.unit_lines.count() == 0


def test_submitting_a_line_with_a_rent_above_the_limit_is_refused():
    signatory = UserFactory(signatory=True)
    application = ApplicationFactory(municipality=signatory.municipality, tranche=TrancheFactory(year=2024), lines=[])
    UnitLineFactory(application=application, planned_monthly_rent=Decimal("650.44"))
    with translation.override("en"), pytest.raises(ValidationError, match="650.43"):
        services.submit_application(application=application, user=signatory)
    application.refresh_from_db()
    assert application.status == Status.DRAFT


def test_submitting_a_line_with_a_rent_at_the_limit_is_accepted():
    signatory = UserFactory(signatory=True)
    application = ApplicationFactory(municipality=signatory.municipality, tranche=TrancheFactory(year=2024), lines=[])
    UnitLineFactory(application=application, planned_monthly_rent=Decimal("650.43"))
    assert services.submit_application(application=application, user=signatory).status == Status.SUBMITTED
