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
