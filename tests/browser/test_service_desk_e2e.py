"""The Service desk page in a real browser: an admin finds the auto-reply the filters stopped,
creates its ticket anyway and reads the outcome in the mail's row, sees the conversation it
opened, and meets a routing rule refused with the problem at its field and the typed text kept.
axe-core checks each page with its rows in it.

The app is served on a loopback port; its Jira connection reaches the Jira emulator in-process
through the runtime's PSA transport.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.artifacts import VIEWPORT, assert_accessible, sign_in
from tests.browser.conftest import serve
from tests.factories import NOW, PASSWORD, add_user
from tests.services.service_desk.conftest import JIRA_URL, Jira, mail, set_up_desk
from ticketbridge.core.roles import Role
from ticketbridge.emulators.autotask import InProcessTransport
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.service_desk.process import process_pending
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app

pytestmark = pytest.mark.browser


@dataclass
class Desk:
    url: str
    jira: Jira

    def issues(self) -> list[dict[str, Any]]:
        """Jira's issues, read from another thread: the in-process emulator runs an event
        loop, and Playwright's sync API keeps one running in this thread."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(self.jira.issues).result()


@pytest.fixture
def desk(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Iterator[Desk]:
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    runtime = app.state.ctx
    transport = InProcessTransport(create_jira(seed="empty"))
    runtime.psa_transport = transport
    source_id = set_up_desk(runtime, JIRA_URL)
    with runtime.session_factory() as session:
        for raw in (
            mail(1),
            mail(
                "ooo",
                subject="Automatic reply: Printer",
                headers="Auto-Submitted: auto-replied\r\n",
            ),
        ):
            mail_intake.accept(session, raw, now=NOW, source_id=source_id)
        session.commit()
    process_pending(runtime)
    add_user(db, "ada.admin", Role.ADMIN)
    jira = Jira(httpx.Client(transport=transport, base_url=JIRA_URL))
    for url in serve(app):
        yield Desk(url, jira)
    jira.http.close()
    transport.close()


def test_an_admin_creates_a_filtered_mails_ticket_anyway_and_fixes_a_refused_rule(
    desk: Desk, page: Page
) -> None:
    page.set_viewport_size(VIEWPORT)
    sign_in(page, desk.url, "ada.admin", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Service desk").click()
    expect(page.get_by_role("heading", name="Service desk")).to_be_visible()
    expect(page.get_by_role("row", name="SUP-1")).to_contain_text("ann@customer.example")
    assert_accessible(page, "service-desk-conversations")

    page.get_by_role("navigation", name="Service desk").get_by_role(
        "link", name="Filtered mails"
    ).click()
    row = page.get_by_role("row", name="Automatic reply: Printer")
    expect(row).to_contain_text("An automatic message (Auto-Submitted: auto-replied).")
    assert_accessible(page, "service-desk-filtered")
    row.get_by_role("button", name="Create anyway").click()

    row = page.get_by_role("row", name="Automatic reply: Printer")
    expect(row.get_by_role("status")).to_have_text("Ticket SUP-2 created.")
    expect(row).to_contain_text("Ticket SUP-2, created anyway")
    expect(row.get_by_role("button")).to_have_count(0)
    assert [i["key"] for i in desk.issues()] == ["SUP-1", "SUP-2"]

    page.get_by_role("link", name="Routing rules").click()
    page.get_by_label("Name").fill("acme")
    page.get_by_label("Sender domains").fill("acme..example")
    page.get_by_role("button", name="Add rule").click()
    field = page.get_by_label("Sender domains")
    expect(field).to_have_value("acme..example")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-sender_domains")).to_have_text("Not a domain: 'acme..example'.")
    assert_accessible(page, "service-desk-rules-refused")
    field.fill("acme.example")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("row", name="acme")).to_contain_text("from acme.example")
