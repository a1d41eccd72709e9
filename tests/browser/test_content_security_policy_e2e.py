"""The Content-Security-Policy in a real browser: the pages and the API docs work under it, and
Chromium reports no violation (one would mean an inline script or style we missed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.core.roles import Role
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.demo import data as demo
from ticketbridge.services.demo import mail as demo_mail

pytestmark = pytest.mark.browser

ADMIN = "csp.admin"
PASSWORD = "nothing-inline-please"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PAGES = (
    "/",
    "/run-checks",
    "/jobs",
    "/jobs/1",
    "/jobs/1/runs/1",
    "/customers",
    "/inbox",
    "/inbox/1",
    "/daily-jobs",
    "/admin/users",
    "/admin/tokens",
    "/admin/audit",
    "/admin/settings",
    "/admin/integrations/autotask",
    "/admin/mail-sources",
    "/admin/mail-rules",
)


def test_pages_and_api_docs_work_under_the_policy_without_violations(
    page: Page, base_url: str, db: sessionmaker[Session]
) -> None:
    with db() as session:
        accounts.create_user(session, ADMIN, PASSWORD, Role.ADMIN)
        demo.seed(session, NOW)
        demo_mail.seed(session, NOW)
        session.commit()
    violations: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", watch)

    page.goto(f"{base_url}/login")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    # Our stylesheet applies: the policy lets /static/style.css through.
    assert page.evaluate("document.styleSheets.length") >= 1
    for path in PAGES:
        answer = page.goto(f"{base_url}{path}")
        assert answer is not None and answer.status == 200, path

    page.goto(f"{base_url}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("ticketbridge")
    expect(page.locator(".opblock-tag").first).to_be_visible()

    assert violations == []
