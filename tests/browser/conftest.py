import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.pages import Browsing

# Debian's Chromium: the suite never downloads a browser of its own (Playwright's `install` is not used).
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium per test module.

    Module scope, not session scope: while Playwright's synchronous API runs, its event loop counts as running in
    the test's thread, and Django then refuses database calls as if they came from async code. The calls stay
    synchronous in that thread, so the guard is lifted for the module's tests and restored after them.
    """
    if not CHROMIUM.exists():
        message = f"the browser suite needs Debian's Chromium at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (.ci/run installs it)")
        pytest.skip(message)
    guard = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            # --lang: Chromium draws date fields in its own language, which the page's locale does not set.
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--lang=nl-NL"])
            yield browser
            browser.close()
    finally:
        if guard is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = guard


@pytest.fixture
def browsing(chromium, live_server):
    """A fresh browser window of 1280 px against the live server, in Dutch and Amsterdam time, as the users have it.

    Fails the test on a script error or a message the page logs as an error (a script the Content-Security-Policy
    blocks, for example).
    """
    context = chromium.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        locale="nl-NL",
        timezone_id="Europe/Amsterdam",
        accept_downloads=True,
    )
    context.set_default_timeout(10_000)
    session = Browsing(context.new_page())
    yield session
    context.close()
    assert not session.errors, "the browser reported errors:\n" + "\n".join(session.errors)
