"""The agency's approver logs in with the second factor and works in the back office: the worklist, an objection and
a tranche's reserve list. The ministry's analyst reads the totals on the dashboard.

The back office is Django's admin: its axe violations are listed in known_violations.toml (issue 18 owns them), and
a page fails on any other. The dashboard is a portal page and passes axe with none.
"""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from allocation import objections
from allocation.models import Decision, Objection
from tests.allocation.sealing import closed_tranche
from tests.browser.people import demo_user
from tests.factories import ApplicationFactory, UserFactory
from tests.figures import allocate

pytestmark = pytest.mark.browser


@pytest.fixture
def objection() -> Objection:
    """Two requests of € 70,000 under a ceiling of € 100,000: Utrecht's is granted, Amsterdam's refused and on the
    reserve list, and Amsterdam objects."""
    tranche = closed_tranche(
        budget_ceiling=Decimal("100000.00"), last_application_rule="stop", title="Tranche RHA 2026 (demo)"
    )
    for code, name in (("GM0344", "Kamers Zuilen (demo)"), ("GM0363", "Kamers Sloterdijk (demo)")):
        ApplicationFactory(eligible=True, tranche=tranche, municipality__code=code, project_name=name)
    allocate(tranche)
    refused = Decision.objects.current().get(application__tranche=tranche, application__municipality__code="GM0363")
    assessor = UserFactory(password=None, assessor=True)
    objections.record_dispatch(decision=refused, user=assessor, dispatched_on=refused.decision_date)
    return objections.register_objection(
        decision=refused,
        user=assessor,
        received_on=timezone.localdate(),
        grounds="Er was nog € 30.000 over; die had ons project moeten krijgen.",
    )


def test_approver_opens_the_worklist_an_objection_and_the_reserve_list(browsing, objection):
    demo_user("rvo-goedkeurder")
    page = browsing.page
    browsing.log_in("rvo-goedkeurder", second_factor=True)
    # Agency staff land on their workbench, the back office's start page.
    assert page.url.endswith(reverse("admin:index"))
    browsing.check_back_office_page("admin-index")

    browsing.follow(page.locator(f"a[href='{reverse('admin:realisation_reclaim_changelist')}']").first)
    browsing.follow(page.locator(f"a[href='{reverse('admin:realisation_reclaim_worklist')}']"))
    browsing.check_back_office_page("worklist")
    browsing.screenshot("06-back-office-worklist")

    page.goto(reverse("admin:index"))
    browsing.follow(page.locator(f"a[href='{reverse('admin:allocation_objection_changelist')}']").first)
    browsing.check_back_office_page("objection-list")
    browsing.follow(page.locator(f"a[href='{reverse('admin:allocation_objection_change', args=[objection.pk])}']"))
    assert "Er was nog € 30.000 over" in page.locator("#content").inner_text()
    browsing.check_back_office_page("objection")
    browsing.screenshot("07-back-office-objection")

    tranche = objection.contested.application.tranche
    page.goto(reverse("admin:grants_tranche_change", args=[tranche.pk]))
    browsing.follow(page.locator(f"a[href='{reverse('admin:grants_tranche_reserve_list', args=[tranche.pk])}']"))
    assert objection.contested.application.reference in page.locator("#content").inner_text()
    browsing.check_back_office_page("reserve-list")
    browsing.screenshot("08-back-office-reserve-list")


def test_analyst_logs_in_with_the_second_factor_and_reads_the_dashboard(browsing, objection):
    demo_user("bzk-analist")
    page = browsing.page
    browsing.log_in("bzk-analist", second_factor=True)
    # The analyst lands on the dashboard, not on the portal's home.
    assert page.url.endswith(reverse("ministry:dashboard"))
    assert "Tranche RHA 2026 (demo)" in page.locator("main").inner_text()
    browsing.check_portal_page()
    browsing.screenshot("09-ministry-dashboard")
