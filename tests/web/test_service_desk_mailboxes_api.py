"""The service-desk mailboxes API through the product served by uvicorn, as an integrator uses
it: a mail source made a desk mailbox and changed; every problem at its field at once; the
relay's password never returned, kept on a blank, forgotten when the relay changes or on
request; the purpose taken away only when no history would be lost; each role refused what it
may not do."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, add_token
from tests.web.live_server import serve
from ticketbridge.core.roles import Role
from ticketbridge.storage.models import AuditEvent, ServiceDeskConversation, ServiceDeskMailbox

MAILBOXES = "/api/v1/service-desk/mailboxes"
RELAY_PASSWORD = "relay-password-of-the-desk"


@dataclass
class Api:
    admin: httpx.Client
    operator: httpx.Client
    viewer: httpx.Client
    connection_id: int
    source_id: int


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture
def api(app: FastAPI, db: sessionmaker[Session]) -> Iterator[Api]:
    tokens = {role: add_token(db, role) for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER)}
    with serve(app) as url:
        admin = _client(url, tokens[Role.ADMIN])
        made = admin.post("/api/v1/connections", json={"name": "Jira Cloud", "kind": "jira"})
        assert made.status_code == 201, made.text
        source = admin.post(
            "/api/v1/mail/sources",
            json={
                "kind": "imap",
                "name": "Support mailbox",
                "config": {"host": "127.0.0.1", "security": "plain", "username": "support"},
                "secret": "imap-pw",
            },
        )
        assert source.status_code == 201, source.text
        operator, viewer = _client(url, tokens[Role.OPERATOR]), _client(url, tokens[Role.VIEWER])
        yield Api(admin, operator, viewer, made.json()["id"], source.json()["id"])
        for client in (admin, operator, viewer):
            client.close()


def _body(api: Api, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "connection_id": api.connection_id,
        "default_board": "10001",
        "default_category": "general",
        "categories": ["general", "hardware"],
        "labels": ["mail"],
        "addresses": ["support@msp.example"],
        "blocked_senders": ["spam.example"],
        "rules": [
            {"name": "printers", "board": "10001", "subject_pattern": "*printer*",
             "category": "hardware"},
        ],
        "notifications": {
            "enabled": True,
            "smtp": {"host": "relay.msp.example", "port": 587, "username": "desk"},
            "password": RELAY_PASSWORD,
        },
    }  # fmt: skip
    body.update(changes)
    return body


def test_admin_makes_a_source_a_desk_mailbox_and_changes_it(
    api: Api, db: sessionmaker[Session]
) -> None:
    url = f"{MAILBOXES}/{api.source_id}"
    assert api.admin.get(url).status_code == 404  # still a backup-report source
    quiet = _body(api)
    del quiet["notifications"]  # off, and no relay needed while they are
    assert api.admin.put(url, json=quiet).json()["notifications"]["enabled"] is False

    made = api.admin.put(url, json=_body(api))
    assert made.status_code == 200, made.text
    shown = made.json()
    assert shown["connection_name"] == "Jira Cloud"
    assert shown["categories"] == ["general", "hardware"]
    assert shown["rules"][0]["name"] == "printers"
    assert shown["notifications"]["password_set"] is True
    assert shown["notifications"]["smtp"]["host"] == "relay.msp.example"

    assert shown["notifications"]["relay_comments"] is False  # off unless switched on
    body = _body(api, labels=["mail", "desk"], rules=None)
    del body["rules"]  # absent: the rules stay as they are
    body["notifications"] = {**body["notifications"], "relay_comments": True}
    changed = api.admin.put(url, json=body).json()
    assert changed["labels"] == ["mail", "desk"]
    assert changed["notifications"]["relay_comments"] is True
    assert [r["name"] for r in changed["rules"]] == ["printers"]
    [listed] = api.operator.get(MAILBOXES).json()
    assert listed["source_id"] == api.source_id and listed["labels"] == ["mail", "desk"]
    with db() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("service_desk.mailbox%"))
        ).all()
    assert actions == ["service_desk.mailbox_create", *["service_desk.mailbox_update"] * 2]


def test_the_relay_password_is_never_returned_and_a_blank_keeps_it(
    api: Api, db: sessionmaker[Session]
) -> None:
    url = f"{MAILBOXES}/{api.source_id}"
    answers = [api.admin.put(url, json=_body(api))]
    blank = _body(api)
    blank["notifications"] = {**blank["notifications"], "password": ""}
    answers.append(api.admin.put(url, json=blank))
    answers += [api.admin.get(url), api.operator.get(MAILBOXES)]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert RELAY_PASSWORD not in answer.text
    assert answers[1].json()["notifications"]["password_set"] is True
    with db() as session:
        stored = session.scalars(select(ServiceDeskMailbox.notify_secret)).one()
        audit = " ".join(str(e.details) for e in session.scalars(select(AuditEvent)))
    assert stored and RELAY_PASSWORD not in stored and RELAY_PASSWORD not in audit

    moved = _body(api)
    moved["notifications"] = {
        "enabled": True,
        "smtp": {"host": "other-relay.msp.example", "username": "desk"},
    }
    assert api.admin.put(url, json=moved).json()["notifications"]["password_set"] is False

    api.admin.put(url, json=_body(api))
    cleared = _body(api)
    cleared["notifications"] = {**cleared["notifications"], "password": "", "clear_password": True}
    assert api.admin.put(url, json=cleared).json()["notifications"]["password_set"] is False


def test_every_problem_comes_back_at_its_field_at_once(api: Api) -> None:
    url = f"{MAILBOXES}/{api.source_id}"
    wrong = _body(
        api,
        connection_id=999,
        default_category="nonsense",
        rules=[{"name": "printers", "board": "20002", "category": "hardware"}],
    )
    wrong["notifications"] = {
        "enabled": True,
        "smtp": {"host": ""},
        "subject_template": "Your mail $subject",
    }
    refused = api.admin.put(url, json=wrong)

    assert refused.status_code == 422, refused.text
    fields = {f["field"] for f in refused.json()["error"]["details"]["fields"]}
    assert {
        "connection_id",
        "default_category",
        "rules[0].board",
        "notifications.subject_template",
        "notifications.smtp.host",
    } <= fields
    assert api.admin.get(url).status_code == 404  # nothing was saved

    typed = api.admin.put(url, json=_body(api, loop_limit=-1, boards="SUP"))
    assert typed.status_code == 422
    fields = {f["field"] for f in typed.json()["error"]["details"]["fields"]}
    assert {"loop_limit", "boards"} <= fields
    assert api.admin.put(f"{MAILBOXES}/4242", json=_body(api)).status_code == 404

    nul = _body(api, default_board="100\x0001", labels=["ma\x00il"])
    nul["rules"][0]["name"] = "prin\x00ters"
    nul["notifications"]["from_name"] = "Desk\x00"
    refused = api.admin.put(url, json=nul)  # PostgreSQL stores no NUL: refused, not a 500
    assert refused.status_code == 422
    fields = {f["field"] for f in refused.json()["error"]["details"]["fields"]}
    assert fields == {"default_board", "labels", "rules[0].name", "notifications.from_name"}


def test_roles_operators_read_admins_change(api: Api) -> None:
    url = f"{MAILBOXES}/{api.source_id}"
    assert api.operator.put(url, json=_body(api)).status_code == 403
    assert api.admin.put(url, json=_body(api)).status_code == 200
    assert api.operator.get(url).status_code == 200
    assert api.operator.delete(url).status_code == 403
    assert api.viewer.get(MAILBOXES).status_code == 403
    assert api.viewer.get(url).status_code == 403


def test_taking_the_purpose_away_is_refused_while_history_would_be_lost(
    api: Api, db: sessionmaker[Session]
) -> None:
    url = f"{MAILBOXES}/{api.source_id}"
    assert api.admin.put(url, json=_body(api)).status_code == 200
    record_a_conversation(db)

    refused = api.admin.delete(url)
    assert refused.status_code == 409
    assert "1 conversations" in refused.json()["error"]["message"]
    assert api.admin.get(url).status_code == 200

    assert api.admin.delete(url, params={"discard_history": "true"}).status_code == 204
    assert api.admin.get(url).status_code == 404
    assert api.admin.get(MAILBOXES).json() == []
    with db() as session:
        assert session.scalars(select(ServiceDeskConversation)).all() == []


def record_a_conversation(db: sessionmaker[Session]) -> None:
    """What a first mail leaves behind: one conversation with its ticket."""
    with db() as session:
        mailbox_id = session.scalars(select(ServiceDeskMailbox.id)).one()
        session.add(
            ServiceDeskConversation(
                mailbox_id=mailbox_id,
                conversation_key="1@customer.example",
                ticket_id=1,
                ticket_key="SUP-1",
                created_at=NOW,
                last_mail_at=NOW,
            )
        )
        session.commit()
