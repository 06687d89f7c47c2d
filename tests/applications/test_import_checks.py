"""Every check of the CSV import format, each with the message it gives, and a file of more than 1,000 rows.

tests/applications/test_import.py shows the import working and a first set of refusals; the checks not shown
there are here, so that each per-row and per-application check is pinned to its message.
"""

import io
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from applications import importing
from applications.models import Application
from applications.selectors import EXCHANGE_COLUMNS, INFORMATION_COLUMNS
from grants import services as grants_services
from grants.models import Tranche, Window
from grants.services import TRANCHES_DIR
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "reference": "RHA-2023-0001",
    "municipality_code": "GM0363",
    "window": "all",
    "project_name": "Tiny houses",
    "received_at": "2023-05-30T09:00:01+02:00",
    "target_group": "homeless",
    "housing_type": "regular",
    "permanence": "flexible",
    "self_contained": "yes",
    "common_room": "no",
    "units": "20",
    "requested_amount": "140000.00",
}


@pytest.fixture
def tranche():
    """RHA 2023: open 30 May to 7 July 2023, € 8,500 per unit, at least 1 unit, no maximum per municipality."""
    return grants_services.load_tranche(data=json.loads((TRANCHES_DIR / "rha-2023.json").read_text(encoding="utf-8")))


def row(**changes) -> str:
    return ",".join({**GOOD, **changes}.values())


def rejection(tranche, rows, *, columns=EXCHANGE_COLUMNS) -> list[str]:
    stream = io.StringIO("\n".join([",".join(columns), *rows]) + "\n")
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        importing.import_applications(tranche=tranche, stream=stream, source="test.csv")
    assert not Application.objects.filter(tranche=tranche).exists()
    return caught.value.messages


def imported(tranche, rows, *, columns=EXCHANGE_COLUMNS) -> int:
    stream = io.StringIO("\n".join([",".join(columns), *rows]) + "\n")
    return importing.import_applications(tranche=tranche, stream=stream, source="test.csv")


# --- per row ---------------------------------------------------------------------------------------------

REFERENCE = "reference must be 1 to 30 characters"
PROJECT = "project_name must be 1 to 200 characters"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reference": ""}, REFERENCE),
        ({"reference": "R" * 31}, REFERENCE),
        ({"window": "students"}, "unknown window 'students' in this tranche"),
        ({"project_name": ""}, PROJECT),
        ({"project_name": "P" * 201}, PROJECT),
        ({"received_at": "yesterday"}, "received_at 'yesterday' is not an ISO 8601 instant with an offset"),
        (
            {"received_at": "2023-07-07T17:00:00+02:00"},
            "received_at 2023-07-07 17:00:00+02:00 is outside the tranche's opening",
        ),
        ({"housing_type": "igloo"}, "unknown housing type 'igloo'"),
        ({"common_room": "ja"}, "common_room must be yes or no"),
        ({"units": "twenty"}, "units must be a whole number of at least 1, not 'twenty'"),
        ({"units": "-1"}, "units must be a whole number of at least 1, not '-1'"),
        ({"requested_amount": ""}, "requested_amount must be an amount in euros such as 7000.00, not ''"),
        ({"requested_amount": "-5.00"}, "The requested amount cannot be negative."),
        ({"requested_amount": "170000.01"}, "At most € 170,000.00: 20 units × € 8,500.00 per unit."),
        ({"reference": "RHA-2023-\x000001"}, "reference contains control characters (such as a NUL character)"),
        ({"project_name": "Tiny\x1bhouses"}, "project_name contains control characters (such as a NUL character)"),
        ({"municipality_code": ""}, "unknown municipality code ''"),
        ({"window": ""}, "unknown window '' in this tranche"),
        ({"target_group": ""}, "unknown target group '' in this tranche"),
        ({"housing_type": ""}, "unknown housing type ''"),
        ({"permanence": ""}, "permanence must be permanent or flexible, not ''"),
        ({"self_contained": ""}, "self_contained must be yes or no"),
        ({"units": ""}, "units must be a whole number of at least 1, not ''"),
        ({"received_at": ""}, "received_at '' is not an ISO 8601 instant with an offset"),
    ],
    ids=[
        "empty reference",
        "reference of 31 characters",
        "unknown window",
        "empty project name",
        "project name of 201 characters",
        "received_at not an instant",
        "received_at at the closing",
        "unknown housing type",
        "common_room not yes or no",
        "units not a number",
        "negative units",
        "empty amount",
        "negative amount",
        "amount above the maximum per unit",
        "reference with a NUL",
        "project name with an escape character",
        "empty municipality code",
        "empty window",
        "empty target group",
        "empty housing type",
        "empty permanence",
        "empty self_contained",
        "empty units",
        "empty received_at",
    ],
)
def test_each_row_check_gives_its_message(tranche, changes, message):
    assert rejection(tranche, [row(**changes)]) == [f"row 2: {message}"]


def test_the_last_instant_before_the_closing_is_inside_the_opening(tranche):
    assert imported(tranche, [row(received_at="2023-07-07T16:59:59+02:00")]) == 1


def test_the_requested_amount_at_the_maximum_per_unit_is_accepted(tranche):
    assert imported(tranche, [row(requested_amount="170000.00")]) == 1


def test_a_reference_of_30_characters_and_a_name_of_200_are_accepted(tranche):
    assert imported(tranche, [row(reference="R" * 30, project_name="P" * 200)]) == 1


def test_a_target_group_not_eligible_in_its_window_is_refused(tranche):
    window = Window.objects.create(tranche=tranche, code="students", name="Studenten", budget_ceiling=Decimal("1000"))
    window.eligible_target_groups.set(tranche.target_groups.filter(code="students"))

    messages = rejection(tranche, [row(window="students")])

    assert messages == ["row 2: Dak- en thuisloze mensen is not eligible in Studenten."]


def test_a_short_stay_unit_in_a_tranche_without_a_maximum_for_it_is_refused(tranche):
    messages = rejection(tranche, [row(housing_type="short_stay")])

    assert (
        len(messages) == 1
        and messages[0].startswith("row 2: ")
        and messages[0].endswith("units are not eligible in this tranche.")
    )


def test_a_row_with_too_few_or_too_many_fields_is_refused(tranche):
    short = ",".join(list(GOOD.values())[:-1])

    assert rejection(tranche, [short, row(reference="RHA-2023-0002") + ",extra"]) == [
        "row 2: expected 12 columns",
        "row 3: expected 12 columns",
    ]


def test_a_file_with_only_a_header_is_refused(tranche):
    assert rejection(tranche, []) == ["The file has no applications."]


# --- rows of one application -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("municipality_code", "GM0344"),
        ("window", "second"),
        ("project_name", "Another name"),
        ("received_at", "2023-05-30T09:00:02+02:00"),
    ],
)
def test_rows_of_one_reference_must_agree_on_each_application_column(tranche, column, value):
    Window.objects.create(
        tranche=tranche, code="second", name="Tweede", budget_ceiling=Decimal("1000")
    ).eligible_target_groups.set(tranche.target_groups.all())

    messages = rejection(tranche, [row(), row(**{column: value}, target_group="students")])

    assert messages == [f"row 3: {column} differs from row 2 of RHA-2023-0001"]


def test_rows_of_one_reference_may_differ_in_their_unit_lines(tranche):
    assert imported(tranche, [row(), row(target_group="students", units="5", requested_amount="1.00")]) == 1
    assert Application.objects.get(reference="RHA-2023-0001").unit_lines.count() == 2


@pytest.fixture
def limited(tranche):
    """The same tranche with at least 25 units per application and at most € 150,000 per municipality."""
    Tranche.objects.filter(pk=tranche.pk).update(
        min_units_per_application=25, max_per_municipality=Decimal("150000.00")
    )
    tranche.refresh_from_db()
    return tranche


def test_an_application_below_the_minimum_units_is_refused_with_its_first_row(limited):
    rows = [
        row(reference="RHA-2023-0009"),
        row(units="4", requested_amount="100.00"),
        row(units="4", requested_amount="200.00"),
    ]

    assert rejection(limited, rows) == [
        "row 2: an application needs at least 25 units; RHA-2023-0009 has 20",
        "row 3: an application needs at least 25 units; RHA-2023-0001 has 8",
    ]


def test_an_application_at_the_minimum_units_is_accepted(limited):
    rows = [row(units="20", requested_amount="100000.00"), row(units="5", requested_amount="10000.00")]

    assert imported(limited, rows) == 1


def test_an_application_above_the_maximum_per_municipality_is_refused(limited):
    rows = [row(units="25", requested_amount="140000.00"), row(units="5", requested_amount="10000.01")]

    assert rejection(limited, rows) == [
        "row 2: RHA-2023-0001 asks 150000.01, above the maximum per municipality of 150000.00"
    ]


def test_an_application_at_the_maximum_per_municipality_is_accepted(limited):
    rows = [row(units="25", requested_amount="140000.00"), row(units="5", requested_amount="10000.00")]

    assert imported(limited, rows) == 1


# --- information requests --------------------------------------------------------------------------------


def informed(requested: str, received: str, **changes) -> str:
    return f"{row(**changes)},{requested},{received}"


INFORMATION = EXCHANGE_COLUMNS + INFORMATION_COLUMNS


def test_a_different_number_of_requests_and_answers_is_refused(tranche):
    rows = [informed("2023-06-01T09:00:00+02:00;2023-06-03T09:00:00+02:00", "2023-06-02T09:00:00+02:00")]

    assert rejection(tranche, rows, columns=INFORMATION) == [
        "row 2: information_requested_at has 2 instants but information_received_at 1"
    ]


def test_a_second_request_before_the_first_answer_is_refused(tranche):
    rows = [
        informed(
            "2023-06-01T09:00:00+02:00;2023-06-02T08:00:00+02:00",
            "2023-06-02T09:00:00+02:00;2023-06-03T09:00:00+02:00",
        )
    ]

    assert rejection(tranche, rows, columns=INFORMATION) == [
        "row 2: information_requested_at 2023-06-02 08:00:00+02:00 is not after the previous information_received_at"
    ]


def test_a_request_in_the_year_1999_is_refused(tranche):
    rows = [informed("1999-06-01T09:00:00+02:00", "2023-06-02T09:00:00+02:00")]

    assert rejection(tranche, rows, columns=INFORMATION) == [
        "row 2: information_requested_at 1999-06-01 09:00:00+02:00 is not between 2000 and 2100"
    ]


def test_an_answer_at_the_instant_of_its_request_is_refused(tranche):
    rows = [informed("2023-06-01T09:00:00+02:00", "2023-06-01T09:00:00+02:00")]

    assert rejection(tranche, rows, columns=INFORMATION) == [
        "row 2: information_received_at 2023-06-01 09:00:00+02:00 is not after its information_requested_at"
    ]


def test_a_request_at_the_instant_of_receipt_is_refused(tranche):
    rows = [informed("2023-05-30T09:00:01+02:00", "2023-06-01T09:00:00+02:00")]

    assert rejection(tranche, rows, columns=INFORMATION) == [
        "row 2: information_requested_at 2023-05-30 09:00:01+02:00 is not after received_at"
    ]


# --- a large file ----------------------------------------------------------------------------------------


def many_rows(count: int) -> list[str]:
    return [row(reference=f"RHA-2023-{n:04d}", units="1", requested_amount="1000.00") for n in range(1, count + 1)]


def test_existing_references_are_found_in_every_chunk_of_a_file_of_more_than_1000_rows(tranche):
    # References are looked up 900 at a time: the last of the first chunk, the first of the second, the last row.
    for number in (900, 901, 1001):
        ApplicationFactory(submitted=True, reference=f"RHA-2023-{number:04d}")

    assert rejection(tranche, many_rows(1001)) == [
        "row 901: reference RHA-2023-0900 already exists",
        "row 902: reference RHA-2023-0901 already exists",
        "row 1002: reference RHA-2023-1001 already exists",
    ]


def test_a_file_of_more_than_1000_rows_is_imported_whole(tranche):
    assert imported(tranche, many_rows(1001)) == 1001

    numbers = sorted(Application.objects.filter(tranche=tranche).values_list("receipt_sequence", flat=True))
    assert numbers == list(range(1, 1002))


# --- a file the csv module cannot read ---------------------------------------------------------------------


def test_a_row_the_csv_reader_cannot_read_is_named_by_its_line(tranche):
    too_long = row(reference="RHA-2023-0002", project_name="x" * 200_000)

    (message,) = rejection(tranche, [row(), too_long])

    assert message.startswith("row 3: the file cannot be read as CSV (field larger than field limit")


def test_a_header_the_csv_reader_cannot_read_is_row_1(tranche):
    stream = io.StringIO("reference," + "x" * 200_000 + "\n" + row() + "\n")

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        importing.import_applications(tranche=tranche, stream=stream)

    (message,) = caught.value.messages
    assert message.startswith("row 1: the file cannot be read as CSV (field larger than field limit")


def test_a_second_request_at_the_instant_of_the_first_answer_is_refused(tranche):
    rows = [
        informed(
            "2023-06-01T09:00:00+02:00;2023-06-02T09:00:00+02:00",
            "2023-06-02T09:00:00+02:00;2023-06-03T09:00:00+02:00",
        )
    ]

    assert rejection(tranche, rows, columns=INFORMATION) == [
        "row 2: information_requested_at 2023-06-02 09:00:00+02:00 is not after the previous information_received_at"
    ]


def test_a_later_row_with_bad_information_gets_only_its_own_message(tranche):
    first = informed("2023-06-01T09:00:00+02:00", "2023-06-02T09:00:00+02:00")
    second = informed("2023-06-01T09:00:00+02:00", "2023-05-31T09:00:00+02:00", target_group="students")

    assert rejection(tranche, [first, second], columns=INFORMATION) == [
        "row 3: information_received_at 2023-05-31 09:00:00+02:00 is not after its information_requested_at"
    ]


def test_a_header_without_several_columns_names_them_all(tranche):
    columns = [column for column in EXCHANGE_COLUMNS if column not in ("window", "units")]

    assert rejection(tranche, [], columns=columns) == ["The header lacks the columns: window, units."]


def test_existing_references_are_looked_up_in_every_chunk_of_a_long_list():
    references = [f"RHA-2023-{n:04d}" for n in range(2000)]
    for number in (0, 899, 900, 1799, 1800, 1999):
        ApplicationFactory(submitted=True, reference=references[number])

    found = importing._existing_references(references)

    assert found == {references[n] for n in (0, 899, 900, 1799, 1800, 1999)}
