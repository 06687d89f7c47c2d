"""The agency's assessor logs in with the second factor, lands on the workbench, opens an application from it and
requests information with a deadline. Both pages pass axe with no violation at 1280 px and fit it without
scrolling sideways."""

import pytest
from django.urls import reverse

from applications.models import Application, InformationRequest, Status
from tests.browser.people import demo_user
from tests.factories import ApplicationFactory, TrancheFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def in_review() -> Application:
    tranche = TrancheFactory(title="Tranche RHA 2026 (demo)")
    ApplicationFactory(submitted=True, tranche=tranche, municipality__code="GM0363", project_name="Kamers Sloterdijk")
    return ApplicationFactory(
        submitted=True,
        status=Status.IN_REVIEW,
        tranche=tranche,
        municipality__code="GM0344",
        project_name="Flexwoningen Zuilen (demo)",
        lines=[("homeless", 12, "flexible"), ("students", 8, "permanent")],
    )


def fits_the_window(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_assessor_lands_on_the_workbench_and_requests_information(browsing, in_review):
    demo_user("rvo-beoordelaar")
    page = browsing.page
    browsing.log_in("rvo-beoordelaar", second_factor=True)
    if not page.url.endswith(reverse("admin:index")):
        browsing.follow(page.locator(f"nav a[href='{reverse('admin:index')}']"))

    content = page.locator("#content")
    assert in_review.reference in content.inner_text()
    assert fits_the_window(page)
    browsing.check_back_office_page("workbench")
    browsing.screenshot("10-back-office-workbench")

    change = reverse("admin:applications_application_change", args=[in_review.pk])
    browsing.follow(page.locator(f"#content a[href='{change}']"))
    assert "Flexwoningen Zuilen (demo)" in content.inner_text()
    assert fits_the_window(page)
    browsing.check_back_office_page("application")
    browsing.screenshot("11-back-office-application")

    ask = reverse("admin:applications_application_step", args=[in_review.pk, "request_information"])
    browsing.follow(page.locator(f"a[href='{ask}']"))
    browsing.check_back_office_page("application-step")
    page.locator("textarea[name=reason]").fill("Stuur het raadsbesluit over de locatie mee.")
    browsing.follow(page.locator("#content input[type=submit]"))

    assert page.url.endswith(change)
    request = InformationRequest.objects.get(application=in_review)
    assert request.reason == "Stuur het raadsbesluit over de locatie mee."
    assert str(request.deadline.year) in page.locator(".messagelist").inner_text()
    in_review.refresh_from_db()
    assert in_review.status == Status.INFORMATION_REQUESTED
    browsing.check_back_office_page("application")
