"""Decision letters: generated after confirmation, idempotent, downloadable by the right people only."""

import hashlib
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import formats, translation

from allocation import services as allocation_services
from allocation import tasks as allocation_tasks
from allocation.models import Decision
from tests.allocation.sealing import closed_tranche
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def decision(django_capture_on_commit_callbacks):
    """A confirmed partial grant for Utrecht (GM0344), with its letters generated after commit."""
    tranche = closed_tranche(budget_ceiling=Decimal("50000.00"), title="RHA 2023 – vierde tranche")
    application = ApplicationFactory(
        eligible=True, tranche=tranche, municipality__code="GM0344", project_name="Kamers Centrum"
    )
    run = allocation_services.prepare_allocation(tranche=tranche, user=UserFactory(assessor=True))
    with django_capture_on_commit_callbacks(execute=True):
        allocation_services.confirm_allocation(run=run, user=UserFactory(approver=True))
    return Decision.objects.get(application=application)


def test_confirmation_generates_html_and_pdf_letters(decision):
    assert decision.letter_pdf.read(5) == b"%PDF-"
    html = decision.letter_html.read().decode("utf-8")
    assert "Het college van burgemeester en wethouders" in html
    assert "van de gemeente Utrecht" in html
    assert "Kamers Centrum" in html
    assert "€ 50.000,00" in html
    assert "€ 70.000,00" in html
    assert decision.application.reference in html
    assert "bezwaar" in html


def test_partial_grant_letter_gives_the_reason_and_the_obligation_dates(decision):
    html = decision.letter_html.read().decode("utf-8")
    assert "Dat is minder dan het aangevraagde bedrag" in html
    with translation.override("nl"):
        for day in (decision.start_construction_by, decision.complete_by, decision.units_available_until):
            assert formats.date_format(day, "j F Y") in html


def test_decision_letter_states_seed_and_list_hash(decision):
    html = decision.letter_html.read().decode("utf-8")
    list_hash = hashlib.sha256(decision.application.reference.encode("utf-8")).hexdigest()
    assert decision.run.ranked_list_sha256 == list_hash
    assert f"De startwaarde van de loting is {decision.run.seed};" in html
    assert list_hash in html


def test_letter_task_is_safe_to_run_twice(decision):
    name = decision.letter_pdf.name
    assert allocation_tasks.generate_decision_letters(decision.run_id) == 0
    decision.refresh_from_db()
    assert decision.letter_pdf.name == name


def test_municipality_downloads_its_own_letter(client, decision):
    client.force_login(UserFactory(municipality__code="GM0344"))
    response = client.get(reverse("decisions:letter_pdf", args=[decision.public_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_other_municipality_gets_404(client, decision):
    client.force_login(UserFactory(municipality__code="GM0363"))
    assert client.get(reverse("decisions:letter_pdf", args=[decision.public_id])).status_code == 404
    assert client.get(reverse("decisions:letter_html", args=[decision.public_id])).status_code == 404


def test_agency_staff_download_any_letter(client, decision):
    client.force_login(UserFactory(assessor=True))
    response = client.get(reverse("decisions:letter_html", args=[decision.public_id]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_ministry_analyst_gets_404(client, decision):
    client.force_login(UserFactory(analyst=True))
    assert client.get(reverse("decisions:letter_pdf", args=[decision.public_id])).status_code == 404


def test_anonymous_visitor_is_sent_to_login(client, decision):
    response = client.get(reverse("decisions:letter_pdf", args=[decision.public_id]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_letter_not_yet_generated_is_made_on_first_download(client):
    tranche = closed_tranche()
    application = ApplicationFactory(eligible=True, tranche=tranche, municipality__code="GM0344")
    run = allocation_services.prepare_allocation(tranche=tranche, user=UserFactory(assessor=True))
    allocation_services.confirm_allocation(run=run, user=UserFactory(approver=True), generate_letters=False)
    decision = Decision.objects.get(application=application)
    assert not decision.letter_pdf
    client.force_login(UserFactory(municipality__code="GM0344"))
    response = client.get(reverse("decisions:letter_pdf", args=[decision.public_id]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    decision.refresh_from_db()
    assert decision.letter_pdf and decision.letter_html
