"""Screenshots of the main pages at 1280 and 390 px, into docs/screenshots/: `python -m tests.browser.screenshots`.

It runs the browser journeys (tests/browser/), which save a screenshot at each main page when SCREENSHOTS_ENV names a
folder; arguments are passed on to pytest. `make screenshots` runs it.
"""

import os
import sys
from pathlib import Path

import pytest

SCREENSHOTS_ENV = "THUISFONDS_SCREENSHOTS"
FOLDER = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def main(arguments: list[str]) -> int:
    FOLDER.mkdir(parents=True, exist_ok=True)
    os.environ[SCREENSHOTS_ENV] = str(FOLDER)
    return pytest.main([str(Path(__file__).parent), "-m", "browser", "-p", "no:randomly", "-q", *arguments])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
