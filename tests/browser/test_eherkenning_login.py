"""A signatory of Utrecht logs in with eHerkenning: from the login page through the stand-in broker to the portal.

The live server is its own broker here (EHERKENNING_MOCK): mozilla-django-oidc asks its token and key endpoints
over HTTP, as it asks the real broker's. Every page on the way passes axe at 1280 and at 390 px.
"""

import pytest

from accounts.models import Role, User
from tests.accounts.eherkenning import mock_username, service_of

pytestmark = pytest.mark.browser

EHERKENNING_LINK = "main a[href^='/eherkenning/login/']"


def test_a_signatory_logs_in_with_eherkenning_and_reaches_the_portal(browsing, live_server):
    page = browsing.page
    page.goto("/login/")
    browsing.check_portal_page_at_both_widths()
    browsing.screenshot("00-login")

    browsing.follow(page.locator(EHERKENNING_LINK))
    assert "/mock-eherkenning/authorization/" in page.url
    browsing.check_portal_page_at_both_widths()
    browsing.screenshot("00-eherkenning-broker")
    page.locator("select[name=organisation]").select_option("GM0344")
    page.locator("select[name=service]").select_option(service_of(Role.MUNICIPAL_SIGNATORY))
    page.locator("input[name=name]").fill("Jan de Vries")
    browsing.follow(page.locator("main form button[type=submit]:not([name=cancel])"))

    assert page.url == f"{live_server.url}/"
    header = page.locator("header").inner_text()
    assert "Jan de Vries" in header and "Utrecht" in header
    browsing.check_portal_page_at_both_widths()
    user = User.objects.get(username=mock_username("Jan de Vries"))
    assert (user.role, user.municipality.code) == (Role.MUNICIPAL_SIGNATORY, "GM0344")


def test_cancelling_at_the_broker_shows_why_nobody_is_logged_in(browsing):
    page = browsing.page
    page.goto("/login/")
    browsing.follow(page.locator(EHERKENNING_LINK))

    browsing.follow(page.locator("main form button[name=cancel]"))

    assert "/eherkenning/callback/" in page.url
    assert page.locator("main [role=alert]").is_visible()
    browsing.check_portal_page_at_both_widths()
    # The refusal answers 403 Forbidden, which Chromium reports in the console as a failed load: expected here.
    refused = [error for error in browsing.errors if "/eherkenning/callback/" in error and "403" in error]
    assert len(refused) == 1
    browsing.errors.remove(refused[0])
