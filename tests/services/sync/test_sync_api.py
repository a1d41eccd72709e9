"""The syncs API as an admin or an integrator reads it: the syncs with their last run, a
sync's runs with their counts and errors, and the dry run, which writes nothing anywhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from tests.factories import add_token
from tests.services.sync.conftest import Paired
from tests.services.sync.support import SYNC, new_ticket, titles
from ticketbridge.core.roles import Role
from ticketbridge.services.sync import run as sync_run
from ticketbridge.settings import Settings
from ticketbridge.storage.models.sync import SyncReference, SyncRun
from ticketbridge.web.app import create_app


@pytest.fixture
def api(paired: Paired, settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine, clock=paired.clock)
    paired.world.attach(app.state.ctx)
    token = add_token(paired.db, Role.ADMIN)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def _count(paired: Paired, model: type) -> int:
    with paired.db() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_dry_run_says_what_a_run_would_create_and_writes_nothing(
    paired: Paired, api: TestClient
) -> None:
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS01")

    answer = api.post(f"/api/v1/syncs/{paired.sync_id}/dry-run")

    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["counts"]["b.ticket.create"] == 1
    assert [p["label"] for p in plan["sample"]] == ["Backup failed on FS01"]
    since = paired.clock.now.replace(year=paired.clock.now.year - 1)
    assert "Backup failed on FS01" not in titles(paired.runtime, paired.b, since)
    assert (_count(paired, SyncRun), _count(paired, SyncReference)) == (0, 0)


def test_runs_are_listed_newest_first_with_their_counts(paired: Paired, api: TestClient) -> None:
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS02")
    assert api.get(f"/api/v1/syncs/{paired.sync_id}/runs").json() == []
    sync_run.run(paired.runtime, SYNC)

    listed = api.get("/api/v1/syncs").json()
    runs = api.get(f"/api/v1/syncs/{paired.sync_id}/runs").json()

    assert [(s["id"], s["last_status"]) for s in listed] == [(paired.sync_id, "succeeded")]
    assert runs[0]["status"] == "succeeded"
    assert runs[0]["counts"]["a_to_b.ticket"]["created"] == 1
    assert api.get("/api/v1/syncs/99/runs").status_code == 404
