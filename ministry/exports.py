"""Dashboard tables as CSV and XLSX files: numbers stay numbers, so a spreadsheet can compute with them, and
text is never read as a formula (accounts.spreadsheets).

The CSV is in the dialect Dutch Excel reads (semicolons, decimal comma, byte order mark); the XLSX holds real
numbers with a number format. Both are named for what they hold and the day: totalen-per-tranche-20261202.csv.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from accounts.spreadsheets import csv_bytes, export_filename, safe_cell, safe_row

from .dashboard import COUNT, MONEY, YEAR, Table

NUMBER_FORMATS = {MONEY: "#,##0.00", COUNT: "#,##0", YEAR: "0"}
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The files' names, in Dutch as the files are read in Dutch.
FILE_NAMES = {
    "overview": "overzicht-per-tranche",
    "schemes": "totalen-per-regeling",
    "tranches": "totalen-per-tranche",
    "windows": "totalen-per-deelplafond",
    "amendments": "wijzigingen-plafond-en-sluiting",
    "provinces": "totalen-per-provincie",
    "municipalities": "totalen-per-gemeente",
    "target_groups": "totalen-per-aandachtsgroep",
    "tranche_target_groups": "totalen-per-doelgroep-van-de-tranche",
    "housing_types": "totalen-per-woonvorm",
    "realisation": "realisatie-per-jaar",
    "published_figures": "gepubliceerde-cijfers",
}


def _plain(value: Any) -> Any:
    """A value as a spreadsheet cell holds it: instants as naive Amsterdam times, other objects as text."""
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if value is None or isinstance(value, date | Decimal | int):
        return value
    return str(value)


def file_name(table: Table, extension: str, *, on: date) -> str:
    return export_filename(FILE_NAMES[table.code], on=on, extension=extension)


def table_csv(table: Table) -> bytes:
    # csv_bytes writes each cell: amounts with a decimal comma, dates as 31-12-2026, text safe from formulas.
    return csv_bytes(table.headers, ([_plain(cell.value) for cell in record] for record in table.records))


def table_xlsx(table: Table) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = table.code[:31]
    sheet.append(safe_row(table.headers))
    for record in table.records:
        sheet.append([safe_cell(_plain(cell.value)) for cell in record])
    for index, column in enumerate(table.columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(str(column.label)) + 2)
        number_format = NUMBER_FORMATS.get(column.kind)
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
