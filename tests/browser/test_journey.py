"""The journey of a municipality's submission: the editor asks the signatory, who finds the task, checks the answers,
makes the declaration, submits at the open tranche, and downloads the receipt. Every page passes axe at the
window's 1280 px and at a phone's 390 px.
"""

import pytest

from applications.models import Application, Status
from notifications.models import Reminder, ReminderKind
from tests.browser.people import demo_tranche, demo_user
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def prepared():
    """A complete draft of Utrecht in the open demo tranche, prepared by the editor."""
    tranche = demo_tranche()
    editor = demo_user("utrecht-redacteur")
    demo_user("utrecht-ondertekenaar")
    return ApplicationFactory(
        tranche=tranche, municipality=editor.municipality, created_by=editor, project_name="Tiny houses Overvecht"
    )


def check_at_both_widths(browsing, name: str) -> None:
    """axe finds nothing on the page at the window's width and at a phone's; a screenshot of each."""
    browsing.check_portal_page_at_both_widths()
    browsing.screenshot(f"journey-{name}")


def test_editor_asks_the_signatory_who_checks_declares_submits_and_downloads_the_receipt(browsing, prepared):
    page = browsing.page
    detail = f"/applications/{prepared.public_id}/"

    browsing.log_in("utrecht-redacteur")
    page.goto(detail)
    # The editor is not offered a submit button they may not use, but the request to the signatory.
    assert page.locator(f"main a[href='{detail}submit/'].utrecht-button-link--primary-action").count() == 0
    check_at_both_widths(browsing, "01-editor-application")
    browsing.follow(page.locator(f"main form[action='{detail}ask-signatory/'] button"))
    assert page.url.endswith(detail)
    check_at_both_widths(browsing, "02-editor-asked")
    assert Reminder.objects.filter(kind=ReminderKind.SIGNATORY_ASKED).count() == 1
    browsing.log_out()

    browsing.log_in("utrecht-ondertekenaar")
    assert page.url.endswith("/")
    task = page.locator(f"#tasks-heading ~ ul a[href='{detail}submit/']")
    assert task.count() == 1
    check_at_both_widths(browsing, "03-signatory-home-task")

    browsing.follow(task)
    assert "Tiny houses Overvecht" in page.locator("main").inner_text()
    assert page.locator(f"main a[href^='{detail}edit/']").count() == 2
    check_at_both_widths(browsing, "04-check-your-answers")

    # The declaration is a required checkbox: the browser will not send the form without it.
    button = page.locator("main form:has(input[name=declaration]) button[type=submit]")
    button.click()
    assert page.locator("input[name=declaration]:invalid").count() == 1
    assert Application.objects.get(pk=prepared.pk).status == Status.DRAFT

    page.locator("input[name=declaration]").check()
    browsing.follow(button)
    assert page.url.endswith(f"{detail}received/")
    received = Application.objects.get(pk=prepared.pk)
    assert received.status == Status.SUBMITTED and received.declared_at is not None
    main = page.locator("main").inner_text()
    assert received.reference in main and received.ready_hash in main.replace("\u200b", "")
    check_at_both_widths(browsing, "05-received")

    with page.expect_download() as download:
        page.locator(f"main a[href='{detail}receipt.pdf']").click()
    assert download.value.suggested_filename == f"ontvangstbevestiging-{received.reference}.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"
