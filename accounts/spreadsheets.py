"""Cells for CSV and XLSX files that people open in a spreadsheet program.

Text that starts with =, +, -, @, a tab or a carriage return would be read there as a formula, so that a project
name such as =HYPERLINK(...) could run or leak something on the reader's machine. Such text is written with a
single quote in front (OWASP, "CSV Injection"); numbers stay numbers, also negative ones, so the sheet can
compute with them.

Every export writes its cells through here, and every CSV file in the dialect Dutch Excel reads (below). The
module lives in accounts, the lowest app, because the audit log's export (usernames tried at the login are
anyone's text) needs it as much as the later stages' exports.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.http import StreamingHttpResponse
from django.utils.text import slugify
from django.utils.translation import gettext

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
# A number written as text, as decimal_text() writes amounts: read as a number, never as a formula.
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """The value as a cell may hold it: text that a spreadsheet would take for a formula gets a quote in front."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return QUOTE + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


def unquoted_cell(text: str) -> str:
    """Text as safe_cell() received it: a file we exported reads back as it was."""
    if text.startswith(QUOTE) and text[1:].startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text[1:]):
        return text[1:]
    return text


# --- CSV in the dialect Dutch Excel reads -----------------------------------------------------------------------
# Excel set to Dutch splits a CSV file on semicolons and reads 1234,50 as a number; with a comma separator and a
# decimal point it puts a row in one column and takes 1234.50 for a date or a thousand. The byte order mark makes it
# read UTF-8 (Fryslân, Súdwest-Fryslân). Amounts carry no thousands separator: Excel would read "1.234" as 1.234.


class DutchExcel(csv.excel):
    delimiter = ";"


BYTE_ORDER_MARK = "\ufeff"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def csv_value(value: Any) -> str:
    """A cell as Dutch Excel reads it: decimal comma, dates as 31-12-2026, instants in Amsterdam time, yes/no as
    words of the active language, text safe from formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, Decimal | float):
        return f"{Decimal(str(value)):f}".replace(".", ",")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        local = value.astimezone(AMSTERDAM) if value.tzinfo else value
        return f"{local:%d-%m-%Y %H:%M:%S}"
    if isinstance(value, date):
        return f"{value:%d-%m-%Y}"
    return safe_cell(str(value))


class _Line:
    """What csv.writer writes to: it hands each line back, for a streamed response."""

    def write(self, line: str) -> str:
        return line


def csv_lines(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The file line by line, byte order mark first: for a streamed response or a file."""
    writer = csv.writer(_Line(), dialect=DutchExcel)
    yield BYTE_ORDER_MARK + writer.writerow([csv_value(cell) for cell in header])
    for row in rows:
        yield writer.writerow([csv_value(cell) for cell in row])


def csv_bytes(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    return "".join(csv_lines(header, rows)).encode("utf-8")


def export_filename(*parts: Any, on: date, extension: str = "csv") -> str:
    """A file name that says what it is and when: export_filename("rangschikking", "rha-2023", on=...) gives
    rangschikking-rha-2023-20230707.csv."""
    words = [slugify(str(part)) for part in parts if str(part)]
    return f"{'-'.join([*words, f'{on:%Y%m%d}'])}.{extension}"


def csv_response(*, header: Iterable[Any], rows: Iterable[Iterable[Any]], filename: str) -> StreamingHttpResponse:
    """A CSV download in the Dutch Excel dialect, streamed row by row."""
    response = StreamingHttpResponse(csv_lines(header, rows), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
