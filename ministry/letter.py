"""The paragraph on a tranche that the ministry puts in its progress letter to parliament.

The letter is written in Dutch whatever the interface language, so these texts are Dutch in the source
and not translated. figures_for_letter() reads the stored totals, with the budget of a chosen day;
progress_paragraph() is a pure function of those figures, with Dutch number formatting that does not depend on
the active locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q

from grants.models import Tranche

from .models import TotalsRow, TotalsScope

MILLION = Decimal("1000000")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ORDINALS = {
    1: "eerste",
    2: "tweede",
    3: "derde",
    4: "vierde",
    5: "vijfde",
    6: "zesde",
    7: "zevende",
    8: "achtste",
    9: "negende",
    10: "tiende",
    11: "elfde",
    12: "twaalfde",
}


@dataclass(frozen=True)
class LetterFigures:
    tranche_number: int
    tranche_year: int
    budget: Decimal
    requested: Decimal
    oversubscription: Decimal
    applications_submitted: int
    municipalities_submitted: int
    applications_granted: int
    municipalities_granted: int
    units_granted: int
    units_permanent: int
    units_flexible: int
    cumulative_units: int
    computed_at: datetime | None = None


def format_number(value: int | Decimal) -> str:
    """Thousands separated by dots, cents (if any) after a comma: 34.705.000 and 1.234,50."""
    amount = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole, cents = f"{abs(amount):.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    sign = "-" if amount < 0 else ""
    return f"{sign}{grouped}" if cents == "00" else f"{sign}{grouped},{cents}"


def format_euros(value: Decimal) -> str:
    return f"€ {format_number(value)}"


def ordinal(number: int) -> str:
    return ORDINALS.get(number, f"{number}e")


def _count(number: int, singular: str, plural: str) -> str:
    return f"{format_number(number)} {singular if number == 1 else plural}"


def _oversubscription(amount: Decimal) -> str:
    """ "met ruim € 14 miljoen overtekend": whole millions rounded down, "ruim" when something is left over."""
    if amount <= 0:
        return "niet overtekend"
    millions = (amount / MILLION).to_integral_value(rounding=ROUND_DOWN)
    if millions == 0:
        return f"met {format_euros(amount)} overtekend"
    more = "ruim " if amount > millions * MILLION else ""
    return f"met {more}€ {format_number(millions)} miljoen overtekend"


def progress_paragraph(figures: LetterFigures) -> str:
    requests = (
        f"{_count(figures.applications_submitted, 'aanvraag', 'aanvragen')} van "
        f"{_count(figures.municipalities_submitted, 'gemeente', 'gemeenten')} "
        f"{'vroeg' if figures.applications_submitted == 1 else 'vroegen samen'} {format_euros(figures.requested)} aan"
    )
    sentences = [
        f"In de {ordinal(figures.tranche_number)} tranche ({figures.tranche_year}) was een budget beschikbaar "
        f"van {format_euros(figures.budget)}."
    ]
    if not figures.applications_submitted:
        sentences.append("Er zijn geen aanvragen ingediend.")
    elif not figures.applications_granted:
        sentences.append(f"De tranche was {_oversubscription(figures.oversubscription)}: {requests}.")
        sentences.append("Er zijn nog geen aanvragen toegekend.")
    else:
        sentences.append(f"De tranche was {_oversubscription(figures.oversubscription)}: {requests}.")
        sentences.append(
            f"Er {'is' if figures.applications_granted == 1 else 'zijn'} "
            f"{_count(figures.applications_granted, 'aanvraag', 'aanvragen')} van "
            f"{_count(figures.municipalities_granted, 'gemeente', 'gemeenten')} toegekend voor "
            f"{_count(figures.units_granted, 'woonruimte', 'woonruimten')}, waarvan "
            f"{format_number(figures.units_permanent)} permanent en {format_number(figures.units_flexible)} flexibel."
        )
    sentences.append(
        "In totaal heeft de regeling tot nu toe bijgedragen aan "
        f"{_count(figures.cumulative_units, 'woning', 'woningen')}."
    )
    return " ".join(sentences)


def figures_for_letter(*, tranche: Tranche, on: date | None = None) -> LetterFigures | None:
    """The tranche's stored figures and its scheme's cumulative units; None before totals were computed.

    With a day `on`, the budget is the ceiling in force at the end of that day (a raised ceiling counts from the
    day it took effect) and the oversubscription follows from it; the other figures are the stored ones.
    """
    rows = {
        row.scope: row
        for row in TotalsRow.objects.filter(
            Q(scope=TotalsScope.SCHEME, scheme_id=tranche.scheme_id) | Q(scope=TotalsScope.TRANCHE, tranche=tranche)
        )
    }
    if TotalsScope.TRANCHE not in rows or TotalsScope.SCHEME not in rows:
        return None
    row = rows[TotalsScope.TRANCHE]
    budget, oversubscription = row.budget, row.oversubscription
    if on is not None:
        budget = tranche.ceiling_at(datetime.combine(on, time.max, tzinfo=AMSTERDAM))
        oversubscription = max(row.requested - budget, Decimal("0"))
    return LetterFigures(
        tranche_number=tranche.number,
        tranche_year=tranche.year,
        budget=budget,
        requested=row.requested,
        oversubscription=oversubscription,
        applications_submitted=row.applications_submitted,
        municipalities_submitted=row.municipalities_submitted,
        applications_granted=row.applications_granted,
        municipalities_granted=row.municipalities_granted,
        units_granted=row.units_granted,
        units_permanent=row.units_permanent,
        units_flexible=row.units_flexible,
        cumulative_units=rows[TotalsScope.SCHEME].units_granted,
        computed_at=row.computed_at,
    )
