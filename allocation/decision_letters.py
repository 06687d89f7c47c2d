"""Decision letters (beschikkingen): one Dutch template for every kind of decision, stored as HTML and PDF.

Every letter on a case follows the Rijksoverheid letter model (allocation/templates/allocation/letters/_letter.html)
with the frame made here: the ministry, the agency that sends it, the named signatory and the service's pages. The
PDF is tagged (PDF/UA-1), in Dutch, with the letter's title.

A letter is dispatched the day it is made; Decision.dispatched_on records that day, from which the objection
term runs (Awb 6:8).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .models import AllocationRun, Decision, Waiver, Withdrawal

# The agency decides on behalf of the minister; objections are sent to the minister at its postal address.
GOVERNMENT = "Rijksoverheid"
MINISTRY = "Ministerie van Binnenlandse Zaken en Koninkrijksrelaties"
MINISTER = "De minister van Volkshuisvesting en Ruimtelijke Ordening"
AGENCY = "Rijksdienst voor Ondernemend Nederland"
ON_BEHALF_OF = "Uitvoering van de specifieke uitkering huisvesting aandachtsgroepen, in opdracht van het " + MINISTRY
VISITING_ADDRESS = ("Prinses Beatrixlaan 2", "2595 AL Den Haag")
POSTAL_ADDRESS = ("Postbus 93144", "2509 AC Den Haag")


@dataclass(frozen=True)
class Signatory:
    name: str
    function: str = ""


@dataclass(frozen=True)
class LetterFrame:
    """What every letter prints around its text: sender, signatory and the addresses of the service's pages."""

    signatory: Signatory
    site_url: str
    phone: str
    email: str
    government: str = GOVERNMENT
    ministry: str = MINISTRY
    minister: str = MINISTER
    agency: str = AGENCY
    on_behalf_of: str = ON_BEHALF_OF
    visiting_address: tuple[str, ...] = VISITING_ADDRESS
    postal_address: tuple[str, ...] = POSTAL_ADDRESS

    @property
    def privacy_url(self) -> str:
        return f"{self.site_url}/privacy/"

    @property
    def accessibility_url(self) -> str:
        return f"{self.site_url}/toegankelijkheid/"

    @property
    def contact_url(self) -> str:
        return f"{self.site_url}/contact/"


def letter_signatory(user) -> Signatory:
    """The official who decided, by name with the configured function; the configured name when unknown.

    DECISION_LETTER_SIGNATORY's name stands alone: it names a function ("Het afdelingshoofd …"), not a person.
    """
    configured = settings.DECISION_LETTER_SIGNATORY
    name = user.get_full_name().strip() if user else ""
    if not name:
        return Signatory(name=configured["name"])
    return Signatory(name=name, function=configured["function"])


def letter_frame(signer=None) -> LetterFrame:
    return LetterFrame(
        signatory=letter_signatory(signer),
        site_url=settings.SITE_URL.rstrip("/"),
        phone=settings.CONTACT_PHONE,
        email=settings.CONTACT_EMAIL,
    )


def letter_pdf(html: str) -> bytes:
    """The letter as a tagged PDF (PDF/UA-1): a structure tree for screen readers, the language and the title."""
    # WeasyPrint takes half a second to import; only letter generation needs it.
    from weasyprint import HTML

    return HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")


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
                "date": decision.decision_date,
                # A run's decisions are taken by the run's approver; a decision on one case names its own.
                "signer": decision.decided_by or (decision.run.approved_by if decision.run else None),
                "replaced": decision.replaces,
                "application": application,
                "municipality": application.municipality,
                "tranche": tranche,
                "scheme": tranche.scheme,
                "lines": lines,
                "units": sum(line.units for line in lines),
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
            .select_related(
                "application__municipality",
                "application__tranche__scheme",
                "replaces",
                "run__approved_by",
                "decided_by",
            )
            .get(pk=decision_id)
        )
        if decision.letter_pdf:
            return False
        # A dispatch date recorded by hand (e.g. a letter sent by post before it was stored) stays: an objection
        # term may already count from it.
        decision.dispatched_on = decision.dispatched_on or timezone.localdate(now)
        html = render_decision_letter(decision=decision)
        name = f"beschikking-{decision.application.reference}"
        decision.letter_html.save(f"{name}.html", ContentFile(html.encode("utf-8")), save=False)
        decision.letter_pdf.save(f"{name}.pdf", ContentFile(letter_pdf(html)), save=False)
        decision.save(update_fields=["letter_html", "letter_pdf", "dispatched_on"])
    return True


def generate_decision_letters(*, run: AllocationRun) -> int:
    """Letters for every decision of a run that has none yet; returns how many were made."""
    pending = run.decisions.filter(letter_pdf="").values_list("pk", flat=True)
    return sum(generate_decision_letter(decision_id=pk) for pk in list(pending))
