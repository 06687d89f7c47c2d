"""Decision letters (beschikkingen): one Dutch template for every kind of decision, stored as HTML and PDF.

A letter is dispatched the day it is made; Decision.dispatched_on records that day, from which the objection
term runs (Awb 6:8).
"""

from __future__ import annotations

from datetime import datetime

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import AllocationReason, AllocationRun, Decision, Waiver, Withdrawal


def render_decision_letter(*, decision: Decision) -> str:
    """The decision letter (beschikking) as HTML, in Dutch; a later decision names the one it replaces."""
    application = decision.application
    tranche = application.tranche
    lines = application.unit_lines.select_related("target_group", "housing_type")
    with translation.override("nl"):
        return render_to_string(
            "allocation/decision_letter.html",
            {
                "decision": decision,
                "replaced": decision.replaces,
                "application": application,
                "municipality": application.municipality,
                "tranche": tranche,
                "scheme": tranche.scheme,
                "lines": lines,
                "units": sum(line.units for line in lines),
                "reason": AllocationReason(decision.reason).label if decision.reason else "",
                "waiver": Waiver.objects.filter(decision=decision).first(),
                "withdrawal": Withdrawal.objects.filter(decision=decision).first(),
            },
        )


def generate_decision_letter(*, decision_id: int, now: datetime | None = None) -> bool:
    """Render and store one decision letter as HTML and PDF, sent today; False when it already exists.

    The day the letter is made is the day it is sent (dispatched_on), from which the objection term runs.
    """
    with transaction.atomic():
        decision = (
            Decision.objects.select_for_update(of=("self",))
            .select_related("application__municipality", "application__tranche__scheme", "replaces", "run")
            .get(pk=decision_id)
        )
        if decision.letter_pdf:
            return False
        # WeasyPrint takes half a second to import; only letter generation needs it.
        from weasyprint import HTML

        # A dispatch date recorded by hand (e.g. a letter sent by post before it was stored) stays: an objection
        # term may already count from it.
        decision.dispatched_on = decision.dispatched_on or timezone.localdate(now)
        html = render_decision_letter(decision=decision)
        name = f"beschikking-{decision.application.reference}"
        decision.letter_html.save(f"{name}.html", ContentFile(html.encode("utf-8")), save=False)
        decision.letter_pdf.save(f"{name}.pdf", ContentFile(HTML(string=html).write_pdf()), save=False)
        decision.save(update_fields=["letter_html", "letter_pdf", "dispatched_on"])
    return True


def generate_decision_letters(*, run: AllocationRun) -> int:
    """Letters for every decision of a run that has none yet; returns how many were made."""
    pending = run.decisions.filter(letter_pdf="").values_list("pk", flat=True)
    return sum(generate_decision_letter(decision_id=pk) for pk in list(pending))
