"""Cells for CSV and XLSX files that people open in a spreadsheet program.

Text that starts with =, +, -, @, a tab or a carriage return would be read there as a formula, so that a project
name such as =HYPERLINK(...) could run or leak something on the reader's machine. Such text is written with a
single quote in front (OWASP, "CSV Injection"); numbers stay numbers, also negative ones, so the sheet can
compute with them.

Every export writes its cells through here. The module lives in accounts, the lowest app, because the audit log's
export (usernames tried at the login are anyone's text) needs it as much as the later stages' exports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

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
