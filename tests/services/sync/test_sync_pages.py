"""The Syncs pages as an admin and an operator meet them: the list with each sync's last run and
watermarks; the form refusing bad input beside the field while keeping what was typed; and a
sync's page with its runs' counts, an item waiting for its retry and the conflict log; the
change webhooks received, reached from the list and replayed."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from tests.factories import add_user, csrf_of, login
from tests.services.sync.conftest import Paired
from tests.services.sync.support import SYNC, jira_refuses_titles_with, new_ticket
from ticketbridge.core.roles import Role
from ticketbridge.services.sync import hooks as sync_hooks
from ticketbridge.services.sync import run as sync_run
from ticketbridge.settings import Settings
from ticketbridge.storage.models.sync import SyncReference, SyncRow
from ticketbridge.web.app import create_app


@pytest.fixture
def app_client(paired: Paired, settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine=engine, clock=paired.clock)
    paired.world.attach(app.state.ctx)
    add_user(paired.db, "ada", Role.ADMIN)
    add_user(paired.db, "otto", Role.OPERATOR)
    with TestClient(app) as client:
        yield client


def _as(client: TestClient, username: str) -> str:
    assert login(client, username).status_code == 303
    return csrf_of(client.get("/syncs").text)


def test_the_list_shows_each_sync_with_its_last_run_and_watermarks(
    paired: Paired, app_client: TestClient
) -> None:
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS11")
    sync_run.run(paired.runtime, SYNC)
    _as(app_client, "otto")

    page = app_client.get("/syncs").text

    assert SYNC in page and "succeeded" in page and "disabled" in page
    row = page[page.index(f'id="sync-{paired.sync_id}"') :].split("</tr>")[0]
    assert row.count("—") == 0  # both directions have a watermark after the run
    assert "New sync" not in page  # operators read, admins make


def test_a_refused_form_shows_each_error_beside_its_field_and_keeps_the_typing(
    paired: Paired, app_client: TestClient
) -> None:
    token = _as(app_client, "ada")
    form = {
        "csrf_token": token,
        "name": "Second sync",
        "connection_a": str(paired.a),
        "connection_b": str(paired.b),
        "a_to_b": "true",
        "start_date": "yesterday",
        "interval_seconds": "300",
        "scope_a": "12, 13",
        "mapping.a_to_b.status.rows": "1=10000\nnot a row",
    }

    answer = app_client.post("/syncs", data=form)

    assert answer.status_code == 422
    assert 'id="start_date-error"' in answer.text
    assert 'id="mapping-a_to_b-status-rows-error"' in answer.text
    assert 'value="yesterday"' in answer.text and "not a row" in answer.text
    assert 'value="12, 13"' in answer.text
    form |= {"start_date": "2026-11-20T08:00", "mapping.a_to_b.status.rows": "1=10000"}
    refused = app_client.post("/syncs", data=form | {"connection_b": str(paired.a)})
    assert refused.status_code == 422 and 'id="connection_b-error"' in refused.text
    made = app_client.post("/syncs", data=form, follow_redirects=False)
    assert made.status_code == 303
    with paired.db() as session:
        row = session.scalar(select(SyncRow).where(SyncRow.name == "Second sync"))
        assert row is not None
        assert (row.a_to_b, row.b_to_a, row.scope_a) == (True, False, {"company_ids": [12, 13]})
        assert row.mapping["a_to_b"]["status"] == {"rows": {"1": "10000"}, "default": None}


def test_a_syncs_page_shows_runs_retries_and_conflicts(
    paired: Paired, app_client: TestClient
) -> None:
    paired.world.routes.refuse = jira_refuses_titles_with("POISON")
    new_ticket(paired.runtime, paired.a, paired.acme, "POISON ticket")
    ticket = new_ticket(paired.runtime, paired.a, paired.acme, "Backup slow on FS12")
    sync_run.run(paired.runtime, SYNC)
    with paired.db() as session:
        entry = session.scalar(select(SyncReference))
        assert entry is not None
    paired.clock.advance(minutes=1)
    paired.world.retitle_jira_issue(int(entry.b_id), "FS12 (Jira)")
    paired.clock.advance(minutes=1)
    paired.world.retitle_autotask_ticket(ticket, "FS12 (Autotask)")
    paired.clock.advance(minutes=1)
    sync_run.run(paired.runtime, SYNC)
    _as(app_client, "otto")

    page = app_client.get(f"/syncs/{paired.sync_id}").text

    runs = page[page.index('id="sync-runs"') :]
    assert "created 1" in runs and "failed 1" in runs
    assert "The summary is not allowed." in runs and "(retry " in runs
    failures = page[page.index('id="sync-failures"') :].split("</table>")[0]
    assert "The summary is not allowed." in failures
    conflicts = page[page.index('id="sync-conflicts"') :].split("</table>")[0]
    assert "FS12 (Autotask)" in conflicts and "FS12 (Jira)" in conflicts
    assert "side A" in conflicts
    assert "<button" not in page.split('id="sync-form"')[1].split("</form>")[0]
    token = csrf_of(page)
    refused = app_client.post(f"/syncs/{paired.sync_id}/run", data={"csrf_token": token})
    assert refused.status_code == 403


def test_an_admin_enables_a_sync_only_after_its_dry_run(
    paired: Paired, app_client: TestClient
) -> None:
    token = _as(app_client, "ada")
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS13")
    page = app_client.get(f"/syncs/{paired.sync_id}").text
    assert 'id="needs-dry-run"' in page
    form = {
        "csrf_token": token,
        "name": SYNC,
        "a_to_b": "true",
        "b_to_a": "true",
        "enabled": "true",
        "start_date": (paired.clock.now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "interval_seconds": "300",
    }

    refused = app_client.post(f"/syncs/{paired.sync_id}", data=form)
    diff = app_client.post(f"/syncs/{paired.sync_id}/dry-run", data={"csrf_token": token})
    saved = app_client.post(f"/syncs/{paired.sync_id}", data=form, follow_redirects=False)

    assert refused.status_code == 422 and 'id="enabled-error"' in refused.text
    assert diff.status_code == 200
    assert "Backup failed on FS13" in diff.text.split('id="dry-run-sample"')[1]
    assert saved.status_code == 303
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None and row.enabled


def test_an_admin_finds_the_jira_webhooks_received_from_the_syncs_page_and_replays_one(
    paired: Paired, app_client: TestClient
) -> None:
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        row.enabled, row.dry_run_at = True, paired.clock.now
        _, secret = sync_hooks.make_secret(
            paired.runtime, session, str(paired.b), actor="test", now=paired.clock.now
        )
        session.commit()
    body = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "10001"}}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    posted = app_client.post(
        f"/hooks/jira/{paired.b}", content=body, headers={"X-Hub-Signature": signature}
    )
    assert posted.status_code == 200, posted.text
    token = _as(app_client, "ada")

    syncs = app_client.get("/syncs").text
    link = syncs.split('id="sync-hook-requests"')[0].rsplit('href="', 1)[1].split('"')[0]
    listing = app_client.get(link.replace("&amp;", "&")).text

    row = listing[listing.index("<tbody>") :].split("</tr>")[0]
    assert ">sync<" in row and f">{paired.b}<" in row and "requested" in row
    request_id = row.split("/requests/")[1].split('"')[0]
    detail = app_client.get(f"/admin/integrations/autotask/round-trip/requests/{request_id}").text
    assert "x-hub-signature" in detail and "jira:issue_updated" in detail and secret not in detail
    replayed = app_client.post(
        f"/admin/integrations/autotask/round-trip/requests/{request_id}/replay",
        data={"csrf_token": token},
    )
    assert replayed.status_code == 200 and "Replayed: requested." in replayed.text
