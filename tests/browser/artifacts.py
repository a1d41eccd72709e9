"""Screenshots a reviewer can look at, and the accessibility check, for the browser tests.

Screenshots go to ``var/screenshots/`` in the checkout (git-ignored; CI keeps them as
artifacts). axe-core comes from the axe-playwright-python wheel, which ships ``axe.min.js``:
nothing is fetched at test time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# A laptop screen, the size the issue measured the pages at.
VIEWPORT = {"width": 1440, "height": 900}
# Impacts that fail the check: "critical" blocks someone outright, "serious" nearly so.
FAILING_IMPACTS = ("critical", "serious")


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save the page as ``var/screenshots/<name>.png`` and return the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


@dataclass(frozen=True)
class Violation:
    page: str
    rule: str
    impact: str
    help: str
    targets: list[str]

    def __str__(self) -> str:
        return f"{self.page}: {self.rule} ({self.impact}) {self.help}: {', '.join(self.targets)}"


_AXE: Axe | None = None


def accessibility_violations(page: Page, name: str) -> list[Violation]:
    """Run axe-core (WCAG 2.x A and AA rules and best practices) on the page as it is now."""
    global _AXE
    if _AXE is None:
        _AXE = Axe()  # reads the 570 kB script once
    results: dict[str, Any] = _AXE.run(page).response
    # An empty list must mean "checked and fine", not "nothing ran".
    assert results.get("passes"), f"axe-core ran no rule on {name}"
    return [
        Violation(
            name,
            violation["id"],
            violation.get("impact") or "",
            violation["help"],
            [" ".join(map(str, node["target"])) for node in violation["nodes"]][:5],
        )
        for violation in results["violations"]
    ]


def assert_accessible(page: Page, name: str) -> None:
    """A screenshot of the page, then no critical or serious axe-core violation on it."""
    screenshot(page, name)
    found = [v for v in accessibility_violations(page, name) if v.impact in FAILING_IMPACTS]
    assert not found, "\n".join(str(v) for v in found)
