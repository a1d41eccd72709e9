"""Runs started early by the PSAs' webhooks, through real HTTP on a loopback port: a signed Jira
webhook, an Autotask ticket webhook and an Autotask callout each ask the enabled syncs reading
their connection for one run (requests coalesce), which the worker's next tick runs; forged,
unknown or unreadable posts ask for nothing. Every Jira post to a connection with a secret is
kept raw (listed and replayed with the round trip's requests), refused ones too, and one that
cannot be stored is answered 503. Both emulators, both databases."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, text

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


def _kept(served: Served) -> list[dict[str, Any]]:
    """The sync webhook requests kept, newest first, each with its body, through the admin API
    that lists the round trip's."""
    listed = served.admin.get("/roundtrip/requests", params={"channel": "sync"})
    assert listed.status_code == 200, listed.text
    return [served.admin.get(f"/roundtrip/requests/{r['id']}").json() for r in listed.json()]


def test_a_signed_jira_webhook_is_kept_raw_with_its_verdict_and_the_run_it_asked_for(
    paired: Paired, served: Served
) -> None:
    path, secret = _jira_secret(paired, served, str(paired.b))
    body = _jira_event(10001)

    answer = httpx.post(served.base + path, content=body, headers=_jira_signed(secret, body))

    assert answer.status_code == 200, answer.text
    assert _requested(paired) is not None
    [kept] = _kept(served)
    assert (kept["endpoint"], kept["method"], kept["outcome"]) == (
        str(paired.b),
        "POST",
        "requested",
    )
    assert kept["body"] == body.decode()
    assert kept["headers"]["x-hub-signature"] == _jira_signed(secret, body)["X-Hub-Signature"]
    assert kept["parsed"] == {
        "signature": "valid",
        "event": "jira:issue_updated",
        "ticket": "10001",
        "syncs": [paired.sync_id],
    }
    assert kept["received_at"] is not None
    assert secret not in json.dumps(kept)


def test_a_wrongly_signed_jira_webhook_is_kept_refused_401_and_never_replayed(
    paired: Paired, served: Served
) -> None:
    path, secret = _jira_secret(paired, served, str(paired.b))
    body = _jira_event(10001)

    forged = httpx.post(served.base + path, content=body, headers=_jira_signed("guess", body))
    unsigned = httpx.post(served.base + path, content=body)

    assert (forged.status_code, forged.text) == (401, "signature mismatch\n")
    assert (unsigned.status_code, unsigned.text) == (401, "signature missing\n")
    assert _requested(paired) is None
    missing, mismatch = _kept(served)
    assert (mismatch["outcome"], mismatch["parsed"]) == ("rejected", {"signature": "mismatch"})
    assert (missing["outcome"], missing["parsed"]) == ("rejected", {"signature": "missing"})
    assert mismatch["body"] == body.decode()
    replayed = served.admin.post(f"/roundtrip/requests/{mismatch['id']}/replay")
    assert replayed.status_code == 409
    assert _requested(paired) is None
    assert secret not in json.dumps([missing, mismatch])


def test_malformed_json_is_kept_and_refused_400_with_a_message_and_replays_when_fixed(
    paired: Paired, served: Served
) -> None:
    path, secret = _jira_secret(paired, served, str(paired.b))

    answer = httpx.post(
        served.base + path,
        content=b'{"webhookEvent": ',
        headers=_jira_signed(secret, b'{"webhookEvent": '),
    )

    assert (answer.status_code, answer.text) == (400, "the body is not JSON\n")
    assert _requested(paired) is None
    [kept] = _kept(served)
    assert (kept["outcome"], kept["error"]) == ("unreadable", "the body is not JSON")
    assert (kept["body"], kept["parsed"]) == ('{"webhookEvent": ', {"signature": "valid"})
    assert secret not in json.dumps(kept)
    # Replayed, it is checked again (signature, then body) and still refused as unreadable.
    replayed = served.admin.post(f"/roundtrip/requests/{kept['id']}/replay")
    assert (replayed.status_code, replayed.json()["outcome"]) == (200, "unreadable")


def test_a_kept_jira_webhook_replays_while_its_secret_stands_and_not_after_a_new_one(
    paired: Paired, served: Served
) -> None:
    path, secret = _jira_secret(paired, served, str(paired.b))
    body = _jira_event(10001)
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        row.enabled = False  # nothing reads it yet: the change is kept as ignored
        session.commit()
    httpx.post(served.base + path, content=body, headers=_jira_signed(secret, body))
    [kept] = _kept(served)
    assert (kept["outcome"], kept["parsed"]["syncs"]) == ("ignored", [])
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        row.enabled = True
        session.commit()

    replayed = served.admin.post(f"/roundtrip/requests/{kept['id']}/replay")

    assert (replayed.status_code, replayed.json()["outcome"]) == (200, "requested")
    assert _requested(paired) is not None
    _jira_secret(paired, served, str(paired.b))  # a new secret: the old signature no longer holds
    again = served.admin.post(f"/roundtrip/requests/{kept['id']}/replay")
    assert again.status_code == 409
    assert "current secret" in again.json()["error"]["message"]


def test_a_jira_webhook_that_cannot_be_stored_is_answered_503_so_jira_sends_it_again(
    paired: Paired, served: Served, engine: Engine
) -> None:
    path, secret = _jira_secret(paired, served, str(paired.b))
    body = _jira_event(10001)

    with _inserts_refused(engine, "hook_requests"):
        answer = httpx.post(served.base + path, content=body, headers=_jira_signed(secret, body))

    assert answer.status_code == 503 and answer.headers["Retry-After"] == "60"
    assert _requested(paired) is None
    assert _kept(served) == []


@contextmanager
def _inserts_refused(engine: Engine, table: str) -> Iterator[None]:
    """The database refuses every insert into ``table`` (as a full disk would)."""
    if engine.dialect.name == "sqlite":
        make = [
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
        drop = [f"DROP TRIGGER refuse_{table}"]
    else:
        make = [
            "CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_insert()",
        ]
        drop = [f"DROP TRIGGER refuse_{table} ON {table}", "DROP FUNCTION refuse_insert()"]
    with engine.begin() as connection:
        for statement in make:
            connection.execute(text(statement))
    try:
        yield
    finally:
        with engine.begin() as connection:
            for statement in drop:
                connection.execute(text(statement))
