"""The product wired to the Autotask emulator, in-process, for service and web tests.

Outbound PSA traffic goes through ``Runtime.psa_transport``; the emulator's admin API
(``/_emulator/...``) changes the world behind the product's back and shows its request log.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from ticketbridge.emulators.autotask import (
    DEMO_API_SECRET,
    DEMO_API_USER,
    DEMO_INTEGRATION_CODE,
    InProcessTransport,
    create_app,
)
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime

EMULATOR_URL = "http://emulator.test"
BASE_URL = "https://ticketbridge.example.com"


def demo_settings(**overrides: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "environment": "custom",
        "api_host": EMULATOR_URL,
        "username": DEMO_API_USER,
        "secret": DEMO_API_SECRET,
        "integration_code": DEMO_INTEGRATION_CODE,
        "base_url": BASE_URL,
    } | overrides


class AutotaskWorld:
    """One emulator; ``attach`` points a product runtime at it."""

    def __init__(self, seed: str = "demo") -> None:
        self.transport = InProcessTransport(create_app(seed=seed))
        self.http = httpx.Client(transport=self.transport, base_url=EMULATOR_URL)

    def attach(self, runtime: Runtime) -> Runtime:
        runtime.psa_transport = self.transport
        return runtime

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_emulator/{path}", json=body)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def requests(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.admin("GET", "requests")["requests"]
        return found

    def forget_requests(self) -> None:
        self.admin("DELETE", "requests")

    def rename_company(self, company_id: int, name: str) -> None:
        self.admin("PATCH", f"companies/{company_id}", {"companyName": name})

    def deactivate_company(self, company_id: int) -> None:
        self.admin("PATCH", f"companies/{company_id}", {"isActive": False})

    def delete_company(self, company_id: int) -> None:
        self.admin("DELETE", f"companies/{company_id}")

    def fault(self, **spec: Any) -> None:
        self.admin("POST", "faults", spec)

    def close(self) -> None:
        self.http.close()
        self.transport.close()


def configure(runtime: Runtime, **overrides: Any) -> None:
    with runtime.session_factory() as session:
        integration_settings.save(
            session,
            runtime.secret_box,
            demo_settings(**overrides),
            actor="test",
            now=NOW,
            kind="autotask",
        )
        session.commit()


def add_customers(db: sessionmaker[Session], *names: str) -> list[int]:
    with db() as session:
        ids = [catalog.create_customer(session, name, actor="test").id for name in names]
        session.commit()
    return ids
