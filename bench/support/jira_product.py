"""A Jira connection in a product that already has its Autotask one, against the Jira Cloud
emulator in-process: the emulator, its request log, and the admin's setup (connection enabled
with an internal-note restriction, reference data loaded, ticket defaults chosen by name, one
customer mapped to project OPS and its run tickets sent to Jira)."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from ticketbridge.emulators.autotask import InProcessTransport
from ticketbridge.emulators.jira import DEMO_API_TOKEN, DEMO_EMAIL
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.connections import mapping, named, setup
from ticketbridge.services.runtime import Runtime

JIRA_URL = "https://jira.test"
OPS = 10000  # the emulator's seeded software project, "Operations"
AUTH = "Basic " + base64.b64encode(f"{DEMO_EMAIL}:{DEMO_API_TOKEN}".encode()).decode()


class JiraWorld:
    """The Jira Cloud emulator; ``transport`` is what the product's requests go through, and
    ``http`` reads its log and acts as another Jira user, uncounted by the product's side."""

    def __init__(self) -> None:
        self.transport = InProcessTransport(create_jira(mode="cloud", seed="demo"))
        self.http = httpx.Client(
            transport=self.transport, base_url=JIRA_URL, headers={"Authorization": AUTH}
        )

    def requests(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.http.get("/_emulator/requests").json()
        return found

    def forget_requests(self) -> None:
        self.http.delete("/_emulator/requests").raise_for_status()

    def log_work(self, issue_id: int) -> None:
        done = self.http.post(
            f"/rest/api/3/issue/{issue_id}/worklog", json={"timeSpentSeconds": 900}
        )
        done.raise_for_status()

    def close(self) -> None:
        self.http.close()
        self.transport.close()


def connect_jira(runtime: Runtime, customer_id: int, base_url: str) -> int:
    """The Jira connection, the customer's run tickets going there; its id."""
    done = setup.connect(
        runtime,
        name="Jira",
        kind="jira",
        connector={
            "base_url": JIRA_URL,
            "email": DEMO_EMAIL,
            "api_token": DEMO_API_TOKEN,
            "internal_visibility_type": "role",
            "internal_visibility_value": "Administrators",
        },
        base_url=base_url,
        actor="bench",
        options={"allow_resolve": True},
        defaults_by_name={
            "default_queue_id": "Task",
            "default_status_id": "To Do",
            "priority_warning_id": "Medium",
            "priority_error_id": "High",
        },
    )
    mapping.map_customer(runtime, customer_id, OPS, actor="bench", connection_id=done.connection_id)
    with runtime.session_factory() as session:
        named.choose_for_customer(session, customer_id, done.connection_id, actor="bench")
        session.commit()
    return done.connection_id
