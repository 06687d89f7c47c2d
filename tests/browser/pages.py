"""A browser window for the journeys: logging in as a person does, axe on every page, screenshots on request."""

from __future__ import annotations

import io
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import Page

from demo.loading import DEMO_PASSWORD, DEMO_TOTP_SECRET
from tests.browser.people import totp_code
from tests.browser.screenshots import SCREENSHOTS_ENV

KNOWN_VIOLATIONS = Path(__file__).with_name("known_violations.toml")
# Higher pages are cut here: the first screens are what a screenshot is for, and the files stay small.
SCREENSHOT_MAX_HEIGHT = 1800
PHONE_WIDTH = 390

_axe = Axe()


def known_violations() -> dict[str, dict[str, int]]:
    """The allow-list of back-office pages: {page name: {axe rule: issue that owns its fix}}."""
    entries = tomllib.loads(KNOWN_VIOLATIONS.read_text(encoding="utf-8")).get("known", [])
    known: dict[str, dict[str, int]] = {}
    for entry in entries:
        known.setdefault(entry["page"], {})[entry["rule"]] = entry["issue"]
    return known


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}; at {', '.join(str(n['target']) for n in v['nodes'][:5])}"
        for v in violations
    )


@dataclass
class Browsing:
    page: Page
    errors: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.page.on("pageerror", lambda error: self.errors.append(f"{self.page.url}: {error}"))
        self.page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"{self.page.url}: {message.text}")

    def log_in(self, username: str, *, second_factor: bool = False) -> None:
        """Log in through the login page with the demo password, and for staff the code of the demo authenticator."""
        page = self.page
        page.goto("/login/")
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(DEMO_PASSWORD)
        self.follow(page.locator("main form:has(input[name=password]) button[type=submit]"))
        if second_factor:
            assert "/account/second-factor/" in page.url
            self.check_portal_page()
            form = page.locator("main form:has(input[name=token])")
            form.locator("input[name=token]").fill(totp_code(DEMO_TOTP_SECRET))
            self.follow(form.locator("button[type=submit]"))
        assert "/login/" not in page.url and "/second-factor/" not in page.url, f"not logged in: {page.url}"

    def follow(self, locator) -> None:
        """Click a link or a button that opens another page, and wait for that page."""
        with self.page.expect_navigation():
            locator.click()

    def log_out(self) -> None:
        self.follow(self.page.locator("header form[action='/logout/'] button"))

    def axe(self) -> list[dict]:
        return _axe.run(self.page).response["violations"]

    def check_portal_page(self) -> None:
        """A portal page passes axe with no violation at all."""
        violations = self.axe()
        assert not violations, f"axe on the portal page {self.page.url}:\n{describe(violations)}"

    def resize(self, width: int) -> None:
        """Make the window `width` px wide, and wait until the page's scripts have handled the resize (a frame)."""
        self.page.set_viewport_size({"width": width, "height": self.page.viewport_size["height"]})
        self.page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")

    def check_portal_page_at_both_widths(self) -> None:
        """A portal page passes axe at the window's width and at a phone's, where it does not scroll sideways."""
        width = self.page.viewport_size["width"]
        self.check_portal_page()
        self.resize(PHONE_WIDTH)
        try:
            self.check_portal_page()
            scroll_width = self.page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= PHONE_WIDTH, f"{self.page.url} scrolls sideways at {PHONE_WIDTH} px: {scroll_width}"
        finally:
            self.resize(width)

    def check_back_office_page(self, name: str) -> None:
        """A back-office page has only the violations known_violations.toml lists for it (issue 18 owns them)."""
        violations = self.axe()
        allowed = known_violations().get(name, {})
        new = [v for v in violations if v["id"] not in allowed]
        assert not new, f"axe on the back-office page {name} ({self.page.url}), not in {KNOWN_VIOLATIONS.name}:\n" + (
            describe(new)
        )
        gone = sorted(set(allowed) - {v["id"] for v in violations})
        assert not gone, f"fixed on {name}, remove from {KNOWN_VIOLATIONS.name}: " + ", ".join(
            f"{rule} (issue {allowed[rule]})" for rule in gone
        )

    def screenshot(self, name: str, *, start=None) -> None:
        """Saves the page, from the top or from the element `start`, as docs/screenshots/<name>.png at the window's
        width and as <name>-390.png at a phone's 390 px, when the screenshots command runs the journeys."""
        folder = os.environ.get(SCREENSHOTS_ENV)
        if not folder:
            return
        viewport = self.page.viewport_size
        self._save_screenshot(Path(folder) / f"{name}.png", start)
        self.page.set_viewport_size({"width": PHONE_WIDTH, "height": viewport["height"]})
        try:
            self._save_screenshot(Path(folder) / f"{name}-{PHONE_WIDTH}.png", start)
        finally:
            self.page.set_viewport_size(viewport)

    def _save_screenshot(self, path: Path, start) -> None:
        top = 0 if start is None else start.evaluate("el => el.getBoundingClientRect().top + window.scrollY - 16")
        height = self.page.evaluate("document.documentElement.scrollHeight") - top
        png = self.page.screenshot(
            full_page=True,
            clip={
                "x": 0,
                "y": top,
                "width": self.page.viewport_size["width"],
                "height": min(height, SCREENSHOT_MAX_HEIGHT),
            },
        )
        # 256 colours are plenty for a page of text, and halve the file.
        image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
        image.save(path, optimize=True)
