"""An editor of Utrecht drafts an application with the live unit-line form; the signatory submits it.

The unit-line script (static/js/unit-lines.js) adds and removes rows, keeps the formset's form count and shows the
totals as they are typed; what the browser shows must be what the server then saves.
"""

import pytest

from applications.models import Application, Status
from tests.browser.people import demo_tranche, demo_user

pytestmark = pytest.mark.browser


@pytest.fixture
def tranche():
    tranche = demo_tranche()
    demo_user("utrecht-redacteur")
    demo_user("utrecht-ondertekenaar")
    return tranche


def line(page, number: int):
    """The visible unit line with this number, as the form shows it."""
    return page.locator("[data-unit-line]:visible").nth(number - 1)


HOMELESS = "Dak- en thuisloze mensen"
STATUS_HOLDERS = "Statushouders"
URGENCY = "Mensen met een sociale of medische urgentie"
SAVE = "main form[data-unit-lines-form] button[type=submit]"


def fill_line(row, *, group: str, permanence: str, units: str, amount: str = "") -> None:
    """Fill a line of regular homes."""
    row.locator("select[name$='-target_group']").select_option(label=group)
    row.locator("select[name$='-housing_type']").select_option(label="Reguliere woning")
    row.locator("select[name$='-permanence']").select_option(permanence)
    row.locator("input[name$='-units']").fill(units)
    # A yes/no question without a default: a room is not self-contained unless someone says so.
    row.locator("input[name$='-self_contained'][value='True']").check()
    # Typed key by key, as a person does: a number field, unlike a text field, would drop "20.000,50" unseen.
    row.locator("input[name$='-requested_amount']").press_sequentially(amount)


def text(locator) -> str:
    """What a person reads, with the no-break space of Dutch amounts (€ 1,00) as a plain space."""
    return locator.inner_text().replace("\xa0", " ")


def totals(page) -> tuple[str, str]:
    box = page.locator("[data-totals]")
    return text(box.locator("[data-total-units]")), text(box.locator("[data-total-amount]"))


def form_count(page) -> str:
    return page.locator("input[name='lines-TOTAL_FORMS']").input_value()


def test_editor_drafts_with_live_unit_lines_and_signatory_submits(browsing, tranche):
    page = browsing.page
    browsing.log_in("utrecht-redacteur")
    browsing.check_portal_page()
    browsing.screenshot("01-portal-home")

    browsing.follow(page.locator(f"a[href='/tranches/{tranche.slug}/apply/']"))
    browsing.check_portal_page()
    page.locator("input[name=project_name]").fill("Tiny houses Overvecht")
    page.locator("input[name=location]").fill("Zamenhofdreef, Utrecht")
    browsing.follow(page.locator("main form button[type=submit]"))
    assert page.url.endswith("/edit/")
    application = Application.objects.get(project_name="Tiny houses Overvecht")

    # The page starts with one empty line; the script shows the totals at zero.
    assert form_count(page) == "1"
    assert totals(page) == ("0", "€ 0,00")
    browsing.check_portal_page()

    fill_line(line(page, 1), group=HOMELESS, permanence="permanent", units="10")
    assert text(line(page, 1).locator("[data-line-maximum]")) == "€ 85.000,00"
    assert totals(page) == ("10", "€ 85.000,00")

    page.locator("[data-add-line]").click()
    assert form_count(page) == "2"
    assert page.locator("[data-unit-line]:visible").count() == 2
    assert text(line(page, 2).locator("[data-line-number]")) == "2"
    # The new line takes the focus, so a keyboard user continues in it.
    assert line(page, 2).locator("select[name$='-target_group']").evaluate("el => el === document.activeElement")
    fill_line(line(page, 2), group=STATUS_HOLDERS, permanence="flexible", units="4", amount="20.000,50")
    assert totals(page) == ("14", "€ 105.000,50")

    page.locator("[data-add-line]").click()
    fill_line(line(page, 3), group=URGENCY, permanence="flexible", units="2")
    assert totals(page) == ("16", "€ 119.000,50")
    browsing.check_portal_page()

    # Removing the second line hides it and marks it for deletion: the count stays, the numbers and totals follow.
    line(page, 2).get_by_role("button").click()
    assert form_count(page) == "3"
    assert page.locator("[data-unit-line]:visible").count() == 2
    assert line(page, 2).locator("[data-line-number]").inner_text() == "2"
    assert totals(page) == ("12", "€ 99.000,00")
    assert page.locator("[data-add-line]").evaluate("el => el === document.activeElement")
    browsing.screenshot("02-application-unit-lines", start=page.locator("#unit-lines-heading"))

    browsing.follow(page.locator(SAVE))
    assert page.url.endswith(f"/applications/{application.public_id}/")
    browsing.check_portal_page()
    saved = sorted(application.unit_lines.values_list("target_group__code", "units", "requested_amount"))
    assert saved == [("homeless", 10, 85000), ("urgency", 2, 14000)]

    browsing.log_out()
    browsing.log_in("utrecht-ondertekenaar")
    page.goto(f"/applications/{application.public_id}/")
    browsing.follow(page.locator(f"a[href='/applications/{application.public_id}/submit/']"))
    browsing.check_portal_page()
    browsing.screenshot("03-application-submit")
    page.locator("input[name=declaration]").check()
    browsing.follow(page.locator("main form:has(input[name=declaration]) button[type=submit]"))
    assert page.url.endswith(f"/applications/{application.public_id}/received/")
    browsing.check_portal_page()
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert application.reference in page.locator("main").inner_text()


def test_an_unreadable_amount_is_left_out_of_the_total_visibly_and_refused_at_its_line(browsing, tranche):
    page = browsing.page
    browsing.log_in("utrecht-redacteur")
    page.goto(f"/tranches/{tranche.slug}/apply/")
    page.locator("input[name=project_name]").fill("Kamers Lunetten")
    page.locator("input[name=location]").fill("Lunetten, Utrecht")
    browsing.follow(page.locator("main form button[type=submit]"))
    assert page.url.endswith("/edit/")

    fill_line(line(page, 1), group=HOMELESS, permanence="permanent", units="3")
    line(page, 1).locator("input[name$='-requested_amount']").press_sequentially("7.000,5,0")
    # The live total leaves out an amount the server would refuse, and says so; the server refuses it at its field.
    assert totals(page) == ("3", "€ 0,00")
    assert page.locator("[data-total-unreadable]").is_visible()
    line(page, 1).locator("input[name$='-requested_amount']").fill("7.000,50")
    assert totals(page) == ("3", "€ 7.000,50")
    assert page.locator("[data-total-unreadable]").is_hidden()
    line(page, 1).locator("input[name$='-requested_amount']").fill("7.000,5,0")
    browsing.follow(page.locator(SAVE))

    assert page.locator("[role=alert]").is_visible()
    assert page.locator(".utrecht-form-field--invalid input[name$='-requested_amount']").count() == 1
    browsing.check_portal_page()
    assert not Application.objects.get(project_name="Kamers Lunetten").unit_lines.exists()
