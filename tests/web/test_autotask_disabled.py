"""Issue 4 item 6: while the Autotask integration is disabled, nothing reaches Autotask.

Complete credentials are stored (so a missing ``enabled`` check would send), every outbound
request goes to a transport that records and refuses it, and then every page, every API route
of the integration and every background job runs.
"""

from __future__ import annotations

import inspect
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_runs, add_token, add_user, csrf_of, login
from tests.services.autotask_world import configure
from tests.web.test_roles import EXPECTED
from ticketbridge.core.roles import Role
from ticketbridge.services.connections import named
from ticketbridge.storage.models import CompanyMappingRow, ReferenceValue
from ticketbridge.worker.tasks import TASKS


class RefusingTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self.attempts: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts.append(f"{request.method} {request.url}")
        raise httpx.ConnectError("outbound requests are forbidden in this test", request=request)


def _seed(db: sessionmaker[Session]) -> dict[str, int | str]:
    [run_id] = add_runs(db, 1)
    with db() as session:
        connection = named.get(session, None)
        session.add(CompanyMappingRow(connection_id=connection.id, customer_id=1, company_id=101))
        session.add(
            ReferenceValue(connection_id=connection.id, category="queue", value_id=5, name="Q")
        )
        session.commit()
    ids: dict[str, int | str] = {
        "run_id": run_id,
        "job_id": 1,
        "customer_id": 1,
        "user_id": 1,
        "token_id": 1,
    }
    ids |= {"connection_id": connection.id, "kind": "autotask", "action": "test"}
    return ids | {"mail_id": 1, "source_id": 1, "rule_id": 1}


def _url(path: str, ids: dict[str, int | str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", str(value))
    return path


def _run_every_job(app: FastAPI) -> None:
    runtime = app.state.ctx
    for name, body in TASKS.items():
        params = list(inspect.signature(body).parameters.values())[1:]
        kwargs: dict[str, Any] = {p.name: 1 for p in params if p.default is inspect.Parameter.empty}
        try:
            body(runtime, **kwargs)
        except Exception as exc:  # a job may fail on test data; it must not have sent anything
            assert not isinstance(exc, httpx.ConnectError), name


def test_disabled_integration_sends_nothing_from_any_page_api_route_or_job(
    app: FastAPI, db: sessionmaker[Session]
) -> None:
    refusing = RefusingTransport()
    app.state.ctx.psa_transport = refusing
    configure(app.state.ctx, enabled=False)
    ids = _seed(db)
    add_user(db, "admin", Role.ADMIN)
    token = add_token(db, Role.ADMIN)

    with TestClient(app) as client:
        assert login(client, "admin").status_code == 303
        csrf = csrf_of(client.get("/login").text)
        for method, path in EXPECTED:
            if method != "GET" or path.startswith("/api/"):
                continue
            response = client.get(_url(path, ids), follow_redirects=False)
            assert response.status_code < 500, (path, response.status_code)
        # The pages that search Autotask when asked to
        assert client.get("/customers/1/autotask", params={"search": "acme"}).status_code == 200
        for path in ("test", "refresh", "validate", "mappings/validate"):
            response = client.post(
                f"/admin/connections/{ids['connection_id']}/{path}",
                data={"csrf_token": csrf},
                follow_redirects=False,
            )
            assert response.status_code == 303, path
        client.post("/customers/1/autotask", data={"csrf_token": csrf, "company_id": "102"})

        api = {"Authorization": f"Bearer {token}"}
        for method, path in EXPECTED:
            remote = any(part in path for part in ("{kind}", "connection"))
            if path.startswith("/api/v1/") and (remote or method == "GET"):
                body = {"company_id": 102} if path.endswith("-company") else {}
                response = client.request(
                    method, _url(path, ids), headers=api, json=body, params={"search": "a"}
                )
                assert response.status_code < 500, (method, path, response.status_code)

    _run_every_job(app)

    assert refusing.attempts == []
