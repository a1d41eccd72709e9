"""A service-desk mailbox wired to the Autotask emulator, in-process: its target an Autotask
connection (queues as boards, one company), mail stored through the product's mail intake,
the emulator read and changed through Autotask's REST API as another API user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from sqlalchemy import Engine

from tests.contract.emulator_harness import API_HEADERS
from tests.factories import NOW
from tests.services.autotask_world import AutotaskWorld, configure
from tests.services.service_desk.conftest import DESK, Desk, add_mail_source
from ticketbridge.services.connections import named
from ticketbridge.services.runtime import build_runtime
from ticketbridge.services.service_desk import mailboxes
from ticketbridge.services.service_desk.process import Handled, process_pending
from ticketbridge.settings import Settings

HELPDESK = "29683481"  # a queue of the Autotask emulator's demo


class AutotaskDesk:
    def __init__(self, world: AutotaskWorld, runtime: Any) -> None:
        self.world, self.runtime, self.source_id, self.company = world, runtime, 0, 0
        self.api = httpx.Client(
            transport=world.transport,
            base_url="http://emulator.test/ATServicesRest/V1.0",
            headers=API_HEADERS,
        )

    def add(self, path: str, body: dict[str, Any]) -> int:
        made = self.api.post(path, json=body)
        assert made.is_success, made.text
        return int(made.json()["itemId"])

    def get(self, path: str) -> Any:
        answer = self.api.get(path)
        assert answer.is_success, answer.text
        return answer.json()

    def handle(self, raw: bytes) -> Handled:
        Desk(self.runtime, None, self.source_id).receive(raw)  # type: ignore[arg-type]
        [handled] = process_pending(self.runtime)
        return handled


def company(desk: AutotaskDesk, name: str) -> int:
    body = {"companyName": name, "companyType": 1, "phone": "555-0100", "ownerResourceID": 29}
    return desk.add("/Companies", body | {"isActive": True})


def contact(desk: AutotaskDesk, company_id: int, address: str) -> int:
    name = address.split("@")[0].title()
    body = {"firstName": name, "lastName": "Example", "emailAddress": address, "isActive": 1}
    return desk.add(f"/Companies/{company_id}/Contacts", body)


def open_desk(settings: Settings, engine: Engine) -> Iterator[AutotaskDesk]:
    """The world the ``autotask_desk`` fixture (conftest) yields: a company, its mailbox."""
    world = AutotaskWorld()
    runtime = world.attach(build_runtime(settings, engine=engine, clock=lambda: NOW))
    configure(runtime)
    made = AutotaskDesk(world, runtime)
    made.company = ours = company(made, "Contoso Ltd")
    made.source_id, _ = add_autotask_mailbox(runtime, ours, addresses=(DESK,))
    yield made
    made.api.close()
    world.close()


def add_autotask_mailbox(runtime: Any, company_id: int, **setup: Any) -> tuple[int, int]:
    """A desk mailbox "Helpdesk mailbox" for the Autotask connection: its queues as boards
    (HELPDESK by default), one company; the mail source's id and the connection's."""
    with runtime.session_factory() as session:
        connection = named.first_of_kind(session, "autotask")
        assert connection is not None
        source = add_mail_source(session, runtime, "Helpdesk mailbox", "helpdesk")
        chosen = mailboxes.MailboxSetup(
            connection_id=connection.id,
            default_board=HELPDESK,
            default_category="general",
            company_id=company_id,
            **setup,
        )
        mailboxes.configure(session, source.id, chosen, now=NOW)
        session.commit()
        return source.id, connection.id


def tickets(desk: AutotaskDesk) -> list[dict[str, Any]]:
    query = {"filter": [{"op": "eq", "field": "companyID", "value": desk.company}]}
    return list(desk.api.post("/Tickets/query", json=query).json()["items"])
