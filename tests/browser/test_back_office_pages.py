"""Every page of the back office at 1280 px, as the agency's approver has it: each list of the side navigation and
the first item's page, a run's page and its confirm page. axe finds nothing on any of them (known_violations.toml
lists no back-office page any more), and no page is wider than the window.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from allocation import services as allocation_services
from allocation.models import AllocationRun
from tests.allocation.sealing import closed_tranche
from tests.browser.people import demo_user
from tests.factories import ApplicationFactory, UserFactory
from tests.figures import allocate

pytestmark = pytest.mark.browser

WIDTH = "[document.documentElement.scrollWidth, window.innerWidth]"


@pytest.fixture
def runs() -> tuple[AllocationRun, AllocationRun]:
    """A confirmed allocation, so that decisions and events exist, and a preview prepared by an assessor for the
    approver to confirm: three requests of € 70,000 under € 150,000, the third on the reserve list."""
    decided = closed_tranche(budget_ceiling=Decimal("100000.00"), title="Tranche RHA 2025 (demo)", slug="rha-2025")
    ApplicationFactory(eligible=True, tranche=decided, municipality__code="GM0344")
    allocate(decided)
    preview = closed_tranche(
        budget_ceiling=Decimal("150000.00"), last_application_rule="stop", title="Tranche RHA 2026 (demo)"
    )
    for code in ("GM0344", "GM0363", "GM0034"):
        ApplicationFactory(eligible=True, tranche=preview, municipality__code=code)
    run = allocation_services.prepare_allocation(tranche=preview, user=UserFactory(password=None, assessor=True))
    return AllocationRun.objects.get(tranche=decided), run


def check(browsing, name: str) -> None:
    """No axe violation and no horizontal scroll of the page."""
    browsing.check_portal_page()
    scroll_width, window_width = browsing.page.evaluate(WIDTH)
    assert scroll_width <= window_width, f"{name} ({browsing.page.url}) is {scroll_width} px wide"


def test_every_back_office_page_passes_axe_and_fits_1280_px(browsing, runs):
    confirmed, preview = runs
    demo_user("rvo-goedkeurder")
    page = browsing.page
    browsing.log_in("rvo-goedkeurder", second_factor=True)

    page.goto(reverse("admin:allocation_allocationrun_changelist"))
    lists = page.eval_on_selector_all("#nav-sidebar a[href$='/']", "links => links.map(a => a.getAttribute('href'))")
    lists = sorted({url for url in lists if not url.endswith("/add/")})
    assert reverse("admin:allocation_decision_changelist") in lists
    for url in lists:
        page.goto(url)
        check(browsing, url)
        items = page.eval_on_selector_all(
            "#result_list tbody th a, #result_list tbody td a",
            "links => links.map(a => a.getAttribute('href'))",
        )
        first = next((item for item in items if item.startswith(url) and item != url), None)
        if first is not None:
            page.goto(first)
            check(browsing, first)

    page.goto(reverse("admin:grants_tranche_change", args=[preview.tranche_id]))
    check(browsing, "tranche")

    page.goto(reverse("admin:allocation_allocationrun_change", args=[preview.pk]))
    check(browsing, "run")
    assert page.locator(".ranked-list").count() == 1 and page.locator(".reserve-list").count() == 1
    browsing.screenshot("12-back-office-run")

    browsing.follow(page.locator(f"a[href='{reverse('admin:allocation_allocationrun_confirm', args=[preview.pk])}']"))
    check(browsing, "confirm")
    content = page.locator("#content").inner_text()
    assert preview.ranked_list_sha256 in content and str(preview.seed) in content
    for line in preview.lines.select_related("application"):
        assert line.application.reference in content
    browsing.screenshot("13-back-office-confirm")

    page.goto(reverse("admin:allocation_allocationrun_change", args=[confirmed.pk]))
    check(browsing, "confirmed run")
