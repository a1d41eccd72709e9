"""The Mailboxes tab in a real browser: an admin makes a mail source that read backup reports a
service-desk mailbox targeting the Jira connection, first meeting a refused field with the
typing kept; a mail then delivered to the mailbox becomes a ticket in the Jira emulator.
axe-core checks the list and the form.

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
from tests.services.service_desk.conftest import JIRA_URL, Jira, add_mail_source, connect_jira, mail
from ticketbridge.core.roles import Role
from ticketbridge.emulators.autotask import InProcessTransport
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk.process import Handled, process_pending
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app

pytestmark = pytest.mark.browser


@dataclass
class Served:
    url: str
    runtime: Runtime
    jira: Jira
    connection: str
    source_id: int

    def deliver(self, raw: bytes) -> list[Handled]:
        """A mail arrives in the mailbox and the worker handles it, in another thread: the
        in-process emulator runs an event loop, and Playwright's sync API keeps one here."""

        def handle() -> list[Handled]:
            with self.runtime.session_factory() as session:
                mail_intake.accept(session, raw, now=NOW, source_id=self.source_id)
                session.commit()
            return process_pending(self.runtime)

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(handle).result()

    def issues(self) -> list[dict[str, Any]]:
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(self.jira.issues).result()


@pytest.fixture
def served(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Iterator[Served]:
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    runtime: Runtime = app.state.ctx
    transport = InProcessTransport(create_jira(seed="empty"))
    runtime.psa_transport = transport
    with runtime.session_factory() as session:
        connection = connect_jira(session, runtime, JIRA_URL)
        source = add_mail_source(session, runtime)
        session.commit()
        name, source_id = connection.name, source.id
    add_user(db, "ada.admin", Role.ADMIN)
    jira = Jira(httpx.Client(transport=transport, base_url=JIRA_URL))
    for url in serve(app):
        yield Served(url, runtime, jira, name, source_id)
    jira.http.close()
    transport.close()


def test_an_admin_makes_a_source_a_desk_mailbox_and_its_mail_becomes_a_jira_ticket(
    served: Served, page: Page
) -> None:
    page.set_viewport_size(VIEWPORT)
    sign_in(page, served.url, "ada.admin", PASSWORD)
    page.goto(f"{served.url}/service-desk")
    page.get_by_role("navigation", name="Service desk").get_by_role(
        "link", name="Mailboxes"
    ).click()
    row = page.get_by_role("row", name="Support mailbox")
    expect(row).to_contain_text("Backup reports")
    assert_accessible(page, "service-desk-mailboxes")
    row.get_by_role("link", name="Make a desk mailbox").click()

    page.get_by_label("Target connection").select_option(label=served.connection)
    # Before a connection is saved nothing lists its boards: a project key typed by hand.
    page.get_by_label("Default board").fill("SUP")  # Jira boards are project ids
    page.get_by_label("Default category").fill("general")
    page.get_by_label("Mailbox addresses").fill("support@msp.example")
    page.get_by_role("button", name="Save").click()

    boards = page.get_by_label("Default board")
    expect(boards).to_have_value("SUP")
    expect(page.get_by_role("alert")).to_contain_text("field(s) to correct")
    expect(page.get_by_label("Mailbox addresses")).to_have_value("support@msp.example")
    assert_accessible(page, "service-desk-mailbox-refused")
    # The chosen connection now offers its projects: the one typed is kept, marked unlisted.
    expect(boards.locator("option:checked")).to_have_text("SUP (not listed by the connection)")
    boards.select_option(label="Support (10001)")
    page.get_by_role("button", name="Save").click()

    row = page.get_by_role("row", name="Support mailbox")
    expect(row).to_contain_text("Service desk")
    expect(row).to_contain_text(served.connection)
    [handled] = served.deliver(mail(1))
    assert [(i["key"], i["fields"]["summary"]) for i in served.issues()] == [
        (handled.ticket_key, "Printer on floor 2 is offline")
    ]
