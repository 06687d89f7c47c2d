"""The ministry's analyst reads the dashboard: the charts draw, the filters narrow every figure and can be removed,
the page fits a phone, and the progress-letter paragraph is copied with one button. axe finds nothing at 1280 and
390 px."""

import pytest
from django.urls import reverse

from ministry.services import store_totals
from tests.browser.people import demo_user
from tests.figures import varied_data

pytestmark = pytest.mark.browser


@pytest.fixture
def data():
    varied = varied_data()
    store_totals()
    return varied


def test_analyst_reads_filters_and_clears_the_dashboard(browsing, data):
    demo_user("bzk-analist")
    page = browsing.page
    browsing.log_in("bzk-analist", second_factor=True)
    browsing.follow(page.locator(f"nav a[href='{reverse('ministry:dashboard')}']"))

    charts = page.locator("[data-dashboard-charts]")
    assert charts.is_visible()
    assert charts.locator("canvas").count() == 2
    # The table beside the charts holds the same figures.
    overview = page.locator("[role=region]").filter(has=page.locator("table")).first
    assert overview.get_attribute("tabindex") == "0" and overview.get_attribute("aria-label")
    assert data.older.title in overview.inner_text()
    browsing.check_portal_page_at_both_widths()
    browsing.screenshot("10-ministry-dashboard-overview")

    figures = page.locator(".thuisfonds-dashboard__figures")
    assert "24" in figures.inner_text()
    page.select_option("select[name=province]", "Utrecht")
    browsing.follow(page.locator("form.thuisfonds-dashboard__filters button[type=submit]"))
    assert "province=Utrecht" in page.url
    active = page.locator(".thuisfonds-dashboard__chips li")
    assert active.count() == 1 and "Utrecht" in active.inner_text()
    # Utrecht's 8 units, 5 permanent and 3 flexible, instead of the 24 of the whole country.
    assert "8" in figures.inner_text() and "24" not in figures.inner_text()
    assert charts.locator("canvas").count() == 2
    browsing.check_portal_page_at_both_widths()

    browsing.follow(page.locator(".thuisfonds-dashboard__tab").nth(1))
    assert "tab=tranches" in page.url and "province=Utrecht" in page.url
    browsing.check_portal_page_at_both_widths()

    browsing.follow(active.locator("a"))
    assert "province" not in page.url
    assert page.locator(".thuisfonds-dashboard__chips").count() == 0


def test_analyst_copies_the_progress_letter_paragraph(browsing, data):
    demo_user("bzk-analist")
    page = browsing.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    browsing.log_in("bzk-analist", second_factor=True)
    page.goto(reverse("ministry:progress_letter"))
    browsing.check_portal_page_at_both_widths()

    page.select_option("select[name=tranche]", data.older.slug)
    browsing.follow(page.locator("main form button[type=submit]"))
    paragraph = page.locator("#letter-text").inner_text()
    assert paragraph.startswith("In de vierde tranche (2023)")
    status = page.locator("#copy-status")
    assert status.get_attribute("aria-live") == "polite" and status.inner_text() == ""

    page.locator("[data-copy-target=letter-text]").click()
    page.wait_for_function("document.getElementById('copy-status').textContent !== ''")
    assert page.evaluate("navigator.clipboard.readText()") == paragraph
    browsing.check_portal_page_at_both_widths()
    browsing.screenshot("11-ministry-progress-letter")
