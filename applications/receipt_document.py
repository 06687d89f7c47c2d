"""The receipt (ontvangstbevestiging) of a submitted application: what was received, when, and its content hash.

The portal's confirmation page and the PDF the municipality downloads show the same data. The PDF is a Dutch
document, as the decision letters are, rendered with WeasyPrint from applications/receipt.html; it is made on
request and not stored, since everything in it is kept on the application.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import Application
from .submission import format_receipt_instant

# Awb 4:13: without a term set by the regulation, the decision is due within a reasonable time, at the latest eight
# weeks after receipt, unless the agency announces a later date before then (4:14 lid 3) — as it does when the
# budget of a tranche is only allocated after its closing.
DECISION_TERM = timedelta(weeks=8)


def decision_due_on(application: Application) -> date:
    """The last day of the decision term of Awb 4:13, counted from the day of receipt in Europe/Amsterdam."""
    return timezone.localdate(application.received_at) + DECISION_TERM


def receipt_context(application: Application) -> dict:
    """What the confirmation page and the receipt show; the application must have been received."""
    if application.reference is None or application.received_at is None:
        raise ValueError(f"application {application.public_id} has not been received")
    lines = list(application.unit_lines.select_related("target_group", "housing_type"))
    return {
        "application": application,
        "municipality": application.municipality,
        "tranche": application.tranche,
        "received_at": format_receipt_instant(application.received_at),
        "content_hash": application.ready_hash,
        # Places where a narrow screen may break the hash, which has no spaces.
        "content_hash_parts": [application.ready_hash[start : start + 16] for start in range(0, 64, 16)],
        "lines": lines,
        "units_total": sum(line.units for line in lines),
        "amount_total": sum((line.requested_amount for line in lines), Decimal("0")),
        "attachments": list(application.attachments.all()),
        "closes_at": application.tranche.closes_at_in_force(timezone.now()),
        "decision_due_on": decision_due_on(application),
    }


def render_receipt(application: Application) -> str:
    """The receipt as HTML, in Dutch."""
    with translation.override("nl"):
        return render_to_string("applications/receipt.html", receipt_context(application))


def receipt_pdf(application: Application) -> bytes:
    # WeasyPrint takes half a second to import; only the receipt needs it here.
    from weasyprint import HTML

    # Tagged (PDF/UA-1), as the decision letters: a structure tree for screen readers, the language and the title.
    return HTML(string=render_receipt(application)).write_pdf(pdf_variant="pdf/ua-1")
