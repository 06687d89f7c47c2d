"""Dashboard tables as CSV and XLSX files: numbers stay numbers, so a spreadsheet can compute with them, and
text is never read as a formula (accounts.spreadsheets)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from accounts.spreadsheets import safe_cell, safe_row

from .dashboard import COUNT, MONEY, YEAR, Table

NUMBER_FORMATS = {MONEY: "#,##0.00", COUNT: "#,##0", YEAR: "0"}
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _plain(value: Any) -> Any:
    """A value as a spreadsheet cell holds it: instants as naive Amsterdam times, other objects as text."""
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if value is None or isinstance(value, date | Decimal | int):
        return value
    return str(value)


def table_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row(table.headers))
    for record in table.records:
        writer.writerow(["" if cell.value is None else safe_cell(_plain(cell.value)) for cell in record])
    # The byte order mark tells spreadsheet programs the file is UTF-8 (province names such as Fryslân).
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


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
