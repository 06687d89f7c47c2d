"""The letters follow the Rijksoverheid letter model: letterhead, sender column, addressee, date, reference and
subject, the closing on behalf of the minister with a named official, the objection clause, the footer with the
service's pages; every branch reads as Dutch sentences; the PDF is tagged."""

import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import formats, translation
from django.utils.html import strip_tags

from allocation import decision_letters, objections
from allocation import services as allocation_services
from allocation.decision_letters import generate_decision_letter, render_decision_letter
from allocation.models import Decision, Objection
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory
from tests.files import pdf_objects

pytestmark = pytest.mark.django_db

OFFICIAL = {"first_name": "Sanne", "last_name": "Jansen"}


@pytest.fixture
def decisions():
    """Three requests of € 70,000 under a ceiling of € 100,000: granted in full, partly (the rest of the ceiling)
    and refused (the ceiling reached, on the reserve list); confirmed by a named official. Their letters, made after
    the commit, are not made here: the tests render what they read."""
    tranche = closed_tranche(budget_ceiling=Decimal("100000.00"), last_application_rule="partial")
    for code in ("GM0344", "GM0363", "GM0034"):
        ApplicationFactory(eligible=True, tranche=tranche, municipality__code=code, project_name=f"Kamers {code}")
    run = allocation_services.prepare_allocation(tranche=tranche, user=UserFactory(assessor=True))
    allocation_services.confirm_allocation(run=run, user=UserFactory(approver=True, **OFFICIAL))
    return {decision.outcome: decision for decision in Decision.objects.filter(application__tranche=tranche)}


def text_of(html: str) -> str:
    """The letter as a reader reads it: without styles and tags, whitespace collapsed."""
    html = re.sub(r"<(style|title)>.*?</\1>", "", html, flags=re.DOTALL)
    # Block elements and line breaks end a word as they do on paper; inline ones do not.
    html = re.sub(r"<(br|/?(p|h1|h2|dt|dd|div|li|tr|th|td|header|aside|span class=\"government\"))\b[^>]*>", " ", html)
    return re.sub(r"\s+", " ", unescape(strip_tags(html))).strip()


def assert_sentences(text: str) -> None:
    """No sentence broken off, doubled or begun in lower case; no stray spaces before punctuation."""
    for fault in (" .", " ,", "..", ". .", "; op de", ": .", "  "):
        assert fault not in text, f"{fault!r} in: …{text[max(0, text.find(fault) - 80) : text.find(fault) + 40]}…"
    lower_start = re.search(r"[.!?] [a-z]", text)
    assert lower_start is None, text[max(0, lower_start.start() - 80) : lower_start.end() + 40]


def decision_section(text: str) -> str:
    return text[text.index("Besluit ") : text.index("Uw aanvraag Aandachtsgroep")]


def letter(decision: Decision, **changes) -> str:
    for name, value in changes.items():
        setattr(decision, name, value)
    return text_of(render_decision_letter(decision=decision))


def dutch(day: date) -> str:
    with translation.override("nl"):
        return formats.date_format(day, "j F Y")


# --- the model ------------------------------------------------------------------------------------------


def test_the_letterhead_names_the_government_the_ministry_and_the_agency(decisions):
    text = letter(decisions["granted"])

    assert text.startswith(f"Rijksoverheid {decision_letters.MINISTRY} {decision_letters.AGENCY}")
    assert "Prinses Beatrixlaan 2 2595 AL Den Haag" in text and "Postbus 93144 2509 AC Den Haag" in text
    assert f"Contact T {settings.CONTACT_PHONE} {settings.CONTACT_EMAIL}" in text


def test_the_addressee_date_reference_and_subject_are_where_the_model_puts_them(decisions):
    granted = decisions["granted"]
    text = letter(granted)

    assert f"Kenmerk {granted.application.reference}" in text
    assert "> Retouradres Postbus 93144 2509 AC Den Haag" in text
    assert "Het college van burgemeester en wethouders van de gemeente Utrecht" in text
    assert f"Datum {dutch(granted.decision_date)} Onderwerp Beschikking op uw aanvraag" in text
    assert text.index("van de gemeente Utrecht") < text.index("Datum") < text.index("Geacht college,")


def test_the_letter_is_signed_by_the_named_official_on_behalf_of_the_minister(decisions):
    with override_settings(DECISION_LETTER_SIGNATORY={"name": "Het afdelingshoofd", "function": "Senior adviseur"}):
        text = letter(decisions["granted"])

    closing = text[text.index("Hoogachtend,") :]
    assert closing == (
        "Hoogachtend, De minister van Volkshuisvesting en Ruimtelijke Ordening, namens deze, "
        "Sanne Jansen Senior adviseur Rijksdienst voor Ondernemend Nederland"
    )


def test_a_decision_on_one_case_is_signed_by_who_decided_it(decisions):
    decider = UserFactory(approver=True, first_name="Pieter", last_name="Bakker")

    text = letter(decisions["refused"], decided_by=decider)

    assert text[text.index("namens deze,") :].startswith("namens deze, Pieter Bakker")


@override_settings(DECISION_LETTER_SIGNATORY={"name": "De directeur Uitvoering", "function": "Senior adviseur"})
def test_without_a_named_official_the_configured_name_signs(decisions):
    refused = decisions["refused"]
    refused.run.approved_by.first_name = refused.run.approved_by.last_name = ""

    text = letter(refused)

    assert text.endswith("namens deze, De directeur Uitvoering Rijksdienst voor Ondernemend Nederland")


def test_the_objection_clause_gives_the_term_the_address_and_what_to_write(decisions):
    text = letter(decisions["refused"])

    assert (
        "Bezwaar maken Bent u het niet eens met dit besluit? Dan kunt u bezwaar maken. Dat doet u binnen zes weken na "
        "de dag waarop wij dit besluit hebben verzonden (artikelen 6:7 en 6:8 van de Algemene wet bestuursrecht)."
    ) in text
    assert (
        "Stuur uw bezwaarschrift naar: De minister van Volkshuisvesting en Ruimtelijke Ordening t.a.v. Rijksdienst "
        "voor Ondernemend Nederland, Juridische Zaken Postbus 93144 2509 AC Den Haag"
    ) in text
    assert f"het kenmerk {decisions['refused'].application.reference}" in text


@override_settings(SITE_URL="https://thuisfonds.example/")
def test_the_footer_gives_the_privacy_accessibility_and_contact_pages(decisions):
    html = render_decision_letter(decision=decisions["granted"])

    assert (
        "Privacy: https://thuisfonds.example/privacy/  ·  Toegankelijkheid: https://thuisfonds.example/toegankelijkheid/"
        "  ·  Contact: https://thuisfonds.example/contact/"
    ) in html
    assert 'content: "Pagina " counter(page) " van " counter(pages)' in html


# --- every branch in Dutch sentences --------------------------------------------------------------------


def test_a_refusal_on_the_reserve_list_says_why_in_whole_sentences(decisions):
    section = decision_section(letter(decisions["refused"]))

    assert section == (
        "Besluit Wij weigeren de gevraagde specifieke uitkering. Het uitkeringsplafond van deze tranche is bereikt: "
        "het budget is verdeeld over aanvragen die hoger in de rangschikking staan. Uw aanvraag staat op de "
        "reservelijst, in de volgorde van de rangschikking. Komt er binnen deze tranche budget vrij, dan kunnen wij u "
        "alsnog een uitkering verlenen; u hoort dat dan van ons. "
    )


def test_a_partial_grant_says_what_was_left(decisions):
    section = decision_section(letter(decisions["partially_granted"]))

    assert section == (
        "Besluit Wij verlenen u een specifieke uitkering van € 30.000,00. Dat is minder dan het aangevraagde bedrag "
        "van € 70.000,00. Van het uitkeringsplafond was alleen dit bedrag nog over. "
    )


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        ("granted", "fits"),
        ("granted", "transfer"),
        ("partially_granted", "budget_remainder"),
        ("partially_granted", "municipal_cap_partial"),
        ("partially_granted", "pro_rata"),
        ("refused", "budget_exhausted"),
        ("refused", "municipal_cap"),
        ("refused", ""),
    ],
)
def test_every_allocation_branch_reads_as_sentences(decisions, outcome, reason):
    text = letter(decisions[outcome], reason=reason)

    assert_sentences(text)
    assert text.count("Wij ") >= 1


@pytest.mark.parametrize("outcome", ["granted", "partially_granted"])
def test_a_grant_from_the_reserve_list_reads_as_sentences(decisions, outcome):
    reserve = decisions["refused"]
    amount = reserve.requested if outcome == "granted" else Decimal("20000.00")

    text = letter(reserve, kind="supplementary", outcome=outcome, amount=amount, replaces=decisions["refused"])

    assert_sentences(text)
    assert "Wij verlenen u alsnog een specifieke uitkering van € " in text


@pytest.mark.parametrize("outcome", ["granted", "partially_granted", "withdrawn", "refused"])
def test_every_revised_decision_on_objection_reads_as_sentences(decisions, outcome):
    refused = decisions["refused"]
    amount = {"granted": refused.requested, "partially_granted": Decimal("30000.00")}.get(outcome, Decimal("0"))

    text = letter(
        refused, kind="objection", outcome=outcome, amount=amount, replaces=decisions["partially_granted"], run=None
    )

    assert_sentences(text)
    assert "Beroep instellen Bent u het niet eens met deze beslissing op bezwaar?" in text
    assert "Bezwaar maken" not in text


@pytest.mark.parametrize("outcome", ["inadmissible", "unfounded", "founded", "partially_founded"])
def test_every_decision_on_objection_letter_reads_as_sentences(decisions, outcome):
    refused = decisions["refused"]
    refused.dispatched_on = refused.decision_date
    decider = UserFactory(approver=True, first_name="Pieter", last_name="Bakker")
    objection = Objection(
        contested=refused,
        received_on=refused.decision_date + timedelta(days=7),
        term_ends_on=refused.decision_date + timedelta(weeks=6),
        outcome=outcome,
        outcome_reason="Het resterende budget had aan uw aanvraag moeten worden toegekend.",
        decided_by=decider,
        revised_decision=decisions["granted"] if outcome in ("founded", "partially_founded") else None,
    )

    text = text_of(objections.render_letter(objection=objection, kind="objection_decision", on=date(2027, 1, 4)))

    assert_sentences(text)
    assert "Datum 4 januari 2027" in text
    assert "namens deze, Pieter Bakker" in text


# --- the PDF --------------------------------------------------------------------------------------------


def test_the_pdf_is_tagged_in_dutch_with_the_letters_title(decisions):
    granted = decisions["granted"]

    assert generate_decision_letter(decision_id=granted.pk)

    granted.refresh_from_db()
    pdf = pdf_objects(granted.letter_pdf.read())
    assert b"/StructTreeRoot" in pdf and b"/MarkInfo" in pdf
    assert b"/Lang (nl)" in pdf
    assert b"/DisplayDocTitle true" in pdf
    assert f'<rdf:li xml:lang="x-default">Beschikking {granted.application.reference}</rdf:li>'.encode() in pdf
    assert b"pdfuaid" in pdf
    html = granted.letter_html.read().decode("utf-8")
    assert '<html lang="nl">' in html and f"<title>Beschikking {granted.application.reference}</title>" in html
    assert f"Datum</dt><dd>{dutch(granted.decision_date)}</dd>" in html
