from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import add_token
from tests.services.autotask_world import AutotaskWorld, add_customers, demo_settings
from ticketbridge.core.roles import Role
from ticketbridge.emulators.autotask import DEMO_API_SECRET
from ticketbridge.storage.models import AuditEvent

URL = "/api/v1/integrations/autotask"
SETTING_FIELDS = {
    "enabled",
    "environment",
    "api_host",
    "username",
    "secret_set",
    "integration_code",
    "base_url",
    "default_queue_id",
    "default_source_id",
    "default_status_id",
    "priority_warning_id",
    "priority_error_id",
    "allow_resolve",
    "allow_manual_ticket_numbers",
    "allow_success_tickets",
    "logging_level",
    "title_prefix",
    "max_listed_objects",
    "timeout_seconds",
    "create_timeout_seconds",
    "usage",  # the request governor's gauge, read-only
    # the connection the kind's address leads to
    "id",
    "name",
    "kind",
}


@pytest.fixture
def world(app: FastAPI) -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    made.attach(app.state.ctx)
    yield made
    made.close()


@pytest.fixture
def api(app: FastAPI, db: sessionmaker[Session], world: AutotaskWorld) -> Iterator[TestClient]:
    token = add_token(db, Role.ADMIN)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def _configure(api: TestClient, **overrides: Any) -> dict[str, Any]:
    response = api.put(URL, json=demo_settings(**overrides))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_get_and_put_carry_exactly_the_documented_fields_and_never_the_secret(
    api: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert api.get(URL).json()["secret_set"] is False

    saved = _configure(api, allow_resolve=True)
    kept = api.put(URL, json={"secret": "", "logging_level": "summary"}).json()
    fetched = api.get(URL)

    assert set(saved) == SETTING_FIELDS
    assert saved["secret_set"] is True and saved["allow_resolve"] is True
    assert kept["secret_set"] is True and kept["logging_level"] == "summary"
    assert fetched.json() == kept
    assert DEMO_API_SECRET not in fetched.text
    assert DEMO_API_SECRET not in caplog.text
    assert DEMO_API_SECRET not in api.get("/api/v1/openapi.json").text


def test_invalid_settings_are_refused_with_422_and_every_field_named(api: TestClient) -> None:
    response = api.put(
        URL, json={"enabled": True, "environment": "custom", "base_url": "not a url"}
    )

    assert response.status_code == 422
    fields = {f["field"] for f in response.json()["error"]["details"]["fields"]}
    assert fields == {"api_host", "username", "secret", "integration_code", "base_url"}
    assert api.get(URL).json()["enabled"] is False


def test_unknown_fields_and_enum_values_are_refused(api: TestClient) -> None:
    assert api.put(URL, json={"password": "x"}).status_code == 422
    assert api.put(URL, json={"environment": "staging"}).status_code == 422


def test_actions_answer_409_and_send_nothing_while_disabled(
    api: TestClient, world: AutotaskWorld
) -> None:
    _configure(api, enabled=False)

    for path in ("/test", "/refresh"):
        response = api.post(URL + path)
        assert response.status_code == 409
        assert "disabled" in response.json()["error"]["message"]
    assert api.get(URL + "/companies", params={"search": "acme"}).status_code == 409
    assert world.requests() == []


def test_test_refresh_and_validate_report_their_results(api: TestClient) -> None:
    _configure(api)

    tested = api.post(URL + "/test").json()
    refreshed = api.post(URL + "/refresh").json()
    validated = api.post(URL + "/validate").json()

    assert tested["ok"] is True
    assert set(tested["steps"]) == {"zone", "authenticated", "reference_access"}
    assert refreshed["counts"]["priority"] == 4
    assert refreshed["preselected"]["priority_error_id"] == 1
    assert validated["ok"] is True
    assert validated["problems"] == []


def test_a_refused_secret_is_a_502_with_autotasks_status_not_a_500(
    api: TestClient, db: sessionmaker[Session]
) -> None:
    _configure(api, secret="wrong-secret")

    refreshed = api.post(URL + "/refresh")
    tested = api.post(URL + "/test").json()

    assert refreshed.status_code == 502
    assert refreshed.json()["error"]["details"]["remote_status"] == 401
    assert tested["ok"] is False and tested["steps"]["authenticated"]["ok"] is False
    with db() as session:
        outcomes = set(
            session.scalars(
                select(AuditEvent.outcome).where(
                    AuditEvent.action.in_(["autotask.reference.refresh", "autotask.test"])
                )
            )
        )
    assert outcomes == {"failed"}


def test_an_unavailable_autotask_is_a_503_with_retry_after(
    api: TestClient, world: AutotaskWorld
) -> None:
    _configure(api)
    api.post(URL + "/test")
    world.fault(kind="status", status=429, count=10, retry_after=120)

    response = api.post(URL + "/refresh")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "120"


def test_companies_are_searched_paged_and_mapped_by_id(
    api: TestClient, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    _configure(api)
    [customer] = add_customers(db, "Brightwater")

    first = api.get(URL + "/companies", params={"search": "o", "page_size": 2}).json()
    second = api.get(
        URL + "/companies", params={"search": "o", "page_size": 2, "cursor": first["next_cursor"]}
    ).json()
    mapped = api.put(f"/api/v1/customers/{customer}/autotask-company", json={"company_id": 102})
    world.rename_company(102, "Brightwater Dental Group")
    api.post("/api/v1/integrations/autotask/validate")
    read = api.get(f"/api/v1/customers/{customer}/autotask-company").json()

    assert len(first["items"]) == 2 and first["next_cursor"]
    assert {c["id"] for c in first["items"]}.isdisjoint({c["id"] for c in second["items"]})
    assert set(first["items"][0]) == {"id", "name", "active"}
    assert mapped.status_code == 200
    assert mapped.json()["company_name"] == "Brightwater Dental"
    assert read["status"] == "ok"  # validate configuration does not touch mappings

    removed = api.delete(f"/api/v1/customers/{customer}/autotask-company")
    assert removed.status_code == 204
    assert api.get(f"/api/v1/customers/{customer}/autotask-company").json()["status"] == "missing"


def test_mapping_to_a_company_autotask_does_not_have_is_a_422(
    api: TestClient, db: sessionmaker[Session]
) -> None:
    _configure(api)
    [customer] = add_customers(db, "Nobody")

    response = api.put(f"/api/v1/customers/{customer}/autotask-company", json={"company_id": 4242})
    missing_customer = api.put("/api/v1/customers/9999/autotask-company", json={"company_id": 102})

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "company_id"
    assert missing_customer.status_code == 404
