"""The Autotask connector against the shipped emulator, mounted in-process.

Only the emulator's public HTTP API is used: the Autotask REST routes through the connector,
and its admin routes under /_emulator/ to change the world behind the connector's back.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ticketbridge.connectors.psa.autotask.client import AutotaskCache
from ticketbridge.connectors.psa.autotask.connector import AutotaskConfig, AutotaskConnector
from ticketbridge.emulators.autotask import (
    DEMO_API_SECRET,
    DEMO_API_USER,
    DEMO_INTEGRATION_CODE,
    create_app,
)

Clock = Callable[[], datetime]
EMULATOR_URL = "http://emulator.test"
DEMO_RESOURCE_ID = 31  # a seeded technician; companies and time entries need one
DEMO_ROLE_ID = 29683400  # "Technician" in the demo seed
API_HEADERS = {
    "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
    "UserName": DEMO_API_USER,
    "Secret": DEMO_API_SECRET,
}


def emulator_client(seed: str = "demo", clock: Clock | None = None) -> TestClient:
    return TestClient(create_app(seed=seed, clock=clock), base_url=EMULATOR_URL)


def emulator_connector(
    client: httpx.Client, *, cache: AutotaskCache | None = None, **config: Any
) -> AutotaskConnector:
    settings: dict[str, Any] = {
        "environment": "custom",
        "api_host": EMULATOR_URL,
        "username": DEMO_API_USER,
        "secret": DEMO_API_SECRET,
        "integration_code": DEMO_INTEGRATION_CODE,
    } | config
    return AutotaskConnector(
        AutotaskConfig(**settings), http_client=client, cache=cache, sleep=lambda s: None
    )


class AutotaskEmulatorHarness:
    def __init__(self, seed: str = "demo", clock: Clock | None = None) -> None:
        self.http = emulator_client(seed, clock)
        self.connector = emulator_connector(self.http)

    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_emulator/{path}", json=body)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def add_company(self, name: str, *, active: bool = True) -> int:
        made = self._admin(
            "POST",
            "companies",
            {
                "companyName": name,
                "companyType": 1,
                "phone": "555-0199",
                "ownerResourceID": DEMO_RESOURCE_ID,
                "isActive": active,
            },
        )
        return int(made["itemId"])

    def rename_company(self, company_id: int, name: str) -> None:
        self._admin("PATCH", f"companies/{company_id}", {"companyName": name})

    def deactivate_company(self, company_id: int) -> None:
        self._admin("PATCH", f"companies/{company_id}", {"isActive": False})

    def delete_company(self, company_id: int) -> None:
        self._admin("DELETE", f"companies/{company_id}")

    def add_time_entry(self, ticket_id: int) -> None:
        self._admin(
            "POST",
            "time-entries",
            {
                "ticketID": ticket_id,
                "resourceID": DEMO_RESOURCE_ID,
                "roleID": DEMO_ROLE_ID,
                "hoursWorked": 0.5,
            },
        )

    def delete_ticket(self, ticket_id: int) -> None:
        self._admin("DELETE", f"tickets/{ticket_id}")

    def define_udf(self, entity: str, name: str) -> None:
        known = self._admin("GET", f"udfs/{entity}")["fields"]
        if name not in {field["name"] for field in known}:
            self._admin("POST", f"udfs/{entity}", {"name": name})

    def add_configuration_item(self, company_id: int, name: str, udfs: dict[str, str]) -> int:
        # Through the REST API, as an RMM's device sync would (the admin API has no route).
        response = self.http.post(
            "/ATServicesRest/V1.0/ConfigurationItems",
            headers=API_HEADERS,
            json={
                "companyID": company_id,
                "configurationItemCategoryID": 101,
                "productID": 1,
                "isActive": True,
                "referenceTitle": name,
                "userDefinedFields": [{"name": k, "value": v} for k, v in udfs.items()],
            },
        )
        assert response.is_success, response.text
        return int(response.json()["itemId"])

    def set_ticket_udf(self, ticket_id: int, name: str, value: str) -> None:
        self._admin(
            "PATCH", f"tickets/{ticket_id}", {"userDefinedFields": [{"name": name, "value": value}]}
        )

    def edit_note(self, ticket_id: int, note_id: int, text: str) -> None:
        """As a technician would: the note's text, through the child route notes are
        written by (the top-level TicketNotes takes no writes)."""
        response = self.http.patch(
            f"/ATServicesRest/V1.0/Tickets/{ticket_id}/Notes",
            headers=API_HEADERS,
            json={"id": note_id, "title": text.splitlines()[0], "description": text},
        )
        assert response.is_success, response.text

    def add_note(self, ticket_id: int, text: str, publish: int) -> int:
        """A note with any publish value, as the Autotask UI may make one."""
        made = self._admin(
            "POST", f"tickets/{ticket_id}/notes", {"description": text, "publish": publish}
        )
        return int(made["itemId"])

    def close(self) -> None:
        self.http.close()
