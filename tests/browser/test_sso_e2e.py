"""Single sign-on in a real browser: the sign-in page's button, the test issuer on its own
loopback port, and back on the Dashboard with the role the groups map to; a person in no
mapped group sees why they were refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.artifacts import VIEWPORT, screenshot
from tests.fakes.oidc_provider import FakeIssuer
from tests.web.sso_support import sso_world

pytestmark = pytest.mark.browser


@pytest.fixture
def sso(
    tmp_path: Path, database_url: str, engine: Engine, db: sessionmaker[Session]
) -> Iterator[tuple[FakeIssuer, str]]:
    with sso_world(tmp_path, database_url, engine) as made:
        yield made


def test_signing_in_through_the_issuer_lands_on_the_dashboard_with_the_mapped_role(
    sso: tuple[FakeIssuer, str], page: Page
) -> None:
    issuer, app_url = sso
    issuer.user = {
        "sub": "00000000-aaaa-4bbb-8ccc-000000000001",
        "preferred_username": "olivia@msp.example",
        "groups": ["tb-operators"],
    }
    page.set_viewport_size(VIEWPORT)
    page.goto(f"{app_url}/login")
    screenshot(page, "sso-login")
    page.get_by_role("link", name="Sign in with Test IdP").click()

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator(".whoami")).to_contain_text("olivia@msp.example (operator)")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Run Checks")).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)  # not an admin


def test_a_person_in_no_mapped_group_is_refused_with_the_reason(
    sso: tuple[FakeIssuer, str], page: Page
) -> None:
    issuer, app_url = sso
    issuer.user = {"sub": "outsider-1", "preferred_username": "eve", "groups": ["sales"]}
    page.goto(f"{app_url}/login")
    page.get_by_role("link", name="Sign in with Test IdP").click()

    expect(page.get_by_role("heading", name="Sign-in refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("None of your groups at Test IdP")
    expect(page.get_by_text("outsider-1")).to_be_visible()
    screenshot(page, "sso-refused")
    page.goto(f"{app_url}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
