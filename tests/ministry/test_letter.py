from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ministry.filters import DEMO_SCHEME_CODE
from ministry.letter import LetterFigures, format_number, progress_paragraph
from ministry.models import TotalsRow, TotalsScope
from ministry.services import store_totals
from tests.factories import SchemeFactory, TrancheFactory
from tests.figures import client_for, user, varied_data

FIGURES_2023 = LetterFigures(
    tranche_number=4,
    tranche_year=2023,
    budget=Decimal("34705000.00"),
    requested=Decimal("49160354.00"),
    oversubscription=Decimal("14455354.00"),
    applications_submitted=131,
    municipalities_submitted=85,
    applications_granted=97,
    municipalities_granted=66,
    units_granted=4365,
    units_permanent=1432,
    units_flexible=2933,
    cumulative_units=21380,
)
PARAGRAPH_2023 = (
    "In de vierde tranche (2023) was een budget beschikbaar van € 34.705.000. "
    "De tranche was met ruim € 14 miljoen overtekend: 131 aanvragen van 85 gemeenten vroegen samen "
    "€ 49.160.354 aan. Er zijn 97 aanvragen van 66 gemeenten toegekend voor 4.365 woonruimten, waarvan "
    "1.432 permanent en 2.933 flexibel. In totaal heeft de regeling tot nu toe bijgedragen aan 21.380 woningen."
)


def test_paragraph_for_the_2023_figures_reads_as_the_letter():
    assert progress_paragraph(FIGURES_2023) == PARAGRAPH_2023


def test_oversubscription_of_exactly_whole_millions_is_not_called_over():
    figures = replace(FIGURES_2023, oversubscription=Decimal("14000000.00"))

    assert "De tranche was met € 14 miljoen overtekend:" in progress_paragraph(figures)


def test_oversubscription_below_a_million_is_given_in_euros():
    figures = replace(FIGURES_2023, oversubscription=Decimal("455354.00"))

    assert "De tranche was met € 455.354 overtekend:" in progress_paragraph(figures)


def test_tranche_that_was_not_oversubscribed_says_so():
    figures = replace(FIGURES_2023, oversubscription=Decimal("0"))

    assert "De tranche was niet overtekend: 131 aanvragen" in progress_paragraph(figures)


def test_one_application_from_one_municipality_is_singular():
    figures = replace(
        FIGURES_2023,
        applications_submitted=1,
        municipalities_submitted=1,
        applications_granted=1,
        municipalities_granted=1,
        units_granted=1,
        units_permanent=1,
        units_flexible=0,
        cumulative_units=1,
    )

    paragraph = progress_paragraph(figures)

    assert "1 aanvraag van 1 gemeente vroeg € 49.160.354 aan." in paragraph
    assert (
        "Er is 1 aanvraag van 1 gemeente toegekend voor 1 woonruimte, waarvan 1 permanent en 0 flexibel." in paragraph
    )
    assert paragraph.endswith("bijgedragen aan 1 woning.")


def test_tranche_without_applications_says_none_were_submitted():
    figures = replace(FIGURES_2023, applications_submitted=0, requested=Decimal("0"), oversubscription=Decimal("0"))

    assert "Er zijn geen aanvragen ingediend." in progress_paragraph(figures)
    assert "toegekend" not in progress_paragraph(figures)


def test_tranche_not_yet_allocated_says_nothing_was_granted_yet():
    figures = replace(FIGURES_2023, applications_granted=0, municipalities_granted=0)

    assert "Er zijn nog geen aanvragen toegekend." in progress_paragraph(figures)


def test_ordinal_after_the_twelfth_tranche_is_written_with_a_number():
    assert progress_paragraph(replace(FIGURES_2023, tranche_number=13)).startswith("In de 13e tranche (2023)")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (999, "999"),
        (21380, "21.380"),
        (Decimal("34705000.00"), "34.705.000"),
        (Decimal("1234.5"), "1.234,50"),
        (Decimal("-1500"), "-1.500"),
    ],
)
def test_numbers_are_formatted_the_dutch_way(value, text):
    assert format_number(value) == text


def _store_2023_figures(tranche):
    """The published 2023 figures as stored totals, so that the page can be checked against the letter."""
    common = {"generation": 1, "computed_at": timezone.now(), "scheme": tranche.scheme}
    TotalsRow.objects.create(
        **common,
        scope=TotalsScope.TRANCHE,
        tranche=tranche,
        **{
            name: getattr(FIGURES_2023, name)
            for name in [
                "budget",
                "requested",
                "oversubscription",
                "applications_submitted",
                "municipalities_submitted",
                "applications_granted",
                "municipalities_granted",
                "units_granted",
                "units_permanent",
                "units_flexible",
            ]
        },
        amount_granted=Decimal("34705000.00"),
    )
    TotalsRow.objects.create(
        **common,
        scope=TotalsScope.SCHEME,
        units_granted=21380,
        units_permanent=21380,
        applications_submitted=1,
        applications_granted=1,
    )


@pytest.mark.django_db
def test_letter_page_writes_the_2023_paragraph_from_stored_totals():
    tranche = TrancheFactory(slug="rha-2023", number=4, year=2023)
    _store_2023_figures(tranche)

    response = client_for(user(analyst=True)).get(reverse("ministry:progress_letter"), {"tranche": "rha-2023"})

    assert response.status_code == 200
    assert response.context["paragraph"] == PARAGRAPH_2023
    assert PARAGRAPH_2023 in response.content.decode()


@pytest.mark.django_db
def test_letter_page_computes_from_the_data_after_a_refresh():
    data = varied_data()
    store_totals()

    response = client_for(user(analyst=True)).get(reverse("ministry:progress_letter"), {"tranche": data.older.slug})

    assert response.context["paragraph"] == (
        "In de vierde tranche (2023) was een budget beschikbaar van € 120.000. De tranche was met € 20.000 "
        "overtekend: 3 aanvragen van 2 gemeenten vroegen samen € 140.000 aan. Er zijn 2 aanvragen van 2 gemeenten "
        "toegekend voor 18 woonruimten, waarvan 5 permanent en 13 flexibel. In totaal heeft de regeling tot nu toe "
        "bijgedragen aan 24 woningen."
    )


@pytest.mark.django_db
def test_letter_page_is_dutch_in_the_english_interface_too():
    tranche = TrancheFactory(slug="rha-2023", number=4, year=2023)
    _store_2023_figures(tranche)

    response = client_for(user(analyst=True), language="en").get(
        reverse("ministry:progress_letter"), {"tranche": "rha-2023"}
    )

    assert 'lang="nl"' in response.content.decode()
    assert response.context["paragraph"] == PARAGRAPH_2023


@pytest.mark.django_db
def test_letter_page_before_totals_are_computed_has_no_paragraph():
    tranche = TrancheFactory()

    response = client_for(user(analyst=True)).get(reverse("ministry:progress_letter"), {"tranche": tranche.slug})

    assert response.status_code == 200
    assert response.context["paragraph"] is None
    assert "have not been computed yet" in response.content.decode()


@pytest.mark.django_db
def test_letter_page_with_an_unknown_tranche_asks_to_choose_one():
    TrancheFactory()

    response = client_for(user(analyst=True)).get(reverse("ministry:progress_letter"), {"tranche": "nope"})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "paragraph" not in response.context


@pytest.mark.django_db
def test_letter_page_for_a_municipal_user_is_forbidden():
    TrancheFactory(slug="rha-2023")

    response = client_for(user(signatory=True)).get(reverse("ministry:progress_letter"), {"tranche": "rha-2023"})

    assert response.status_code == 403


@pytest.mark.django_db
def test_letter_for_a_chosen_tranche_and_date_states_the_ceiling_in_force_that_day():
    data = varied_data()
    store_totals()
    client = client_for(user(analyst=True))
    # The ceiling was raised from € 100.000 to € 120.000 an hour ago: on the Dutch day of the raise, or the day before.
    raised_on = timezone.localdate(data.older.amendments.get().effective_at)
    day_before = raised_on - timedelta(days=1)

    before = client.get(reverse("ministry:progress_letter"), {"tranche": data.older.slug, "on": day_before.isoformat()})
    today = client.get(reverse("ministry:progress_letter"), {"tranche": data.older.slug, "on": raised_on.isoformat()})

    assert before.context["paragraph"].startswith(
        "In de vierde tranche (2023) was een budget beschikbaar van € 100.000. De tranche was met € 40.000 overtekend"
    )
    assert today.context["paragraph"].startswith(
        "In de vierde tranche (2023) was een budget beschikbaar van € 120.000. De tranche was met € 20.000 overtekend"
    )


@pytest.mark.django_db
def test_letter_page_offers_a_copy_button_and_a_live_status_and_styled_fields():
    tranche = TrancheFactory(slug="rha-2023", number=4, year=2023)
    _store_2023_figures(tranche)

    response = client_for(user(analyst=True)).get(reverse("ministry:progress_letter"), {"tranche": "rha-2023"})
    page = response.content.decode()

    assert 'data-copy-target="letter-text"' in page
    assert 'role="status" aria-live="polite"' in page
    assert 'class="utrecht-select"' in page
    assert 'type="date"' in page and 'class="utrecht-textbox"' in page
    assert "js/dashboard.js" in page


@pytest.mark.django_db
def test_letter_page_does_not_offer_the_demo_tranche():
    TrancheFactory(slug="rha-2023")
    TrancheFactory(scheme=SchemeFactory(code=DEMO_SCHEME_CODE), slug="rha-demo")

    response = client_for(user(analyst=True)).get(reverse("ministry:progress_letter"))

    assert set(response.context["form"].tranches) == {"rha-2023"}
