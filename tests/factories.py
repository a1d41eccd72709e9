"""Small builders for test data, through the same services the product uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from ticketbridge.core.roles import Role
from ticketbridge.core.statuses import RunSource, RunStatus
from ticketbridge.services.accounts import users as accounts
from ticketbridge.services.runs import ingest as run_ingest
from ticketbridge.services.runs.input import RunIn

PASSWORD = "correct-horse-battery"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def run_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "customer": "Acme Logistics",
        "job_name": "Acme VM Backup",
        "backup_product": "Veeam Backup & Replication",
        "job_type": "Backup",
        "status": "error",
        "started_at": "2026-11-20T01:00:00+00:00",
        "ended_at": "2026-11-20T01:30:00+00:00",
        "overall_remark": "",
        "objects": [
            {
                "name": "DC01",
                "type": "VM",
                "status": "error",
                "message": "Failed to create VM snapshot",
            }
        ],
    }
    payload.update(overrides)
    return payload


def add_runs(
    factory: sessionmaker[Session],
    count: int = 1,
    *,
    customer: str = "Acme Logistics",
    job_name: str = "Acme VM Backup",
    status: RunStatus = RunStatus.ERROR,
    started_at: datetime = NOW,
    step: timedelta = timedelta(hours=-24),
    source: RunSource = RunSource.API,
) -> list[int]:
    items = [
        RunIn.model_validate(
            run_payload(
                customer=customer,
                job_name=job_name,
                status=status.value,
                started_at=(started_at + step * i).isoformat(),
                ended_at=None,
            )
        )
        for i in range(count)
    ]
    results = run_ingest.ingest(factory, items, source=source, actor="test")
    return [r.run_id for r in results]


def add_user(factory: sessionmaker[Session], username: str, role: Role) -> None:
    with factory() as session:
        accounts.create_user(session, username, PASSWORD, role)
        session.commit()


def add_token(factory: sessionmaker[Session], role: Role, name: str | None = None) -> str:
    with factory() as session:
        _, plaintext = accounts.create_token(session, name or f"{role.value}-token", role, None)
        session.commit()
    return plaintext


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
