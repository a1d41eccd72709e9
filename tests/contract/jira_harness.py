"""The Jira connector against the shipped Jira emulator (Cloud or Data Center), in-process.

The world behind the connector changes through the emulator's public HTTP API only: Jira's
own REST routes, as another Jira user would (worklogs, deletes, properties, labels).
Projects are fixed by the emulator's seed, so "adding a company" hands out the seeded
software project and the tests that need companies of their own say why they skip.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Callable
from datetime import datetime
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ticketbridge.connectors.psa.jira.config import JiraConfig
from ticketbridge.connectors.psa.jira.connector import JiraConnector
from ticketbridge.connectors.psa.jira.issues import PROPERTY, adf, udf_label
from ticketbridge.connectors.psa.jira.projects import JiraCache
from ticketbridge.emulators.jira import DEMO_API_TOKEN, DEMO_EMAIL, DEMO_PAT, create_app

EMULATOR_URL = "https://jira.test"
SOFTWARE_PROJECT = 10000  # OPS in the emulator's seed
PAIR = base64.b64encode(f"{DEMO_EMAIL}:{DEMO_API_TOKEN}".encode()).decode()
CLOUD = {"email": DEMO_EMAIL, "api_token": DEMO_API_TOKEN}
DATACENTER = {"deployment": "datacenter", "personal_access_token": DEMO_PAT}
# Internal notes outside a service desk need a restriction; the demo user is in this role.
Clock = Callable[[], datetime]
RESTRICTED = {"internal_visibility_type": "role", "internal_visibility_value": "Administrators"}


def jira_connector(client: TestClient, **config: Any) -> JiraConnector:
    auth = DATACENTER if config.get("deployment") == "datacenter" else CLOUD
    settings: dict[str, Any] = {"base_url": EMULATOR_URL} | auth | config
    return JiraConnector(
        JiraConfig(**settings), http_client=client, cache=JiraCache(), sleep=lambda s: None
    )


class JiraEmulatorHarness:
    # What the emulator's world cannot be made to do, with the reason a test skips.
    cannot = {
        "companies": "the Jira emulator's projects are fixed by its seed: no project can be "
        "added, renamed, archived or deleted through its API",
    }

    def __init__(
        self,
        *,
        datacenter: bool = False,
        seed: str = "demo",
        clock: Clock | None = None,
        desk: bool = False,
    ) -> None:
        app = create_app(mode="dc" if datacenter else "cloud", seed=seed, clock=clock)
        self.http = TestClient(app, base_url=EMULATOR_URL)
        # desk: companies are the organizations of the seeded service desk SUP.
        self.desk = desk
        in_desk = {"organizations_of": "SUP", "issue_type": "Service Request"} if desk else {}
        self.connector = jira_connector(
            self.http, **RESTRICTED, **(DATACENTER if datacenter else {}), **in_desk
        )
        # The service desk workflow's done status; elsewhere the first of the done category.
        self.done_status = "Resolved" if desk else None
        if desk:
            self.cannot = {
                "companies": "JSM organizations have no inactive state and no rename in the "
                "REST API; their search, paging and deletion are tested in "
                "tests/connectors/psa/jira/test_organizations.py",
            }
        auth = f"Bearer {DEMO_PAT}" if datacenter else f"Basic {PAIR}"
        self.headers = {"Authorization": auth}
        self.api = "/rest/api/2" if datacenter else "/rest/api/3"

    def _api(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self.api}/{path}"
        response = self.http.request(method, url, json=body, headers=self.headers)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def add_company(self, name: str, *, active: bool = True) -> int:
        if not self.desk:
            return SOFTWARE_PROJECT
        made = self._desk_api("POST", "organization", {"name": name})
        self._desk_api("POST", "servicedesk/1/organization", {"organizationId": int(made["id"])})
        return int(made["id"])

    def _desk_api(self, method: str, path: str, body: Any = None) -> Any:
        url = f"/rest/servicedeskapi/{path}"
        response = self.http.request(method, url, json=body, headers=self.headers)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def rename_company(self, company_id: int, name: str) -> None:
        raise NotImplementedError(self.cannot["companies"])

    def deactivate_company(self, company_id: int) -> None:
        raise NotImplementedError(self.cannot["companies"])

    def delete_company(self, company_id: int) -> None:
        raise NotImplementedError(self.cannot["companies"])

    def add_time_entry(self, ticket_id: int) -> None:
        self._api(
            "POST",
            f"issue/{ticket_id}/worklog",
            {"timeSpentSeconds": 1800, "started": "2026-01-02T10:00:00.000+0000"},
        )

    def delete_ticket(self, ticket_id: int) -> None:
        self._api("DELETE", f"issue/{ticket_id}")

    def define_udf(self, entity: str, name: str) -> None:
        pass  # our user-defined values need no definition in Jira

    def add_configuration_item(self, company_id: int, name: str, udfs: dict[str, str]) -> int:
        raise NotImplementedError("Jira keeps no configuration items")

    def set_ticket_udf(self, ticket_id: int, name: str, value: str) -> None:
        """As a person would by hand: our property and label on the issue."""
        marker = self._api("GET", f"issue/{ticket_id}/properties/{PROPERTY}")["value"]
        marker.setdefault("udfs", {})[name] = value
        self._api("PUT", f"issue/{ticket_id}/properties/{PROPERTY}", marker)
        self._api(
            "PUT", f"issue/{ticket_id}", {"update": {"labels": [{"add": udf_label(name, value)}]}}
        )

    def edit_note(self, ticket_id: int, note_id: int, text: str) -> None:
        """As a person would in the issue view: the comment's body, nothing else."""
        body = adf(text) if self.api.endswith("/3") else text
        self._api("PUT", f"issue/{ticket_id}/comment/{note_id}", {"body": body})

    def close(self) -> None:
        self.http.close()
