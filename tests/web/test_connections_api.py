"""The connections API as an integrator uses it: kinds and their fields, named connections,
write-only secrets that follow their destination, the ticketing default and a customer's
choice, clear 4xx answers for what cannot be done."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.factories import NOW, add_runs, add_token
from ticketbridge.core.roles import Role
from ticketbridge.storage.models import AuditEvent, Customer, SyncRow

TOKEN = "a-jira-api-token-of-the-admin"


@pytest.fixture
def api(app: FastAPI, db: sessionmaker[Session]) -> Iterator[TestClient]:
    token = add_token(db, Role.ADMIN)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def _jira(api: TestClient, name: str = "Jira") -> int:
    made = api.post("/api/v1/connections", json={"name": name, "kind": "jira"})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_each_kind_describes_its_fields_from_its_config_model(api: TestClient) -> None:
    kinds = {k["kind"]: k["connector_fields"] for k in api.get("/api/v1/connection-kinds").json()}

    assert set(kinds) == {"autotask", "jira"}
    jira = {f["name"]: f for f in kinds["jira"]}
    assert jira["api_token"]["type"] == "secret" and jira["api_token"]["default"] is None
    assert jira["deployment"]["choices"] == ["cloud", "datacenter"]
    # Jira's address shares a name with the ticket policy's link back to ticketbridge.
    assert jira["base_url"]["input_name"] == "connector.base_url"
    autotask = {f["name"]: f for f in kinds["autotask"]}
    assert autotask["secret"]["type"] == "secret" and autotask["username"]["required"]


def test_the_first_connection_is_the_ticketing_default_and_another_can_take_over(
    api: TestClient,
) -> None:
    first = _jira(api, "Jira Cloud")
    second = api.post("/api/v1/connections", json={"name": "Autotask", "kind": "autotask"})

    listed = {c["name"]: c["ticketing_default"] for c in api.get("/api/v1/connections").json()}
    assert listed == {"Jira Cloud": True, "Autotask": False}
    moved = api.post(f"/api/v1/connections/{second.json()['id']}/ticketing-default")
    assert moved.json()["ticketing_default"] is True
    assert api.get(f"/api/v1/connections/{first}").json()["ticketing_default"] is False


def test_secrets_are_write_only_and_cleared_when_their_destination_changes(
    api: TestClient, db: sessionmaker[Session]
) -> None:
    cid = _jira(api)
    url = f"/api/v1/connections/{cid}"
    connector = {"base_url": "https://one.example.net", "email": "me@example.com"}

    saved = api.put(url, json={"connector": connector | {"api_token": TOKEN}})
    kept = api.put(url, json={"connector": {"api_token": "", "issue_type": "Bug"}})
    moved = api.put(url, json={"connector": {"base_url": "https://other.example.net"}})

    assert saved.status_code == 200 and saved.json()["secret_set"] is True
    assert "api_token" not in saved.json()["connector"] and TOKEN not in saved.text
    assert kept.json()["secret_set"] is True and kept.json()["connector"]["issue_type"] == "Bug"
    assert moved.json()["secret_set"] is False  # a token is only sent where it was entered for
    with db() as session:
        details = [str(e.details) for e in session.scalars(select(AuditEvent))]
    assert not any(TOKEN in d for d in details)
    assert any(e == "jira.secret_cleared" for e in _actions(db))


def _actions(db: sessionmaker[Session]) -> list[str]:
    with db() as session:
        return [e.action for e in session.scalars(select(AuditEvent))]


def test_enabling_asks_for_what_the_kind_needs_at_its_field(api: TestClient) -> None:
    cid = _jira(api)

    refused = api.put(
        f"/api/v1/connections/{cid}",
        json={"settings": {"enabled": True}, "connector": {"base_url": "ftp://jira"}},
    )

    assert refused.status_code == 422
    fields = {f["field"] for f in refused.json()["error"]["details"]["fields"]}
    assert "base_url" in fields
    assert api.get(f"/api/v1/connections/{cid}").json()["enabled"] is False


def test_unknown_kinds_names_settings_and_connections_get_clear_answers(api: TestClient) -> None:
    _jira(api)

    assert api.post("/api/v1/connections", json={"name": "X", "kind": "zendesk"}).status_code == 422
    taken = api.post("/api/v1/connections", json={"name": "Jira", "kind": "jira"})
    assert taken.status_code == 422 and "named" in taken.text
    unknown = api.put("/api/v1/connections/1", json={"connector": {"colour": "blue"}})
    assert unknown.status_code == 422 and "colour" in unknown.text
    misplaced = api.put("/api/v1/connections/1", json={"settings": {"email": "me@example.com"}})
    assert misplaced.status_code == 422 and "settings.email" in misplaced.text
    assert api.get("/api/v1/connections/99").status_code == 404
    assert api.post("/api/v1/connections/99/test").status_code == 404


def test_a_customer_chooses_its_connection_and_a_used_connection_is_not_deleted(
    api: TestClient, db: sessionmaker[Session], app: FastAPI
) -> None:
    first = _jira(api, "Jira")
    second = _jira(api, "Jira EU")
    add_runs(db, 1, customer="Acme Logistics")

    chosen = api.put("/api/v1/customers/1/ticketing-connection", json={"connection_id": second})
    unknown = api.put("/api/v1/customers/1/ticketing-connection", json={"connection_id": 99})

    assert chosen.status_code == 204 and unknown.status_code == 404
    assert "customer.ticketing_connection" in _actions(db)
    refused = api.delete(f"/api/v1/connections/{first}")  # the default, while another exists
    assert refused.status_code == 422
    assert api.delete(f"/api/v1/connections/{second}").status_code == 204
    with db() as session:
        assert session.get(Customer, 1).ticketing_connection_id is None  # back to the default


def test_a_connection_a_sync_uses_is_not_deleted(
    api: TestClient, db: sessionmaker[Session]
) -> None:
    first, second = _jira(api, "Jira"), _jira(api, "Jira EU")
    with db() as session:
        session.add(
            SyncRow(name="EU", connection_a_id=first, connection_b_id=second, start_date=NOW)
        )
        session.commit()

    refused = api.delete(f"/api/v1/connections/{second}")

    assert refused.status_code == 422 and "sync" in refused.json()["error"]["message"]
    assert api.get(f"/api/v1/connections/{second}").status_code == 200
