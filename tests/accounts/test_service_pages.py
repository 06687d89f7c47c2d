"""The pages every government service has: privacy and accessibility statements, contact, and the favicon."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from accounts.retention import retention_rules
from accounts.service_pages import RETENTION_ROWS
from tests.factories import UserFactory
from tests.portal import client_for

pytestmark = pytest.mark.django_db

SERVICE_PAGES = ("service:privacy", "service:accessibility", "service:contact")


def _english_page(name: str) -> str:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("name", SERVICE_PAGES)
def test_service_pages_open_without_login_in_dutch(name):
    response = Client().get(reverse(name))
    assert response.status_code == 200
    assert '<html lang="nl"' in response.content.decode()


@pytest.mark.parametrize("name", SERVICE_PAGES)
def test_service_pages_are_in_english_when_asked(name):
    assert '<html lang="en"' in _english_page(name)


def test_every_retention_rule_has_its_row_in_the_privacy_statement():
    assert {rule.name for rule in retention_rules()} <= set(RETENTION_ROWS)


def test_privacy_statement_gives_the_retention_periods_in_force(settings):
    settings.RETENTION_YEARS = {**settings.RETENTION_YEARS, "draft": 3, "email": 4, "login_audit_log": 5}
    html = _english_page("service:privacy")
    assert "3 years after their tranche closed" in html
    assert "4 years after the reminder" in html
    assert "5 years after the entry" in html
    # One year is said in the singular.
    assert "until 1 year without a login" in html


def test_privacy_statement_says_what_why_and_whom_to_contact(settings):
    settings.CONTACT_EMAIL = "privacy@rvo.example"
    html = _english_page("service:privacy")
    for heading in ("Which personal data", "Why", "How long", "Your rights and whom to contact"):
        assert heading in html
    assert "mailto:privacy@rvo.example" in html
    assert "Autoriteit Persoonsgegevens" in html


def test_accessibility_statement_is_honest_about_its_status_and_tests():
    html = _english_page("service:accessibility")
    assert "Partially compliant" in html
    assert "axe" in html
    assert "keyboard" in html
    assert "Known issues" in html
    assert 'datetime="2026-12-02"' in html


def test_contact_page_gives_phone_and_email_from_the_settings(settings):
    settings.CONTACT_PHONE = "070 123 4567"
    settings.CONTACT_EMAIL = "vragen@rvo.example"
    html = _english_page("service:contact")
    assert 'href="tel:0701234567"' in html
    assert "070 123 4567" in html
    assert 'href="mailto:vragen@rvo.example"' in html
    assert "Opening hours" in html


def test_favicon_leads_to_the_icon_among_the_static_files():
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/img/favicon.svg")
    assert finders.find("img/favicon.svg")


@pytest.mark.parametrize("user", [None, "editor", "analyst"])
def test_every_page_links_the_icon_and_the_service_pages_in_its_footer(user):
    client = Client() if user is None else client_for(UserFactory(**({"analyst": True} if user == "analyst" else {})))
    html = client.get(reverse("login") if user is None else reverse("notifications:list")).content.decode()
    assert 'rel="icon"' in html
    footer = html[html.index("<footer") :]
    for name in SERVICE_PAGES:
        assert f'href="{reverse(name)}"' in footer


def test_the_shell_loads_the_design_system_before_its_own_styles():
    html = Client().get(reverse("service:contact")).content.decode()
    tokens, components, own = (
        html.index("vendor/rhc-design-tokens.css"),
        html.index("vendor/rhc-components.css"),
        html.index("css/thuisfonds.css"),
    )
    assert tokens < components < own
    assert 'class="rhc-theme"' in html
    assert "Rijksoverheid" in html
