"""Almere's signatory opens a granted application's case file, downloads the decision letter and waives part of the
grant, typing the amount the Dutch way."""

from decimal import Decimal
from pathlib import Path

import pytest

from allocation.selectors import current_decision
from applications.models import Application
from grants.models import Tranche
from tests.browser.people import demo_user
from tests.progress import granted

pytestmark = pytest.mark.browser


@pytest.fixture
def grant():
    application = granted(municipality="GM0034")
    Application.objects.filter(pk=application.pk).update(project_name="Flexwoningen Poort (demo)")
    Tranche.objects.filter(pk=application.tranche_id).update(title="Tranche RHA 2026 (demo)")
    demo_user("almere-ondertekenaar")
    return application


def test_signatory_reads_the_case_file_downloads_the_letter_and_waives_part_of_the_grant(browsing, grant):
    page = browsing.page
    browsing.log_in("almere-ondertekenaar")
    browsing.follow(page.locator("nav a[href='/applications/']"))
    browsing.check_portal_page()
    browsing.follow(page.get_by_role("link", name="Flexwoningen Poort (demo)"))
    assert page.url.endswith(f"/applications/{grant.public_id}/")
    browsing.check_portal_page()

    case_file = page.locator("#case-file")
    letter = case_file.locator(f"a[href='/decisions/{grant.decision.public_id}/letter.pdf']")
    assert letter.count() == 1
    browsing.screenshot("04-case-file", start=page.locator("#progress-heading"))
    with page.expect_download() as download:
        letter.click()
    assert download.value.suggested_filename == f"beschikking-{grant.reference}.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")

    browsing.follow(page.locator(f"a[href='/applications/{grant.public_id}/progress/']"))
    browsing.check_portal_page()
    browsing.follow(page.locator(f"a[href='/decisions/applications/{grant.public_id}/waive/']"))
    browsing.check_portal_page()
    page.locator("input[name=amount_after]").press_sequentially("50.000")
    page.locator("textarea[name=reason]").fill("Er komen vier woningen minder: de kavel is kleiner uitgevallen.")
    browsing.screenshot("05-waiver")
    browsing.follow(page.locator("main form button[type=submit]"))
    assert page.url.endswith(f"/applications/{grant.public_id}/")
    browsing.check_portal_page()

    lowered = current_decision(application=grant)
    assert lowered.amount == Decimal("50000.00")
    assert page.locator(f"#case-file a[href='/decisions/{lowered.public_id}/letter.pdf']").count() == 1
