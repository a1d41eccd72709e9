"""Runs started early by the PSAs' webhooks, through real HTTP on a loopback port: a signed Jira
webhook, an Autotask ticket webhook and an Autotask callout each ask the enabled syncs reading
their connection for one run (requests coalesce), which the worker's next tick runs; forged,
unknown or unreadable posts ask for nothing. Both emulators, both databases."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from sqlalchemy import Engine, select

from tests.factories import add_token
from tests.services.sync.conftest import Paired
from tests.services.sync.support import OPS, new_ticket, titles
from tests.web.live_server import serve
from ticketbridge.core.roles import Role
from ticketbridge.emulators.autotask.hooks import signature as autotask_signature
from ticketbridge.services.roundtrip import config as roundtrip_config
from ticketbridge.settings import Settings
from ticketbridge.storage.models import PsaConnection, WebhookRegistration
from ticketbridge.storage.models.sync import SyncRow
from ticketbridge.web.app import create_app
from ticketbridge.worker import tasks


@dataclass
class Served:
    base: str
    admin: httpx.Client


@pytest.fixture
def served(paired: Paired, settings: Settings, engine: Engine) -> Iterator[Served]:
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        row.enabled, row.dry_run_at = True, paired.clock.now
        session.commit()
    app = create_app(settings, engine=engine, clock=paired.clock)
    paired.world.attach(app.state.ctx)
    token = add_token(paired.db, Role.ADMIN)
    with serve(app) as base_url:
        admin = httpx.Client(
            base_url=f"{base_url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        with admin:
            yield Served(base_url, admin)


def _requested(paired: Paired) -> datetime | None:
    with paired.db() as session:
        return session.scalar(select(SyncRow.run_requested_at).where(SyncRow.id == paired.sync_id))


def _jira_event(issue_id: int, event: str = "jira:issue_updated") -> bytes:
    return json.dumps(
        {
            "timestamp": 1764650000000,
            "webhookEvent": event,
            "issue_event_type_name": "issue_generic",
            "issue": {"id": str(issue_id), "key": f"OPS-{issue_id}", "fields": {}},
        }
    ).encode()


def _jira_signed(secret: str, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def _jira_secret(paired: Paired, served: Served, connection: str) -> tuple[str, str]:
    made = served.admin.post("/sync-hooks", json={"connection": connection})
    assert made.status_code == 201, made.text
    return made.json()["path"], made.json()["secret"]


def test_a_signed_jira_webhook_asks_for_one_run_which_the_worker_runs(
    paired: Paired, served: Served
) -> None:
    path, secret = _jira_secret(paired, served, str(paired.b))
    assert path == f"/hooks/jira/{paired.b}"
    issue = new_ticket(paired.runtime, paired.b, OPS, "Tape drive offline", queue=None)
    body = _jira_event(issue)

    first = httpx.post(served.base + path, content=body, headers=_jira_signed(secret, body))
    asked_at = _requested(paired)
    paired.clock.advance(seconds=20)
    again = httpx.post(served.base + path, content=body, headers=_jira_signed(secret, body))

    assert (first.status_code, first.text) == (200, "1 sync(s) asked to run\n")
    assert again.status_code == 200
    assert asked_at is not None and _requested(paired) == asked_at  # one pending request
    tasks.sync_run_requested(paired.runtime)  # the worker's next minute tick
    assert _requested(paired) is None
    since = paired.clock.now.replace(year=paired.clock.now.year - 1)
    assert titles(paired.runtime, paired.a, since).count("Tape drive offline") == 1
    [hook] = served.admin.get("/sync-hooks").json()
    assert hook["last_received_at"] is not None and "secret" not in hook


def test_forged_unknown_and_unreadable_jira_posts_ask_for_nothing(
    paired: Paired, served: Served
) -> None:
    with paired.db() as session:
        jira_name = session.scalar(select(PsaConnection.name).where(PsaConnection.id == paired.b))
    assert jira_name is not None
    path, secret = _jira_secret(paired, served, jira_name)
    body = _jira_event(10001)
    by_name = f"/hooks/jira/{jira_name}"

    forged = httpx.post(served.base + path, content=body, headers=_jira_signed("guess", body))
    unsigned = httpx.post(served.base + by_name, content=body)
    other = httpx.post(
        served.base + f"/hooks/jira/{paired.a}", content=body, headers=_jira_signed(secret, body)
    )
    not_json = httpx.post(served.base + path, content=b"{", headers=_jira_signed(secret, b"{"))
    project = _jira_event(1, event="project_created")
    ignored = httpx.post(
        served.base + by_name, content=project, headers=_jira_signed(secret, project)
    )

    assert (forged.status_code, unsigned.status_code, other.status_code) == (401, 401, 404)
    assert (not_json.status_code, ignored.status_code) == (400, 200)
    assert ignored.text.startswith("ignored")
    assert _requested(paired) is None
    refused = served.admin.post("/sync-hooks", json={"connection": str(paired.a)})
    assert refused.status_code == 422  # Autotask reports changes through the round trip
    assert served.admin.delete(f"/sync-hooks/{paired.b}").status_code == 204
    gone = httpx.post(served.base + path, content=body, headers=_jira_signed(secret, body))
    assert gone.status_code == 404


def test_a_jira_change_asks_only_enabled_syncs_reading_jira(paired: Paired, served: Served) -> None:
    path, secret = _jira_secret(paired, served, str(paired.b))
    body = _jira_event(10001)
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        row.b_to_a = False  # A -> B only: a Jira change is nothing this sync reads
        session.commit()

    answer = httpx.post(served.base + path, content=body, headers=_jira_signed(secret, body))

    assert (answer.status_code, answer.text) == (200, "0 sync(s) asked to run\n")
    assert _requested(paired) is None


def test_an_autotask_callout_asks_the_syncs_reading_autotask_for_a_run(
    paired: Paired, served: Served
) -> None:
    ticket = new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS30")
    with paired.db() as session:
        _, password = roundtrip_config.create_callout(
            session, paired.runtime.secret_box, name="autotask", username="autotask",
            fmt="name_value", udf_filter=None, actor="test", now=paired.clock.now,
        )  # fmt: skip
        session.commit()

    answer = httpx.get(
        f"{served.base}/hooks/autotask/callouts/autotask?id={ticket}&status=New",
        auth=("autotask", password),
    )

    assert answer.status_code == 200, answer.text
    assert _requested(paired) is not None
    tasks.sync_run_requested(paired.runtime)
    since = paired.clock.now.replace(year=paired.clock.now.year - 1)
    assert titles(paired.runtime, paired.b, since).count("Backup failed on FS30") == 1


def test_an_autotask_ticket_webhook_asks_for_a_run_and_a_forged_one_does_not(
    paired: Paired, served: Served
) -> None:
    ticket = new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS31")
    with paired.db() as session:
        registration = WebhookRegistration(
            name="sync test",
            webhook_url="",
            deactivation_url="",
            secret_encrypted=paired.runtime.secret_box.encrypt("s3cret-key"),
            state="ready",
            created_by="test",
            created_at=paired.clock.now,
        )
        session.add(registration)
        session.commit()
        url = f"{served.base}/hooks/autotask/webhooks/{registration.id}"
    body = json.dumps(
        {"Action": "Update", "EntityType": "Ticket", "Id": ticket, "Fields": {"Status": "1"}}
    ).encode()

    forged = httpx.post(url, content=body, headers={"X-Hook-Signature": "sha1=AAAA"})
    assert forged.status_code == 401 and _requested(paired) is None
    signed = httpx.post(
        url, content=body, headers={"X-Hook-Signature": autotask_signature("s3cret-key", body)}
    )

    assert signed.status_code == 200, signed.text
    assert _requested(paired) is not None
