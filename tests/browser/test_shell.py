"""The page shell in a real browser: the service pages and a form in error pass axe at a computer's and a phone's
width, the footer's links lead to their pages, and after a failed save the focus is on the error summary, whose
links put the focus in the field they name.
"""

import pytest

from applications.models import Application
from tests.browser.people import demo_tranche, demo_user
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.browser

SERVICE_PAGES = ("/privacy/", "/toegankelijkheid/", "/contact/")


@pytest.fixture
def draft():
    tranche = demo_tranche()
    editor = demo_user("utrecht-redacteur")
    return ApplicationFactory(tranche=tranche, municipality=editor.municipality, project_name="Hof van Lunetten")


def test_service_pages_pass_axe_and_the_footer_leads_to_each(browsing):
    page = browsing.page
    page.goto("/login/")
    for path in SERVICE_PAGES:
        browsing.follow(page.locator(f"footer a[href='{path}']"))
        assert page.url.endswith(path)
        browsing.check_portal_page_at_both_widths()
    # The icon the browser asks for is there.
    assert page.request.get("/favicon.ico").ok


def test_a_failed_save_puts_the_focus_on_the_summary_whose_links_lead_to_the_fields(browsing, draft):
    page = browsing.page
    browsing.log_in("utrecht-redacteur")
    page.goto(f"/applications/{draft.public_id}/edit/")
    page.locator("input[name=project_name]").fill("")
    page.locator("[data-add-line]").click()
    new_line = page.locator("[data-unit-line]:visible").last
    new_line.locator("select[name$='-target_group']").select_option(index=1)
    # A line that cannot be counted says so on the line, not only in the total.
    assert new_line.locator("[data-line-uncounted]").is_visible()
    browsing.follow(page.locator("main form[data-unit-lines-form] button[type=submit]"))

    summary = page.locator("[data-error-summary]")
    assert summary.evaluate("el => el === document.activeElement")
    assert summary.is_visible()
    browsing.check_portal_page_at_both_widths()

    summary.locator("a[href='#id_project_name']").click()
    assert page.locator("#id_project_name").evaluate("el => el === document.activeElement")
    summary.locator("a[href$='-self_contained_0']").click()
    assert page.evaluate("document.activeElement.name").endswith("-self_contained")
    assert Application.objects.get(pk=draft.pk).project_name == "Hof van Lunetten"


def test_a_failed_upload_brings_its_errors_into_view(browsing, draft):
    page = browsing.page
    browsing.log_in("utrecht-redacteur")
    page.goto(f"/applications/{draft.public_id}/")
    browsing.follow(page.locator("main form[enctype='multipart/form-data'] button[type=submit]"))
    summary = page.locator("[data-error-summary]")
    assert summary.evaluate("el => el === document.activeElement")
    assert summary.is_visible()
    assert summary.evaluate("el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight }")
    browsing.check_portal_page()
