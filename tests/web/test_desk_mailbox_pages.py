"""The Service desk page's Mailboxes tab through the product served by uvicorn: an admin makes
a mail source a desk mailbox from its form, meets every problem beside its field with the
typing kept, and changes it without retyping the relay password (never shown); taking the
purpose away asks before history is deleted; operators are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, add_user
from tests.services.service_desk.conftest import add_mail_source
from tests.web.live_server import form_token, serve, sign_in
from tests.web.test_service_desk_mailboxes_api import record_a_conversation
from ticketbridge.core.roles import Role
from ticketbridge.services.connections import named
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.models import ServiceDeskMailbox

MAILBOXES = "/service-desk/mailboxes"
RELAY_PASSWORD = "relay-password-of-the-desk"


@dataclass
class Served:
    url: str
    admin: httpx.Client
    connection_id: int
    source_id: int


@pytest.fixture
def served(app: FastAPI, db: sessionmaker[Session]) -> Iterator[Served]:
    add_user(db, "ada", Role.ADMIN)
    add_user(db, "otto", Role.OPERATOR)
    runtime: Runtime = app.state.ctx
    with db() as session:
        connection = named.create(session, name="Jira Cloud", kind="jira", actor="test", now=NOW)
        source = add_mail_source(session, runtime)
        session.commit()
        ids = connection.id, source.id
    with serve(app) as url:
        admin = sign_in(url, "ada")
        yield Served(url, admin, *ids)
        admin.close()


def _form(served: Served, **changes: str) -> dict[str, str]:
    page = served.admin.get(f"{MAILBOXES}/{served.source_id}").text
    form = {
        "csrf_token": form_token(page), "connection_id": str(served.connection_id),
        "default_board": "10001", "default_category": "general",
        "categories": "general, hardware", "labels": "mail", "addresses": "support@msp.example",
        "loop_limit": "5", "loop_minutes": "60", "enabled": "true", "transport": "smtp",
        "smtp_host": "relay.msp.example", "smtp_port": "587", "smtp_security": "starttls",
        "smtp_username": "desk", "smtp_verify_tls": "true", "password": RELAY_PASSWORD,
        "subject_template": "[$ticket_key] Re: $subject",
        "body_template": "Ticket $ticket_key is open.",
    }  # fmt: skip
    form.update(changes)
    return form


def _row(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert found, (row_id, page)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_admin_makes_a_source_a_desk_mailbox_with_errors_beside_the_fields(
    served: Served, db: sessionmaker[Session]
) -> None:
    listed = served.admin.get(MAILBOXES)
    assert 'aria-current="page">Mailboxes</a>' in listed.text
    row = f"source-{served.source_id}"
    assert (
        _row(listed.text, row)
        == "Support mailbox imap Backup reports – – – Make a desk mailbox : Support mailbox"
    )
    source_page = served.admin.get(f"/admin/mail-sources/{served.source_id}").text
    assert f'href="{MAILBOXES}/{served.source_id}" id="desk-settings"' in source_page
    assert f'<option value="{served.connection_id}">Jira Cloud</option>' in (
        served.admin.get(f"{MAILBOXES}/{served.source_id}").text
    )

    wrong = _form(
        served, default_category="nonsense", loop_limit="many", smtp_host="",
        subject_template="About $subject",
    )  # fmt: skip
    refused = served.admin.post(f"{MAILBOXES}/{served.source_id}", data=wrong)
    assert refused.status_code == 422
    for name in ("default_category", "loop_limit", "smtp_host", "subject_template"):
        assert f'<span class="field-error" id="err-{name}">' in refused.text, name
    assert 'value="many"' in refused.text and "About $subject</textarea>" in refused.text
    assert RELAY_PASSWORD not in refused.text
    with db() as session:
        assert session.scalars(select(ServiceDeskMailbox)).first() is None

    saved = served.admin.post(f"{MAILBOXES}/{served.source_id}", data=_form(served))
    assert saved.status_code == 303
    listed = served.admin.get(MAILBOXES).text
    assert "Service-desk mailbox saved." in listed
    assert _row(listed, row) == (
        "Support mailbox imap Service desk Jira Cloud 10001 · general on (SMTP relay) "
        "Settings of Support mailbox"
    )
    form_page = served.admin.get(f"{MAILBOXES}/{served.source_id}").text
    assert 'name="relay_comments" value="true" aria' in form_page  # off unless switched on
    relaying = _form(served, relay_comments="true")
    assert served.admin.post(f"{MAILBOXES}/{served.source_id}", data=relaying).status_code == 303
    form_page = served.admin.get(f"{MAILBOXES}/{served.source_id}").text
    assert 'name="relay_comments" value="true" checked' in form_page


def test_a_blank_password_keeps_the_stored_one_which_is_never_shown(
    served: Served, db: sessionmaker[Session]
) -> None:
    url = f"{MAILBOXES}/{served.source_id}"
    served.admin.post(url, data=_form(served))
    with db() as session:
        stored = session.scalars(select(ServiceDeskMailbox.notify_secret)).one()

    page = served.admin.get(url).text
    assert RELAY_PASSWORD not in page
    assert "set: leave empty to keep" in page
    assert "clears the stored password unless you enter it again" in page
    served.admin.post(url, data=_form(served, password="", labels="mail desk"))
    with db() as session:
        row = session.scalars(select(ServiceDeskMailbox)).one()
        assert row.notify_secret == stored and row.config["labels"] == ["mail", "desk"]

    served.admin.post(url, data=_form(served, password="", clear_password="true"))
    assert "not set" in served.admin.get(url).text
    with db() as session:
        assert session.scalars(select(ServiceDeskMailbox.notify_secret)).one() is None


def test_removing_the_purpose_asks_before_history_is_deleted(
    served: Served, db: sessionmaker[Session]
) -> None:
    url = f"{MAILBOXES}/{served.source_id}"
    served.admin.post(url, data=_form(served))
    record_a_conversation(db)
    token = form_token(served.admin.get(url).text)

    kept = served.admin.post(f"{url}/delete", data={"csrf_token": token})
    assert kept.status_code == 303 and kept.headers["location"] == url
    assert "1 conversations" in served.admin.get(url).text
    removed = served.admin.post(
        f"{url}/delete", data={"csrf_token": token, "discard_history": "true"}
    )
    assert removed.headers["location"] == MAILBOXES
    assert "Backup reports" in _row(served.admin.get(MAILBOXES).text, f"source-{served.source_id}")


def test_operators_are_refused_the_mailboxes_tab(served: Served) -> None:
    operator = sign_in(served.url, "otto")
    assert operator.get(MAILBOXES).status_code == 403
    assert operator.get(f"{MAILBOXES}/{served.source_id}").status_code == 403
    assert ">Mailboxes</a>" not in operator.get("/service-desk").text
    page = served.admin.get(f"{MAILBOXES}/{served.source_id}").text
    refused = operator.post(
        f"{MAILBOXES}/{served.source_id}", data=_form(served, csrf_token=form_token(page))
    )
    assert refused.status_code in (400, 403)
    operator.close()
