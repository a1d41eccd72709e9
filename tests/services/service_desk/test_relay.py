"""Public comments added in the PSA reach the reporter as replies in their thread (the relay),
against the Jira emulator and the Autotask emulator, sent through a real SMTP relay (aiosmtpd
on a loopback port): once each, never an internal one, never the desk's own comment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.autotask_world import AutotaskWorld, configure
from tests.services.service_desk.autotask_desk import add_autotask_mailbox
from tests.services.service_desk.conftest import (
    DESK,
    JIRA_AUTH,
    Desk,
    Relay,
    mail,
)
from ticketbridge.services.runtime import build_runtime
from ticketbridge.services.service_desk import comments, notify_settings
from ticketbridge.services.service_desk.notify_settings import NotifySetup
from ticketbridge.services.service_desk.process import process_pending
from ticketbridge.services.service_desk.relay import relay_due
from ticketbridge.settings import Settings
from ticketbridge.storage.models import ServiceDeskConversation, ServiceDeskMailbox
from ticketbridge.worker.tasks import TASKS

LATER = NOW + timedelta(minutes=1)


@dataclass
class Psa:
    """A technician in the PSA, writing on a ticket."""

    kind: str
    http: httpx.Client

    def comment(self, ticket: ServiceDeskConversation, text: str, *, public: bool) -> None:
        if self.kind == "jira":
            # JSM's own endpoint: a public reply or an internal comment.
            answer = self.http.post(
                f"/rest/servicedeskapi/request/{ticket.ticket_key}/comment",
                json={"body": text, "public": public},
            )
        else:
            body = {"title": text[:50], "description": text, "noteType": 1}
            answer = self.http.post(
                f"/atservicesrest/v1.0/Tickets/{ticket.ticket_id}/Notes",
                json={**body, "publish": 1 if public else 2},  # All Autotask Users / Internal
            )
        assert answer.is_success, answer.text


@pytest.fixture(params=["jira", "autotask"])
def world(
    request: pytest.FixtureRequest,
    desk: Desk,
    settings: Settings,
    engine: Engine,
    db: sessionmaker[Session],
) -> Iterator[tuple[Desk, Psa]]:
    if request.param == "jira":
        desk.jira.http.headers["Authorization"] = JIRA_AUTH
        yield desk, Psa("jira", desk.jira.http)
        return
    autotask = AutotaskWorld()
    runtime = autotask.attach(build_runtime(settings, engine=engine, clock=lambda: NOW))
    configure(runtime)
    found = autotask.http.post(
        "/atservicesrest/v1.0/Companies/query",
        json={"filter": [{"op": "eq", "field": "companyName", "value": "Acme Logistics Inc."}]},
        headers=_autotask_headers(),
    )
    company_id = int(found.json()["items"][0]["id"])
    source_id, _ = add_autotask_mailbox(runtime, company_id, addresses=(DESK,))
    autotask.http.headers.update(_autotask_headers())
    yield Desk(runtime, desk.jira, source_id), Psa("autotask", autotask.http)
    autotask.close()


def _autotask_headers() -> dict[str, str]:
    from ticketbridge.emulators.autotask import (
        DEMO_API_SECRET,
        DEMO_API_USER,
        DEMO_INTEGRATION_CODE,
    )

    return {
        "UserName": DEMO_API_USER,
        "Secret": DEMO_API_SECRET,
        "ApiIntegrationCode": DEMO_INTEGRATION_CODE,
    }


def _notify(desk: Desk, relay: Relay, **changes: Any) -> None:
    smtp = {"host": "127.0.0.1", "port": relay.port, "security": "none"}
    setup = NotifySetup(enabled=True, smtp=smtp, **{"relay_comments": True, **changes})
    with desk.runtime.session_factory() as session:
        mailbox = session.scalars(
            select(ServiceDeskMailbox).where(ServiceDeskMailbox.source_id == desk.source_id)
        ).one()
        notify_settings.configure(session, desk.runtime.secret_box, mailbox, setup, now=NOW)
        session.commit()


def _ticket(desk: Desk, key: str) -> ServiceDeskConversation:
    with desk.runtime.session_factory() as session:
        return session.scalars(
            select(ServiceDeskConversation).where(ServiceDeskConversation.ticket_key == key)
        ).one()


def test_a_public_comment_reaches_the_reporter_once_threaded_and_an_internal_one_never(
    world: tuple[Desk, Psa], relay: Relay
) -> None:
    desk, psa = world
    _notify(desk, relay)
    opened = desk.handle(mail(1))
    assert opened.outcome == "ticket" and opened.ticket_key
    key = opened.ticket_key
    # The reporter writes again a minute later: the desk's own comment on the ticket.
    desk.runtime.clock = lambda: LATER
    desk.receive(mail(2, body="It also jams.", in_reply_to="1@customer.example"), now=LATER)
    ticket = _ticket(desk, key)
    assert [h.outcome for h in process_pending(desk.runtime)] == ["comment"]
    [notification] = relay.received

    psa.comment(ticket, "We replaced the toner; please try again.", public=True)
    psa.comment(ticket, "Customer is on the VIP list.", public=False)
    relay_due(desk.runtime)

    [_, reply] = relay.received
    assert relay.recipients[-1] == ["ann@customer.example"]
    assert reply["Subject"] == f"[{key}] Re: Printer on floor 2 is offline"
    assert reply["In-Reply-To"] == "<2@customer.example>"  # the conversation's last message
    assert reply["References"] == "<1@customer.example> <2@customer.example>"
    assert reply["X-Ticketbridge-Notification"] == key
    assert reply["Message-ID"] != notification["Message-ID"]
    body = reply.get_content()
    assert "We replaced the toner; please try again." in body
    assert "VIP" not in body and "It also jams" not in body

    # A second run, by the worker's task, sends nothing; nor does a later one.
    TASKS["service_desk.relay"](desk.runtime)
    desk.runtime.clock = lambda: LATER + timedelta(hours=1)
    relay_due(desk.runtime)
    assert len(relay.received) == 2
    # The relayed mail coming back into the mailbox makes nothing.
    back = desk.handle(reply.as_bytes())
    assert (back.outcome, back.reason) == ("filtered", "own_notification")

    # The next comment answers the desk's relayed mail, the thread's newest message.
    psa.comment(ticket, "Closing this as fixed.", public=True)
    relay_due(desk.runtime)
    [*_, last] = relay.received
    assert last["In-Reply-To"] == reply["Message-ID"]
    assert last["References"].split()[-1] == reply["Message-ID"]
    assert len(relay.received) == 3


def test_nothing_is_relayed_unless_the_mailbox_switches_it_on(
    world: tuple[Desk, Psa], relay: Relay
) -> None:
    desk, psa = world
    _notify(desk, relay, relay_comments=False)
    opened = desk.handle(mail(1))
    assert opened.ticket_key
    ticket = _ticket(desk, opened.ticket_key)

    psa.comment(ticket, "Which printer model is it?", public=True)
    relay_due(desk.runtime)

    assert len(relay.received) == 1  # the ticket's notification alone


def _psa_requests(psa: Psa, *, clear: bool = False) -> list[str]:
    answer = psa.http.request("DELETE" if clear else "GET", "/_emulator/requests")
    assert answer.is_success, answer.text
    found = answer.json() if not clear else []
    items = found["requests"] if isinstance(found, dict) else found
    return [f"{r['method']} {r['path']}" for r in items]


def test_one_read_covers_every_open_ticket_of_the_mailbox(
    world: tuple[Desk, Psa], relay: Relay
) -> None:
    desk, psa = world
    _notify(desk, relay)
    keys = [
        desk.handle(mail(n, sender=f"user{n}@customer.example")).ticket_key for n in range(1, 7)
    ]
    for key in keys[::2]:
        assert key
        psa.comment(_ticket(desk, key), f"Answer on {key}.", public=True)
    _psa_requests(psa, clear=True)

    relay_due(desk.runtime)

    assert sorted(m["Subject"].split()[0] for m in relay.received[6:]) == sorted(
        f"[{key}]" for key in keys[::2]
    )
    reads = [r for r in _psa_requests(psa) if "entityInformation" not in r]
    assert len(reads) == 1  # not one per ticket (Autotask's field metadata is read once)
    _psa_requests(psa, clear=True)
    relay_due(desk.runtime)
    assert len(_psa_requests(psa)) == 1 and len(relay.received) == 9


def test_an_operators_public_comment_through_the_api_is_relayed_an_internal_note_not(
    world: tuple[Desk, Psa], relay: Relay
) -> None:
    desk, _ = world
    _notify(desk, relay)
    opened = desk.handle(mail(1))
    assert opened.ticket_key
    ticket = _ticket(desk, opened.ticket_key)

    comments.add_comment(desk.runtime, ticket.id, "Replaced the drum.", internal=False, actor="op")
    comments.add_comment(desk.runtime, ticket.id, "Charge them.", internal=True, actor="op")
    relay_due(desk.runtime)

    [notification, reply] = relay.received
    assert "Replaced the drum." in reply.get_content() and "Charge" not in reply.get_content()
    assert reply["In-Reply-To"] == notification["Message-ID"]  # the desk's mail came last
