"""Checks on what people type or import, shared by the portal forms and the CSV import.

Text with a NUL character cannot be stored in PostgreSQL (the request failed with a server error) and other
control characters only hide what a text says; Python reads digits of every script as numbers (٧٠٠٠ is 7000),
and a date far from now is a typing error, not a plan.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

EARLIEST_YEAR = 2000
LATEST_YEAR = 2100

# Multi-line text keeps its line breaks and tabs.
MULTILINE_ALLOWED = frozenset("\n\r\t")

ASCII_DIGITS = re.compile(r"[0-9]+")


def _control_characters(text: str, allowed: frozenset[str]) -> list[str]:
    return [char for char in text if unicodedata.category(char) == "Cc" and char not in allowed]


def without_control_characters(text: str) -> str:
    """A name only shown, such as an imported file's: control characters are dropped rather than refused."""
    return "".join(char for char in text if unicodedata.category(char) != "Cc")


def validate_single_line_text(value: str) -> None:
    """Refuse NUL and every other control character, line breaks and tabs included."""
    if _control_characters(value, frozenset()):
        raise ValidationError(
            _("Remove the control characters (such as a NUL character or a line break) from this text."),
            code="control_characters",
        )


def validate_multiline_text(value: str) -> None:
    """Refuse NUL and the other control characters; line breaks and tabs are allowed."""
    if _control_characters(value, MULTILINE_ALLOWED):
        raise ValidationError(
            _("Remove the control characters (such as a NUL character) from this text."), code="control_characters"
        )


def validate_ascii_digits(value: str) -> None:
    """Digits 0 to 9 only: no digits of other scripts, signs, spaces or separators."""
    if not ASCII_DIGITS.fullmatch(value):
        raise ValidationError(_("Write the number with the digits 0 to 9 only."), code="digits")


def validate_plausible_date(value: date | datetime) -> None:
    """A date from 2000 to 2100."""
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError(
            _("Enter a date between %(first)s and %(last)s."),
            code="date_range",
            params={"first": EARLIEST_YEAR, "last": LATEST_YEAR},
        )
