"""The syncs API served on a loopback port, as an admin's script meets it: a sync made with its
tables and scope, bad input answered 422 at the field, enabling refused until a dry run was
seen, a run asked for and started by the worker, deletion refused while a run holds the sync,
and operators reading without changing anything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from tests.factories import add_token
from tests.services.sync.conftest import Paired
from tests.services.sync.support import OPS, new_ticket
from tests.web.live_server import serve
from ticketbridge.core.roles import Role
from ticketbridge.services.sync import store
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app
from ticketbridge.worker import tasks


@dataclass
class Served:
    admin: httpx.Client
    operator: httpx.Client


@pytest.fixture
def served(paired: Paired, settings: Settings, engine: Engine) -> Iterator[Served]:
    app = create_app(settings, engine=engine, clock=paired.clock)
    paired.world.attach(app.state.ctx)
    tokens = {role: add_token(paired.db, role) for role in (Role.ADMIN, Role.OPERATOR)}
    with serve(app) as base_url:
        clients = [
            httpx.Client(
                base_url=f"{base_url}/api/v1",
                headers={"Authorization": f"Bearer {tokens[role]}"},
                timeout=30,
            )
            for role in (Role.ADMIN, Role.OPERATOR)
        ]
        try:
            yield Served(*clients)
        finally:
            for client in clients:
                client.close()


def _new(paired: Paired, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Acme both ways",
        "connection_a": "Autotask",
        "connection_b": "Jira",
        "start_date": (paired.clock.now.replace(microsecond=0)).isoformat(),
        "scope_a": {"company_ids": [paired.acme]},
        "scope_b": {"company_ids": [OPS]},
        "mapping": {
            "a_to_b": {
                "company": {"rows": {str(paired.acme): str(OPS)}},
                "status": {"rows": {"1": "10000"}, "default": "10000"},
            },
            "b_to_a": {"company": {"rows": {str(OPS): str(paired.acme)}}},
        },
        "entities": {"contacts": True},
    }
    return body | overrides


def _fields(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [f["field"] for f in answer.json()["error"]["details"]["fields"]]


def test_a_sync_made_through_the_api_keeps_its_tables_scope_and_switches(
    paired: Paired, served: Served
) -> None:
    made = served.admin.post("/syncs", json=_new(paired))

    assert made.status_code == 201, made.text
    sync = made.json()
    assert (sync["connection_a_id"], sync["connection_b_id"]) == (paired.a, paired.b)
    assert sync["mapping"]["a_to_b"]["status"] == {"rows": {"1": "10000"}, "default": "10000"}
    assert sync["scope_b"] == {"company_ids": [OPS], "queue_ids": []}
    assert sync["entities"] == {"contacts": True, "teams": False, "categories": False}
    assert (sync["enabled"], sync["dry_run_at"]) == (False, None)
    listed = {s["name"]: s for s in served.operator.get("/syncs").json()}
    assert listed["Acme both ways"]["enabled"] is False
    assert listed["Acme both ways"]["watermark_a_to_b"] is None


def test_bad_input_is_refused_at_the_field_it_names(paired: Paired, served: Served) -> None:
    naive = paired.clock.now.replace(tzinfo=None).isoformat()
    assert _fields(served.admin.post("/syncs", json=_new(paired, start_date=naive))) == [
        "start_date"
    ]
    assert _fields(served.admin.post("/syncs", json=_new(paired, connection_a="Nowhere"))) == [
        "connection_a"
    ]
    assert _fields(served.admin.post("/syncs", json=_new(paired, connection_b="Autotask"))) == [
        "connection_b"
    ]
    bad_scope = _new(paired, scope_a={"company_ids": ["Acme"]})
    assert _fields(served.admin.post("/syncs", json=bad_scope)) == ["scope_a.company_ids.0"]
    no_direction = _new(paired, a_to_b=False, b_to_a=False)
    assert _fields(served.admin.post("/syncs", json=no_direction)) == ["a_to_b"]
    sync_id = paired.sync_id
    moved = served.admin.patch(f"/syncs/{sync_id}", json={"connection_b": "Autotask"})
    assert _fields(moved) == ["connection_b"]
    assert _fields(served.admin.patch(f"/syncs/{sync_id}", json={"interval_seconds": 5})) == [
        "interval_seconds"
    ]


def test_a_sync_is_enabled_only_after_a_dry_run(paired: Paired, served: Served) -> None:
    sync_id = paired.sync_id
    assert _fields(served.admin.post("/syncs", json=_new(paired, enabled=True))) == ["enabled"]
    refused = served.admin.patch(f"/syncs/{sync_id}", json={"enabled": True})
    assert _fields(refused) == ["enabled"]
    assert "dry run first" in refused.json()["error"]["message"]

    assert served.admin.post(f"/syncs/{sync_id}/dry-run").status_code == 200
    enabled = served.admin.patch(f"/syncs/{sync_id}", json={"enabled": True})

    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["enabled"] is True
    assert enabled.json()["dry_run_at"] is not None


def test_a_run_asked_for_is_accepted_and_started_by_the_worker(
    paired: Paired, served: Served
) -> None:
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS07")
    sync_id = paired.sync_id

    asked = served.admin.post(f"/syncs/{sync_id}/run")
    assert asked.status_code == 202, asked.text
    assert served.admin.get(f"/syncs/{sync_id}").json()["run_requested_at"] is not None
    tasks.sync_run_requested(paired.runtime)  # the worker's minute tick
    tasks.sync_run_requested(paired.runtime)  # taken once: no second run

    runs = served.operator.get(f"/syncs/{sync_id}/runs").json()
    assert [(r["status"], r["counts"]["a_to_b.ticket"]["created"]) for r in runs] == [
        ("succeeded", 1)
    ]
    assert served.admin.get(f"/syncs/{sync_id}").json()["run_requested_at"] is None
    listed = served.operator.get("/syncs").json()
    assert listed[0]["watermark_a_to_b"] is not None


def test_a_sync_is_not_deleted_while_a_run_holds_it(paired: Paired, served: Served) -> None:
    sync_id = paired.sync_id
    assert store.acquire(paired.db, sync_id, paired.clock.now)

    refused = served.admin.delete(f"/syncs/{sync_id}")

    assert refused.status_code == 409, refused.text
    store.release(paired.db, sync_id)
    assert served.admin.delete(f"/syncs/{sync_id}").status_code == 204
    assert served.admin.get(f"/syncs/{sync_id}").status_code == 404


def test_operators_read_syncs_but_change_nothing(paired: Paired, served: Served) -> None:
    sync_id = paired.sync_id
    for path in ("/syncs", f"/syncs/{sync_id}", f"/syncs/{sync_id}/runs"):
        assert served.operator.get(path).status_code == 200, path
    for path in (f"/syncs/{sync_id}/failures", f"/syncs/{sync_id}/conflicts"):
        assert served.operator.get(path).json() == [], path
    refusals = [
        served.operator.post("/syncs", json=_new(paired)),
        served.operator.patch(f"/syncs/{sync_id}", json={"name": "Renamed"}),
        served.operator.put(f"/syncs/{sync_id}", json=_new(paired)),
        served.operator.delete(f"/syncs/{sync_id}"),
        served.operator.post(f"/syncs/{sync_id}/run"),
        served.operator.post(f"/syncs/{sync_id}/dry-run"),
    ]
    assert [r.status_code for r in refusals] == [403] * len(refusals)


def test_put_replaces_a_syncs_settings_and_patch_changes_only_what_is_sent(
    paired: Paired, served: Served
) -> None:
    sync_id = paired.sync_id
    body = _new(paired, name="Renamed", b_to_a=False, entities={"teams": True})

    put = served.admin.put(f"/syncs/{sync_id}", json=body)
    patched = served.admin.patch(f"/syncs/{sync_id}", json={"scope_b": {"company_ids": []}})

    assert put.status_code == 200, put.text
    assert patched.status_code == 200, patched.text
    sync = served.admin.get(f"/syncs/{sync_id}").json()
    assert (sync["name"], sync["a_to_b"], sync["b_to_a"]) == ("Renamed", True, False)
    assert sync["entities"] == {"contacts": False, "teams": True, "categories": False}
    assert sync["mapping"]["a_to_b"]["status"]["default"] == "10000"
    assert (sync["scope_a"], sync["scope_b"]) == (
        {"company_ids": [paired.acme], "queue_ids": []},
        {"company_ids": [], "queue_ids": []},
    )
