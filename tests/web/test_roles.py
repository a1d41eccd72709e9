"""Every registered route, every role: each gets exactly what it should.

Adding a route without adding it here fails the first test, so no route ships unguarded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_runs, add_token, add_user, csrf_of, login
from ticketbridge.core.roles import Permission, Role, can

PUBLIC = None
R = Permission.READ
W = Permission.REVIEW
INGEST = Permission.INGEST
A = Permission.ADMIN
D = Permission.VIEW_DASHBOARD

EXPECTED: dict[tuple[str, str], Permission | None] = {
    ("GET", "/api/v1/runs"): R,
    ("POST", "/api/v1/runs"): INGEST,
    ("GET", "/api/v1/runs/{run_id}"): R,
    ("POST", "/api/v1/runs/{run_id}/review"): W,
    ("GET", "/api/v1/runs/{run_id}/ticket"): R,
    ("POST", "/api/v1/runs/{run_id}/ticket"): W,
    ("GET", "/api/v1/runs/{run_id}/ticket/preview"): W,
    ("POST", "/api/v1/runs/{run_id}/ticket/link"): W,
    ("POST", "/api/v1/runs/{run_id}/ticket/resolve"): W,
    ("POST", "/api/v1/runs/{run_id}/ticket/manual"): W,
    ("GET", "/api/v1/runs/{run_id}/ticket/duplicates"): R,
    ("POST", "/api/v1/runs/{run_id}/ticket/duplicates/keep"): W,
    ("GET", "/api/v1/customers"): R,
    ("POST", "/api/v1/customers"): A,
    ("GET", "/api/v1/customers/{customer_id}"): R,
    ("PATCH", "/api/v1/customers/{customer_id}"): A,
    ("DELETE", "/api/v1/customers/{customer_id}"): A,
    ("GET", "/api/v1/jobs"): R,
    ("GET", "/api/v1/inbox"): R,
    ("POST", "/api/v1/inbox/{mail_id}/approve"): W,
    ("POST", "/api/v1/inbox/{mail_id}/ignore"): W,
    ("POST", "/api/v1/inbox/{mail_id}/restore"): W,
    ("POST", "/api/v1/mail/upload"): INGEST,
    ("GET", "/api/v1/mail/{mail_id}/raw"): R,
    ("GET", "/api/v1/mail/sources"): A,
    ("POST", "/api/v1/mail/sources"): A,
    ("GET", "/api/v1/mail/sources/{source_id}"): A,
    ("PATCH", "/api/v1/mail/sources/{source_id}"): A,
    ("DELETE", "/api/v1/mail/sources/{source_id}"): A,
    ("POST", "/api/v1/mail/source-tests"): A,
    ("POST", "/api/v1/mail/sources/{source_id}/test"): A,
    ("GET", "/api/v1/mail/rules"): A,
    ("POST", "/api/v1/mail/rules"): A,
    ("GET", "/api/v1/mail/rules/{rule_id}"): A,
    ("POST", "/api/v1/mail/rules/{rule_id}/apply"): A,
    ("DELETE", "/api/v1/mail/rules/{rule_id}"): A,
    # Autotask: settings and mapping are configuration (admin); reading a mapping is READ.
    ("GET", "/api/v1/integrations/{kind}"): A,
    ("PUT", "/api/v1/integrations/{kind}"): A,
    ("POST", "/api/v1/integrations/{kind}/test"): A,
    ("POST", "/api/v1/integrations/{kind}/refresh"): A,
    ("POST", "/api/v1/integrations/{kind}/validate"): A,
    ("GET", "/api/v1/integrations/{kind}/companies"): A,
    ("GET", "/api/v1/customers/{customer_id}/{kind}-company"): R,
    ("PUT", "/api/v1/customers/{customer_id}/{kind}-company"): A,
    ("DELETE", "/api/v1/customers/{customer_id}/{kind}-company"): A,
    ("GET", "/api/v1/connection-kinds"): A,
    ("GET", "/api/v1/connections"): A,
    ("POST", "/api/v1/connections"): A,
    ("GET", "/api/v1/connections/{connection_id}"): A,
    ("PUT", "/api/v1/connections/{connection_id}"): A,
    ("DELETE", "/api/v1/connections/{connection_id}"): A,
    ("POST", "/api/v1/connections/{connection_id}/ticketing-default"): A,
    ("POST", "/api/v1/connections/{connection_id}/test"): A,
    ("POST", "/api/v1/connections/{connection_id}/refresh"): A,
    ("POST", "/api/v1/connections/{connection_id}/validate"): A,
    ("GET", "/api/v1/connections/{connection_id}/reference"): A,
    ("GET", "/api/v1/connections/{connection_id}/companies"): A,
    ("GET", "/api/v1/connections/{connection_id}/mappings"): R,
    ("POST", "/api/v1/connections/{connection_id}/validate-mappings"): A,
    ("PUT", "/api/v1/connections/{connection_id}/mappings/{customer_id}"): A,
    ("DELETE", "/api/v1/connections/{connection_id}/mappings/{customer_id}"): A,
    ("PUT", "/api/v1/customers/{customer_id}/ticketing-connection"): A,
    ("GET", "/api/v1/syncs"): D,
    ("POST", "/api/v1/syncs"): A,
    ("GET", "/api/v1/syncs/{sync_id}"): D,
    ("PUT", "/api/v1/syncs/{sync_id}"): A,
    ("PATCH", "/api/v1/syncs/{sync_id}"): A,
    ("DELETE", "/api/v1/syncs/{sync_id}"): A,
    ("POST", "/api/v1/syncs/{sync_id}/run"): A,
    ("GET", "/api/v1/syncs/{sync_id}/runs"): D,
    ("GET", "/api/v1/syncs/{sync_id}/failures"): D,
    ("GET", "/api/v1/syncs/{sync_id}/conflicts"): D,
    ("GET", "/api/v1/syncs/{sync_id}/flagged"): D,
    ("GET", "/api/v1/sync-hooks"): A,
    ("POST", "/api/v1/sync-hooks"): A,
    ("DELETE", "/api/v1/sync-hooks/{connection_id}"): A,
    ("POST", "/api/v1/syncs/{sync_id}/flagged/{reference_id}/clear"): A,
    ("POST", "/api/v1/syncs/{sync_id}/flagged/{reference_id}/forget"): A,
    ("POST", "/api/v1/syncs/{sync_id}/dry-run"): A,
    ("GET", "/syncs"): D,
    ("GET", "/syncs/new"): A,
    ("POST", "/syncs"): A,
    ("GET", "/syncs/{sync_id}"): D,
    ("POST", "/syncs/{sync_id}"): A,
    ("POST", "/syncs/{sync_id}/dry-run"): A,
    ("POST", "/syncs/{sync_id}/run"): A,
    ("POST", "/syncs/{sync_id}/delete"): A,
    ("POST", "/syncs/{sync_id}/flagged/{reference_id}/{action}"): A,
    ("GET", "/api/v1/tickets"): R,
    ("POST", "/api/v1/tickets"): W,
    ("GET", "/api/v1/tickets/{ticket_id}"): R,
    ("POST", "/api/v1/tickets/{ticket_id}/comments"): W,
    ("GET", "/api/v1/boards"): R,
    ("GET", "/api/v1/categories"): R,
    ("GET", "/api/v1/service-desk/mailboxes"): R,
    ("GET", "/api/v1/service-desk/mailboxes/{source_id}"): R,
    ("PUT", "/api/v1/service-desk/mailboxes/{source_id}"): A,
    ("DELETE", "/api/v1/service-desk/mailboxes/{source_id}"): A,
    # The Autotask round trip: configuration and the requests received are admin business.
    ("GET", "/api/v1/roundtrip"): A,
    ("PUT", "/api/v1/roundtrip/settings"): A,
    ("POST", "/api/v1/roundtrip/callouts"): A,
    ("PATCH", "/api/v1/roundtrip/callouts/{callout_id}"): A,
    ("GET", "/api/v1/roundtrip/requests"): A,
    ("GET", "/api/v1/roundtrip/requests/{request_id}"): A,
    ("POST", "/api/v1/roundtrip/requests/{request_id}/replay"): A,
    ("POST", "/api/v1/roundtrip/webhooks"): A,
    ("DELETE", "/api/v1/roundtrip/webhooks/{registration_id}"): A,
    ("POST", "/api/v1/roundtrip/poll"): A,
    # RMM alerts (docs/alerts.md): reading is READ, acting and explaining are operator work,
    # reporting one is INGEST, sources and their CustomerID mappings are configuration.
    ("GET", "/api/v1/alerts"): R,
    ("POST", "/api/v1/alerts"): INGEST,
    ("POST", "/api/v1/alert-explanations"): W,
    ("GET", "/api/v1/alerts/{alert_id}"): R,
    ("POST", "/api/v1/alerts/{alert_id}/actions"): W,
    ("GET", "/api/v1/alerts/sources"): A,
    ("POST", "/api/v1/alerts/sources"): A,
    ("PATCH", "/api/v1/alerts/sources/{source_id}"): A,
    ("POST", "/api/v1/alerts/sources/{source_id}/mappings"): A,
    ("DELETE", "/api/v1/alerts/sources/{source_id}/mappings/{mapping_id}"): A,
    ("GET", "/alerts"): R,
    ("POST", "/alerts/{alert_id}/action"): W,
    ("GET", "/alerts/explain"): W,
    ("POST", "/alerts/explain"): W,
    ("GET", "/service-desk"): R,
    ("GET", "/service-desk/conversations/{conversation_id}/ticket"): R,
    ("GET", "/service-desk/filtered"): R,
    ("POST", "/service-desk/filtered/{desk_mail_id}/create"): W,
    ("GET", "/service-desk/rules"): A,
    ("POST", "/service-desk/rules"): A,
    ("GET", "/service-desk/rules/{rule_id}"): A,
    ("POST", "/service-desk/rules/{rule_id}"): A,
    ("POST", "/service-desk/rules/{rule_id}/delete"): A,
    ("GET", "/service-desk/mailboxes"): A,
    ("GET", "/service-desk/mailboxes/{source_id}"): A,
    ("POST", "/service-desk/mailboxes/{source_id}"): A,
    ("POST", "/service-desk/mailboxes/{source_id}/delete"): A,
    ("GET", "/admin/alert-sources"): A,
    ("POST", "/admin/alert-sources"): A,
    ("POST", "/admin/alert-sources/{source_id}"): A,
    ("POST", "/admin/alert-sources/{source_id}/mappings"): A,
    ("POST", "/admin/alert-sources/{source_id}/mappings/{mapping_id}/delete"): A,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/login/sso/{name}"): PUBLIC,
    ("GET", "/login/sso/{name}/callback"): PUBLIC,
    ("GET", "/admin/sso"): A,
    ("GET", "/"): D,
    ("GET", "/run-checks"): R,
    ("POST", "/run-checks/review"): W,
    ("GET", "/run-checks/confirm"): W,
    ("POST", "/run-checks/unreview"): W,
    ("GET", "/jobs"): R,
    ("GET", "/jobs/{job_id}"): R,
    ("GET", "/jobs/{job_id}/runs/{run_id}"): R,
    ("GET", "/runs/{run_id}/ticket/create"): W,
    ("POST", "/runs/{run_id}/ticket/create"): W,
    ("POST", "/runs/{run_id}/ticket/resolve"): W,
    ("POST", "/runs/{run_id}/ticket/link"): W,
    ("POST", "/runs/{run_id}/ticket/manual"): W,
    ("GET", "/runs/{run_id}/ticket/open"): R,
    ("POST", "/runs/{run_id}/ticket/duplicates/keep"): W,
    ("GET", "/customers"): R,
    ("POST", "/customers"): A,
    ("GET", "/customers/{customer_id}"): A,
    ("POST", "/customers/{customer_id}"): A,
    ("GET", "/admin/users"): A,
    ("POST", "/admin/users"): A,
    ("POST", "/admin/users/{user_id}"): A,
    ("GET", "/admin/tokens"): A,
    ("POST", "/admin/tokens"): A,
    ("POST", "/admin/tokens/{token_id}/revoke"): A,
    ("GET", "/admin/audit"): A,
    ("GET", "/admin/settings"): A,
    ("POST", "/admin/settings"): A,
    ("GET", "/admin/connections"): A,
    ("POST", "/admin/connections"): A,
    ("GET", "/admin/connections/{connection_id}"): A,
    ("POST", "/admin/connections/{connection_id}"): A,
    ("POST", "/admin/connections/{connection_id}/test"): A,
    ("POST", "/admin/connections/{connection_id}/refresh"): A,
    ("POST", "/admin/connections/{connection_id}/validate"): A,
    ("POST", "/admin/connections/{connection_id}/ticketing-default"): A,
    ("POST", "/admin/connections/{connection_id}/delete"): A,
    ("POST", "/admin/connections/{connection_id}/mappings/validate"): A,
    ("GET", "/admin/connections/{connection_id}/suggestions"): A,
    ("GET", "/admin/integrations/{kind}"): A,
    ("POST", "/admin/integrations/{kind}"): A,
    ("GET", "/admin/integrations/{kind}/{action}"): A,
    ("POST", "/admin/integrations/{kind}/{action}"): A,
    ("GET", "/customers/{customer_id}/psa"): A,
    ("POST", "/customers/{customer_id}/psa"): A,
    ("POST", "/customers/{customer_id}/psa/unmap"): A,
    ("POST", "/customers/{customer_id}/psa/acknowledge"): A,
    ("POST", "/customers/{customer_id}/psa/ticketing-connection"): A,
    ("GET", "/customers/{customer_id}/autotask"): A,
    ("POST", "/customers/{customer_id}/autotask"): A,
    ("POST", "/customers/{customer_id}/autotask/unmap"): A,
    ("POST", "/customers/{customer_id}/autotask/acknowledge"): A,
    ("GET", "/admin/integrations/autotask/round-trip"): A,
    ("POST", "/admin/integrations/autotask/round-trip/settings"): A,
    ("POST", "/admin/integrations/autotask/round-trip/callouts"): A,
    ("POST", "/admin/integrations/autotask/round-trip/callouts/{callout_id}"): A,
    ("POST", "/admin/integrations/autotask/round-trip/callouts/{callout_id}/delete"): A,
    ("POST", "/admin/integrations/autotask/round-trip/webhooks"): A,
    ("POST", "/admin/integrations/autotask/round-trip/webhooks/{registration_id}/remove"): A,
    ("POST", "/admin/integrations/autotask/round-trip/poll"): A,
    ("GET", "/admin/integrations/autotask/round-trip/requests"): A,
    ("GET", "/admin/integrations/autotask/round-trip/requests/{request_id}"): A,
    ("POST", "/admin/integrations/autotask/round-trip/requests/{request_id}/replay"): A,
    ("GET", "/inbox"): R,
    ("GET", "/inbox/{mail_id}"): R,
    ("GET", "/inbox/{mail_id}/raw"): R,
    ("GET", "/runs/{run_id}/mail.eml"): R,
    ("POST", "/inbox/{mail_id}/approve"): W,
    ("GET", "/inbox/{mail_id}/ignore"): W,
    ("POST", "/inbox/{mail_id}/ignore"): W,
    ("POST", "/inbox/{mail_id}/restore"): W,
    ("POST", "/inbox/upload"): INGEST,
    ("GET", "/admin/mail-sources"): A,
    ("POST", "/admin/mail-sources"): A,
    ("GET", "/admin/mail-sources/new"): A,
    ("POST", "/admin/mail-sources/test"): A,
    ("GET", "/admin/mail-sources/{source_id}"): A,
    ("POST", "/admin/mail-sources/{source_id}"): A,
    ("POST", "/admin/mail-sources/{source_id}/test"): A,
    ("POST", "/admin/mail-sources/{source_id}/delete"): A,
    ("POST", "/admin/mail-sources/{source_id}/poll"): A,
    ("GET", "/admin/mail-rules"): A,
    ("POST", "/admin/mail-rules"): A,
    ("POST", "/admin/mail-rules/{rule_id}/apply"): A,
    ("POST", "/admin/mail-rules/{rule_id}/delete"): A,
    ("GET", "/daily-jobs"): R,
    ("POST", "/jobs/{job_id}/schedule"): W,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    # Inbound Autotask webhooks: no session by design; each request proves itself with its
    # signature (tests/web/test_hooks_*.py). Callouts never reach these routes: the outermost
    # ASGI receiver answers them with basic credentials (tests/web/test_callouts_served.py).
    ("POST", "/hooks/autotask/webhooks/{registration_id}"): PUBLIC,
    ("POST", "/hooks/autotask/webhooks/{registration_id}/deactivated"): PUBLIC,
    ("POST", "/hooks/graph/notifications/{source_id}"): PUBLIC,
    ("POST", "/hooks/jira/{connection}"): PUBLIC,
}


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            # FastAPI includes routers lazily: the prefix lives on the include context.
            yield from _walk(included.routes, prefix + route.include_context.prefix)
        else:
            yield prefix + getattr(route, "path", ""), route


def registered(app: FastAPI) -> set[tuple[str, str]]:
    found = set()
    for path, route in _walk(app.routes):
        methods = getattr(route, "methods", None) or set()
        for method in methods - {"HEAD", "OPTIONS"}:
            found.add((method, path))
    return found


def test_every_registered_route_has_an_expected_permission(app: FastAPI) -> None:
    assert registered(app) == set(EXPECTED)


def test_every_api_route_is_documented_in_openapi(app: FastAPI) -> None:
    api_paths = {path for path, route in _walk(app.routes) if path.startswith("/api/v1/")}
    api_paths.discard("/api/v1/openapi.json")
    assert api_paths <= set(app.openapi()["paths"])


def _url(path: str, ids: dict[str, int | str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", str(value))
    return path


@pytest.fixture
def ids(db: sessionmaker[Session]) -> dict[str, int | str]:
    [run_id] = add_runs(db, 1)
    return {
        "run_id": run_id, "job_id": 1, "customer_id": 1, "user_id": 1, "token_id": 1,
        "callout_id": 1, "request_id": 1, "registration_id": 1, "connection_id": 1,
        "kind": "autotask", "action": "test", "sync_id": 1, "conversation_id": 1,
        "desk_mail_id": 1, "ticket_id": 1,
    }  # fmt: skip


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_exactly_its_routes(
    app: FastAPI, db: sessionmaker[Session], ids: dict[str, int | str], role: Role
) -> None:
    add_user(db, f"user-{role.value}", role)
    token = add_token(db, role)
    with TestClient(app) as client:
        assert login(client, f"user-{role.value}").status_code == 303
        csrf = csrf_of(client.get("/login").text)
        for (method, path), permission in EXPECTED.items():
            if permission is None or path == "/logout":
                continue
            url = _url(path, ids)
            if path.startswith("/api/"):
                response = client.request(
                    method, url, headers={"Authorization": f"Bearer {token}"}, json={}
                )
            else:
                data = {"csrf_token": csrf} if method == "POST" else None
                response = client.request(method, url, data=data, follow_redirects=False)
            allowed = can(role, permission)
            if allowed:
                assert response.status_code not in (401, 403), (method, path, role)
            else:
                assert response.status_code == 403, (method, path, role, response.status_code)


def test_without_credentials_api_says_401_and_pages_redirect_to_login(
    app: FastAPI, ids: dict[str, int | str]
) -> None:
    with TestClient(app) as client:
        csrf = csrf_of(client.get("/login").text)
        for (method, path), permission in EXPECTED.items():
            if permission is None:
                continue
            url = _url(path, ids)
            if path.startswith("/api/"):
                response = client.request(method, url, json={})
                assert response.status_code == 401, (method, path)
                assert response.json()["error"]["code"] == "unauthorized"
            else:
                data = {"csrf_token": csrf} if method == "POST" else None
                response = client.request(method, url, data=data, follow_redirects=False)
                assert response.status_code == 303, (method, path)
                assert response.headers["location"].startswith("/login")


def test_public_pages_answer_without_credentials(app: FastAPI) -> None:
    with TestClient(app) as client:
        for method, path in EXPECTED:
            # Hooks answer 401 or 404 without their credentials (test_hooks_*.py); a single
            # sign-on path names a configured provider (test_sso.py).
            public = EXPECTED[(method, path)] is None and method == "GET"
            if public and "/hooks/" not in path and "{" not in path:
                assert client.get(path).status_code == 200, path
