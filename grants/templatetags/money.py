"""Money as the Dutch write it, € 1.234.567,00, in both interface languages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()

CENT = Decimal("0.01")


def format_euro(amount: Decimal | int | str) -> str:
    value = Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    euros, cents = f"{abs(value):.2f}".split(".")
    grouped = f"{int(euros):,}".replace(",", ".")
    sign = "-" if value < 0 else ""
    # A no-break space keeps the sign and the amount on one line.
    return f"€\u00a0{sign}{grouped},{cents}"


@register.filter
def euro(amount) -> str:
    if amount is None or amount == "":
        return ""
    return format_euro(amount)
