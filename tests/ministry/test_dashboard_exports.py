import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from ministry.dashboard import TABLES
from ministry.exports import FILE_NAMES
from ministry.services import store_totals
from tests.figures import client_for, user, varied_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    varied_data_set = varied_data()
    store_totals()
    return varied_data_set


def _export(table: str, file_format: str, params=None, viewer=None):
    url = reverse("ministry:export", args=[table, file_format])
    return client_for(viewer or user(analyst=True)).get(url, params or {})


def _sheet(response) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(response.content))
    return list(workbook.active.iter_rows(values_only=True))


def test_xlsx_export_of_the_tranches_keeps_numbers_as_numbers(data):
    response = _export("tranches", "xlsx", {"tranche": data.older.slug})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    header, row = _sheet(response)
    values = dict(zip(header, row, strict=True))
    assert values["Tranche"] == data.older.title
    assert values["Year"] == 2023
    assert values["Budget (ceiling in force)"] == 120000
    assert values["Requested"] == 140000
    assert values["Amount granted"] == 100000
    assert (values["Units granted"], values["Permanent"], values["Flexible"]) == (18, 5, 13)
    assert all(isinstance(value, int | float) for value in row[1:])


def test_xlsx_export_formats_money_with_cents(data):
    response = _export("tranches", "xlsx", {"tranche": data.older.slug})

    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["C2"].number_format == "#,##0.00"


def _csv(response) -> list[dict[str, str]]:
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(content.removeprefix("\ufeff")), delimiter=";"))


def test_csv_export_is_in_the_dialect_dutch_excel_reads(data):
    response = _export("provinces", "csv", {"tranche": data.older.slug})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    by_province = {row["Province"]: row for row in _csv(response)}
    assert set(by_province) == {"Utrecht", "Noord-Holland"}
    assert by_province["Noord-Holland"]["Amount granted"] == "44000,00"
    assert by_province["Utrecht"]["Units granted"] == "8"


def test_csv_export_headers_and_values_are_dutch_in_the_dutch_interface(data):
    url = reverse("ministry:export", args=["tranches", "csv"])
    response = client_for(user(analyst=True), language="nl").get(url, {"tranche": data.older.slug})

    [row] = _csv(response)
    assert row["Budget (geldend plafond)"] == "120000,00"
    assert row["Aangevraagd"] == "140000,00"


# Half past midnight in Amsterdam, still the day before in UTC.
@time_machine.travel(datetime(2026, 12, 3, 0, 30, tzinfo=ZoneInfo("Europe/Amsterdam")), tick=False)
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_export_file_name_says_what_and_the_day_in_amsterdam(data, file_format):
    response = _export("tranches", file_format)

    assert response["Content-Disposition"] == f'attachment; filename="totalen-per-tranche-20261203.{file_format}"'


def test_export_follows_the_filters(data):
    response = _export("municipalities", "xlsx", {"province": "Noord-Holland"})

    header, *rows = _sheet(response)
    assert [row[header.index("CBS code")] for row in rows] == ["GM0363"]
    assert rows[0][header.index("Units granted")] == 14


@pytest.mark.parametrize("table", list(TABLES))
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_every_dashboard_table_exports(data, table, file_format):
    response = _export(table, file_format, {"tranche": data.older.slug, "province": "Utrecht"})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="{FILE_NAMES[table]}-')


def test_published_figures_export_with_value_and_source(data):
    header, *rows = _sheet(_export("published_figures", "xlsx"))

    assert sorted(row[header.index("Value")] for row in rows) == [205, 20176, 21380]
    assert all(row[header.index("Source")] for row in rows)


@pytest.mark.parametrize(("table", "file_format"), [("applications", "csv"), ("tranches", "pdf")])
def test_unknown_export_is_not_found(data, table, file_format):
    assert _export(table, file_format).status_code == 404


def test_export_for_a_municipal_user_is_forbidden(data):
    assert _export("tranches", "csv", viewer=user(signatory=True)).status_code == 403
