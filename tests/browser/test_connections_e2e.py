"""An admin adds a Jira connection beside Autotask in a real browser, sends one customer's run
tickets to it, and an OPS ticket is created from a run (issue 12, items 1, 5 and 6).

The app, the Autotask emulator (the first connection, the ticketing default) and the Jira Cloud
emulator are each served on a loopback port; the admin types the Jira emulator's address into
the connection's form, so the product reaches Jira over real HTTP as it would a Jira site.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.artifacts import sign_in
from tests.browser.conftest import serve as serve_app
from tests.factories import NOW, PASSWORD, add_runs, add_user
from tests.services.autotask_world import configure
from tests.web.serving import serve
from ticketbridge.core.roles import Role
from ticketbridge.emulators.autotask import create_app as create_autotask
from ticketbridge.emulators.jira import DEMO_API_TOKEN, DEMO_EMAIL
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.settings import Settings
from ticketbridge.storage.models import Job, Run
from ticketbridge.web.app import create_app

pytestmark = pytest.mark.browser

CUSTOMER = "Juniper Accounting"
JIRA_AUTH = "Basic " + base64.b64encode(f"{DEMO_EMAIL}:{DEMO_API_TOKEN}".encode()).decode()


@pytest.fixture
def jira_url() -> Iterator[str]:
    with serve(create_jira(mode="cloud", seed="demo")) as url:
        yield url


@pytest.fixture
def app_url(settings: Settings, engine: Engine, db: sessionmaker[Session]) -> Iterator[str]:
    """The product with its first connection, Autotask on its own loopback emulator."""
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    with serve(create_autotask(seed="demo")) as autotask_url:
        configure(app.state.ctx, api_host=autotask_url)
        yield from serve_app(app)


def _run_of(db: sessionmaker[Session], run_id: int) -> tuple[int, int]:
    """(customer id, job id) of the run."""
    with db() as session:
        found = session.execute(
            select(Job.customer_id, Job.id).join(Run, Run.job_id == Job.id).where(Run.id == run_id)
        ).one()
    return int(found[0]), int(found[1])


def test_admin_connects_jira_and_a_customers_run_ticket_is_created_there(
    app_url: str, jira_url: str, page: Page, db: sessionmaker[Session]
) -> None:
    # app_url and jira_url first: both are served before Playwright's loop runs here.
    [run_id] = add_runs(db, 1, customer=CUSTOMER, job_name="Ledger Backup")
    customer_id, job_id = _run_of(db, run_id)
    add_user(db, "ada.admin", Role.ADMIN)
    sign_in(page, app_url, "ada.admin", PASSWORD)

    # Settings > Connections: a new Jira connection, disabled until its form is filled in.
    page.goto(f"{app_url}/admin/settings")
    page.get_by_role("link", name="PSA connections").click()
    expect(page.locator("#connections")).to_contain_text("Autotask")
    page.get_by_label("Name").fill("Jira")
    page.get_by_label("Kind").select_option(label="Jira")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jira")
    expect(page.get_by_role("status").first).to_contain_text("created; it is disabled")

    # The form's fields are the Jira config model's own.
    token = page.get_by_label("Api token")
    expect(token).to_have_attribute("type", "password")
    expect(page.get_by_label("Deployment")).to_have_value("cloud")
    page.locator('input[name="connector.base_url"]').fill(jira_url)
    page.get_by_label("Email").fill(DEMO_EMAIL)
    token.fill(DEMO_API_TOKEN)
    page.get_by_label("ticketbridge base URL").fill("https://ticketbridge.example.com")
    page.get_by_label("Enable this connection").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("Jira settings saved.")
    # The token is kept, never shown again: the field is empty and says it is set.
    expect(page.locator("form.card label", has=page.get_by_label("Api token"))).to_contain_text(
        "set; leave empty to keep"
    )
    expect(page.get_by_label("Api token")).to_have_value("")
    assert DEMO_API_TOKEN not in page.content()

    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#action-result")).to_contain_text("Test connection: ok")
    page.get_by_role("button", name="Refresh reference data").click()
    expect(page.locator("#action-result")).to_contain_text("Refresh reference data: ok")
    # Ticket defaults from Jira's own lists (queues are issue types); the token stays set.
    page.get_by_label("Queue").select_option(label="Task")
    page.get_by_label("Status").select_option(label="To Do")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("Jira settings saved.")
    expect(page.get_by_label("Queue")).to_have_value(re.compile(r"\d+"))

    # The customer's PSA page: its run tickets go to Jira, and it maps to Operations there.
    page.goto(f"{app_url}/customers/{customer_id}/psa")
    choice = page.locator("#ticketing-connection")
    choice.get_by_label("Run tickets go to").select_option(label="Jira (jira)")
    choice.get_by_role("button", name="Save").click()
    expect(page.locator("#ticketing-connection")).to_contain_text("Now: Jira.")
    page.get_by_label("Name contains").fill("Oper")
    page.get_by_role("button", name="Search").click()
    result = page.get_by_role("row").filter(has_text="Operations")
    expect(result).to_contain_text("10000")
    result.get_by_role("button", name="Map to this company").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Mapped to Jira company Operations (10000)."
    )

    # The run: Create says where it creates, and the ticket shows its Jira key and "Jira".
    page.goto(f"{app_url}/jobs/{job_id}/runs/{run_id}")
    cell = page.locator(f"#ticket-{run_id}")
    cell.get_by_role("link", name="Create Jira ticket").click()
    expect(page.locator("#preview-company")).to_contain_text("Operations")
    page.get_by_role("button", name="Create Jira ticket").click()
    number = cell.locator(".ticket-number")
    expect(number).to_have_text(re.compile(r"^OPS-\d+$"))
    key = number.inner_text()
    expect(cell.get_by_role("status")).to_contain_text(f"{key} created")
    expect(cell.locator(".ticket-psa")).to_have_text("Jira")
    expect(cell.get_by_role("link", name=key)).to_have_attribute("href", f"{jira_url}/browse/{key}")

    # Run Checks names the PSA too (a page of one job shows its runs open).
    page.get_by_role("link", name="Run Checks").click()
    job = page.locator(f"#job-{job_id}")
    expect(job.locator("summary")).to_contain_text(key)
    expect(job.locator(f"#ticket-{run_id} .ticket-psa")).to_have_text("Jira")
    expect(job.get_by_role("link", name=key)).to_be_visible()

    # The issue is in Jira, in the project the customer was mapped to.
    issue = httpx.get(
        f"{jira_url}/rest/api/3/issue/{key}", headers={"Authorization": JIRA_AUTH}
    ).json()
    assert issue["fields"]["project"]["key"] == "OPS"
    assert issue["fields"]["issuetype"]["name"] == "Task"
    assert "Ledger Backup" in issue["fields"]["summary"]
