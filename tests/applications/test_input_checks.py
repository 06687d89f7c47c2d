"""Bad input in the portal forms and the CSV import gives a clear error, never a server error or a wrong value.

NUL cannot be stored in PostgreSQL (run these with DATABASE_URL to see it), digits of other scripts are numbers to
Python, and a planning date in the year 1 is a typing error.
"""

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from applications import importing
from applications.models import Application
from applications.selectors import EXCHANGE_COLUMNS, INFORMATION_COLUMNS
from grants import services as grants_services
from grants.services import TRANCHES_DIR
from tests.factories import ApplicationFactory, TrancheFactory, UserFactory
from tests.portal import client_for, edit_data, line, url

pytestmark = pytest.mark.django_db

ARABIC_7000 = "\u0667\u0660\u0660\u0660"  # ٧٠٠٠
CONTROL_MESSAGE = "Verwijder de stuurtekens (zoals een NUL-teken of een regeleinde) uit deze tekst."


def saved_lines(application) -> list[tuple]:
    return list(application.unit_lines.values_list("units", "requested_amount", "planned_monthly_rent"))


def post_edit(editor, draft, lines=None, **fields):
    data = edit_data(draft, lines if lines is not None else [line(draft)], **fields)
    return client_for(editor, language="nl").post(url("application_edit", draft), data)


# --- text -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["Het\x00Baken", "Het\x07Baken", "Het\x1bBaken", "Het\nBaken", "Het\tBaken", "Het\x85."]
)
def test_a_project_name_with_a_control_character_is_refused_on_its_field(editor, draft, text):
    response = post_edit(editor, draft, project_name=text)

    assert response.status_code == 200
    assert CONTROL_MESSAGE in response.context["form"].errors["project_name"]
    draft.refresh_from_db()
    assert draft.project_name == "Het Baken"


def test_a_new_draft_with_a_control_character_in_its_location_is_not_made(editor):
    tranche = TrancheFactory()
    response = client_for(editor, language="nl").post(
        reverse("portal:application_create", args=[tranche.slug]),
        {"project_name": "Het Baken", "location": "Station\x0bstraat 1"},
    )

    assert response.context["form"].errors["location"] == [CONTROL_MESSAGE]
    assert not Application.objects.exists()


def test_a_description_keeps_its_line_breaks_and_tabs(editor, draft):
    response = post_edit(editor, draft, description="Eerste regel\r\n\tTweede regel")

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.description == "Eerste regel\r\n\tTweede regel"


@pytest.mark.parametrize("text", ["Een\x00NUL", "Een\x08backspace"])
def test_a_description_with_another_control_character_is_refused(editor, draft, text):
    response = post_edit(editor, draft, description=text)

    assert response.status_code == 200
    assert "description" in response.context["form"].errors


def test_a_withdrawal_reason_with_a_control_character_is_refused():
    signatory = UserFactory(signatory=True)
    application = ApplicationFactory(municipality=signatory.municipality, submitted=True)

    response = client_for(signatory).post(url("application_withdraw", application), {"reason": "Weg\x1bermee"})

    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    application.refresh_from_db()
    assert application.status == "submitted"


# --- numbers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["requested_amount", "planned_monthly_rent"])
def test_an_amount_in_other_digits_is_refused(editor, draft, field):
    before = saved_lines(draft)
    response = post_edit(editor, draft, [line(draft, **{field: ARABIC_7000})])

    assert response.status_code == 200
    assert field in response.context["formset"].forms[0].errors
    assert saved_lines(draft) == before


@pytest.mark.parametrize("units", ["\u0661\u0660", "\uff11\uff10", "10.0", "1_0"])
def test_units_in_other_digits_or_forms_are_refused(editor, draft, units):
    before = saved_lines(draft)
    response = post_edit(editor, draft, [line(draft, units=units)])

    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors["units"] == [
        "Schrijf het getal alleen met de cijfers 0 tot en met 9."
    ]
    assert saved_lines(draft) == before


def test_units_and_amounts_in_plain_digits_are_taken(editor, draft):
    response = post_edit(editor, draft, [line(draft, units=" 10 ", requested_amount="7.000")])

    assert response.status_code == 302
    assert list(draft.unit_lines.values_list("units", "requested_amount")) == [(10, 7000)]


# --- dates ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("planned_start", "0001-01-01"), ("planned_start", "1999-12-31"), ("planned_completion", "2101-01-01")],
)
def test_a_planning_date_outside_2000_to_2100_is_refused(editor, draft, field, value):
    response = post_edit(editor, draft, **{field: value})

    assert response.status_code == 200
    assert response.context["form"].errors[field] == ["Vul een datum in tussen 2000 en 2100."]
    draft.refresh_from_db()
    assert (draft.planned_start, draft.planned_completion) == (None, None)


def test_planning_dates_from_2000_to_2100_are_taken(editor, draft):
    response = post_edit(editor, draft, planned_start="2000-01-01", planned_completion="2100-12-31")

    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.planned_start.year, draft.planned_completion.year) == (2000, 2100)


def test_the_date_inputs_tell_the_browser_the_range(editor, draft):
    page = client_for(editor).get(url("application_edit", draft)).content.decode()

    assert page.count('min="2000-01-01"') == 2
    assert page.count('max="2100-12-31"') == 2


# --- the CSV import -------------------------------------------------------------------------------------

GOOD_ROW = (
    "RHA-2023-0001,GM0363,all,Tiny houses,2023-05-30T09:00:01+02:00,homeless,regular,flexible,yes,no,20,140000.00"
)


@pytest.fixture
def tranche():
    tranche_file = TRANCHES_DIR / "rha-2023.json"
    return grants_services.load_tranche(data=json.loads(tranche_file.read_text(encoding="utf-8")))


def rejection(tranche, rows: list[str], *, columns=EXCHANGE_COLUMNS) -> list[str]:
    stream = io.StringIO("\n".join([",".join(columns), *rows]) + "\n")
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        importing.import_applications(tranche=tranche, stream=stream, source="test.csv")
    assert not Application.objects.filter(tranche=tranche).exists()
    return caught.value.messages


def with_value(column: str, value: str) -> str:
    values = GOOD_ROW.split(",")
    values[EXCHANGE_COLUMNS.index(column)] = value
    return ",".join(values)


CONTROL = "{column} contains control characters (such as a NUL character)"
UNITS = "units must be a whole number of at least 1, not {value!r}"
AMOUNT = "requested_amount must be an amount in euros such as 7000.00, not {value!r}"
INSTANT = "received_at {value!r} is not an ISO 8601 instant with an offset"


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("project_name", "Tiny\x00houses", CONTROL),
        ("project_name", "Tiny\x1bhouses", CONTROL),
        ("reference", "RHA-2023-\x000001", CONTROL),
        ("units", "\u0662\u0660", UNITS),
        ("units", "2_0", UNITS),
        ("requested_amount", "\u0661\u0664\u0660\u0660\u0660\u0660", AMOUNT),
        ("requested_amount", "140_000", AMOUNT),
        ("requested_amount", "1.4E+5", AMOUNT),
        ("received_at", "2023-02-30T09:00:00+01:00", INSTANT),
    ],
)
def test_a_bad_value_is_a_row_problem(tranche, column, value, problem):
    message = "row 2: " + problem.format(column=column, value=value)

    assert message in rejection(tranche, [with_value(column, value)])


def test_an_information_instant_in_the_year_9999_is_refused(tranche):
    row = f"{GOOD_ROW},2023-06-01T09:00:00+02:00,9999-12-31T09:00:00+01:00"

    messages = rejection(tranche, [row], columns=EXCHANGE_COLUMNS + INFORMATION_COLUMNS)

    assert messages == ["row 2: information_received_at 9999-12-31 09:00:00+01:00 is not between 2000 and 2100"]


def test_a_field_too_long_for_the_csv_reader_rejects_the_file(tranche):
    (message,) = rejection(tranche, [with_value("project_name", "x" * 200_000)])

    assert message.startswith("row 2: the file cannot be read as CSV (field larger than field limit")


def test_a_nul_in_the_file_name_does_not_reach_the_audit_trail(tranche):
    stream = io.StringIO("\n".join([",".join(EXCHANGE_COLUMNS), GOOD_ROW]) + "\n")

    with translation.override("en"):
        importing.import_applications(tranche=tranche, stream=stream, source="aanvragen\x00.csv")

    application = Application.objects.get(tranche=tranche)
    assert {change.reason for change in application.status_changes.all()} == {"Imported from aanvragen.csv."}
