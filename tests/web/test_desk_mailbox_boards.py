"""The Mailboxes form offers the target connection's boards to tick instead of ids typed by
hand: a Jira connection's projects (asked of the Jira Cloud emulator on a loopback port), an
Autotask connection's queues (its stored reference data). The product is served by uvicorn and
driven as an admin's browser would."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, add_user
from tests.services.autotask_world import configure as configure_autotask
from tests.services.service_desk.conftest import add_mail_source, connect_jira
from tests.web.live_server import form_token, serve, sign_in
from tests.web.serving import serve as serve_emulator
from tests.web.test_desk_tickets_api import HELPDESK, LEVEL_ONE, Autotask
from ticketbridge.core.roles import Role
from ticketbridge.emulators.autotask import create_app as create_autotask
from ticketbridge.emulators.jira import create_app as create_jira
from ticketbridge.services.connections import named, reference
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk.mailboxes import mailbox_of_source, settings_of

MAILBOXES = "/service-desk/mailboxes"


@pytest.fixture
def admin(app: FastAPI, db: sessionmaker[Session]) -> Iterator[tuple[Runtime, httpx.Client, int]]:
    """The product, an admin's signed-in browser, and a mail source to make a desk mailbox."""
    add_user(db, "ada", Role.ADMIN)
    runtime: Runtime = app.state.ctx
    with runtime.session_factory() as session:
        source_id = add_mail_source(session, runtime).id
        session.commit()
    with serve(app) as url:
        client = sign_in(url, "ada")
        yield runtime, client, source_id
        client.close()


def _ticked(page: str) -> dict[str, bool]:
    boxes = re.findall(r'<input type="checkbox" name="boards" value="([^"]+)"( checked)?>', page)
    return {value: bool(checked) for value, checked in boxes}


def _save(client: httpx.Client, source_id: int, **fields: str | list[str]) -> httpx.Response:
    page = client.get(f"{MAILBOXES}/{source_id}").text
    form = {
        "csrf_token": form_token(page), "default_category": "general", "loop_limit": "5",
        "loop_minutes": "60", "transport": "smtp", "subject_template": "[$ticket_key] $subject",
        "body_template": "Ticket $ticket_key.", **fields,
    }  # fmt: skip
    return client.post(f"{MAILBOXES}/{source_id}", data=form)


def _boards(runtime: Runtime, source_id: int) -> tuple[tuple[str, ...], str]:
    with runtime.session_factory() as session:
        mailbox = mailbox_of_source(session, source_id)
        assert mailbox is not None
        routing = settings_of(session, mailbox).routing
        return routing.boards, routing.default_board


def test_a_jira_target_offers_its_projects_and_the_ticked_ones_are_saved(
    admin: tuple[Runtime, httpx.Client, int],
) -> None:
    runtime, client, source_id = admin
    with serve_emulator(create_jira(seed="empty")) as jira_url:
        with runtime.session_factory() as session:
            connection_id = connect_jira(session, runtime, jira_url).id
            session.commit()
        # Chosen and refused for another field: the page now lists that connection's projects.
        refused = _save(client, source_id, connection_id=str(connection_id), default_board="")
        assert refused.status_code == 422
        assert _ticked(refused.text) == {"10000": False, "10001": False}
        assert "> Support <span" in refused.text and '<option value="10001">Support' in (
            refused.text
        )

        saved = _save(
            client, source_id, connection_id=str(connection_id), boards=["10001", "10000"],
            default_board="10001",
        )  # fmt: skip
        assert saved.status_code == 303, saved.text
        page = client.get(f"{MAILBOXES}/{source_id}").text

    assert _boards(runtime, source_id) == (("10001", "10000"), "10001")
    assert _ticked(page) == {"10000": True, "10001": True}
    assert '<option value="10001" selected>Support (10001)</option>' in page


def test_an_autotask_target_offers_its_stored_queues(
    admin: tuple[Runtime, httpx.Client, int],
) -> None:
    runtime, client, source_id = admin
    with serve_emulator(create_autotask(seed="demo")) as autotask_url:
        configure_autotask(runtime, api_host=autotask_url)
        with runtime.session_factory() as session:
            connection = named.first_of_kind(session, "autotask")
            assert connection is not None
            connection_id = connection.id
        company = Autotask(autotask_url).company_named("Acme Logistics Inc.")
        reference.refresh(runtime, actor="test", connection_id=connection_id)

    # The queues come from what was stored: the emulator is gone, the form still offers them.
    saved = _save(
        client, source_id, connection_id=str(connection_id), company_id=str(company),
        boards=[HELPDESK, LEVEL_ONE], default_board=HELPDESK,
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    page = client.get(f"{MAILBOXES}/{source_id}").text
    ticked = _ticked(page)
    assert ticked[HELPDESK] and ticked[LEVEL_ONE] and len(ticked) > 2
    assert f'<option value="{HELPDESK}" selected>Helpdesk ({HELPDESK})</option>' in page
    assert _boards(runtime, source_id) == ((HELPDESK, LEVEL_ONE), HELPDESK)


def test_a_connection_that_cannot_list_its_boards_leaves_them_to_be_typed(
    admin: tuple[Runtime, httpx.Client, int], db: sessionmaker[Session]
) -> None:
    _, client, source_id = admin
    with db() as session:
        connection = named.create(session, name="Jira Cloud", kind="jira", actor="test", now=NOW)
        session.commit()
        connection_id = connection.id

    refused = _save(client, source_id, connection_id=str(connection_id), default_board="")

    assert refused.status_code == 422
    assert 'id="boards-note">Boards cannot be offered:' in refused.text
    assert '<input id="f-boards" name="boards"' in refused.text
