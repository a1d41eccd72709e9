"""A ticket's reporter and watchers by e-mail address (TicketDraft.reporter, .watchers), as
each PSA keeps them: Jira accounts as reporter and watchers, Autotask contacts of the
ticket's company as its contact and additional contacts. An address the PSA does not know
is said on the ticket's ``people``, never an error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ticketbridge.connectors.psa.base import PsaConnector, TicketDraft

KNOWN = "casey@contoso.example"
WATCHER = "dana@contoso.example"
STRANGER = "nobody@elsewhere.example"


@dataclass
class World:
    """A PSA with two people it knows (KNOWN, WATCHER) in ``company_id``."""

    connector: PsaConnector
    company_id: int
    queue_id: int | None
    # Read back from the PSA: the ticket's reporter address, and its watchers' addresses.
    reporter_of: Callable[[int], str | None]
    watchers_of: Callable[[int], set[str]]
    close: Callable[[], None]


def _autotask() -> World:
    from tests.contract.emulator_harness import API_HEADERS, AutotaskEmulatorHarness

    harness = AutotaskEmulatorHarness()
    company = harness.add_company("Contoso people")
    other = harness.add_company("Fabrikam people")
    ids = {}
    for cid, address in ((company, KNOWN), (company, WATCHER), (other, STRANGER)):
        made = harness.http.post(
            f"/ATServicesRest/V1.0/Companies/{cid}/Contacts",
            headers=API_HEADERS,
            json={
                "firstName": address.split("@")[0].title(),
                "lastName": "Person",
                "emailAddress": address,
                "isActive": 1,
            },
        )
        assert made.is_success, made.text
        ids[int(made.json()["itemId"])] = address

    def get(path: str) -> Any:
        got = harness.http.get(f"/ATServicesRest/V1.0/{path}", headers=API_HEADERS)
        assert got.is_success, got.text
        return got.json()

    def reporter_of(ticket_id: int) -> str | None:
        return ids.get(get(f"Tickets/{ticket_id}")["item"]["contactID"])

    def watchers_of(ticket_id: int) -> set[str]:
        items = get(f"Tickets/{ticket_id}/AdditionalContacts")["items"]
        return {ids[i["contactID"]] for i in items}

    queue = next(q.id for q in harness.connector.reference_data().queues if q.active)
    return World(harness.connector, company, queue, reporter_of, watchers_of, harness.close)


def _jira(datacenter: bool) -> World:
    from tests.contract.jira_harness import JiraEmulatorHarness

    harness = JiraEmulatorHarness(datacenter=datacenter)

    def reporter_of(ticket_id: int) -> str | None:
        fields = harness._api("GET", f"issue/{ticket_id}?fields=reporter")["fields"]
        return (fields.get("reporter") or {}).get("emailAddress")

    def watchers_of(ticket_id: int) -> set[str]:
        found = harness._api("GET", f"issue/{ticket_id}/watchers")["watchers"]
        return {w["emailAddress"] for w in found}

    # The seeded service desk (SUP) and its request type; its customers include KNOWN, WATCHER.
    return World(harness.connector, 10001, 10003, reporter_of, watchers_of, harness.close)


@pytest.fixture(params=["autotask-emulator", "jira-emulator", "jira-dc-emulator"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "autotask-emulator":
        made = _autotask()
    else:
        made = _jira(datacenter=request.param == "jira-dc-emulator")
    yield made
    made.close()


def _draft(world: World, **people: object) -> TicketDraft:
    return TicketDraft(
        company_id=world.company_id,
        title="Printer on floor 2 jams",
        queue_id=world.queue_id,
        **people,  # type: ignore[arg-type]
    )


def test_known_reporter_and_watchers_are_linked_and_strangers_said(world: World) -> None:
    ticket = world.connector.create_ticket(
        _draft(world, reporter=KNOWN.upper(), watchers=(WATCHER, STRANGER))
    )

    assert world.reporter_of(ticket.id) == KNOWN
    assert world.watchers_of(ticket.id) == {WATCHER}
    assert ticket.people is not None
    assert ticket.people.reporter == KNOWN.upper()
    assert ticket.people.watchers == (WATCHER,)
    assert [address for address, _ in ticket.people.unlinked] == [STRANGER]
    assert all(reason for _, reason in ticket.people.unlinked)


def test_unknown_reporter_makes_the_ticket_without_one(world: World) -> None:
    ticket = world.connector.create_ticket(_draft(world, reporter=STRANGER))

    assert world.reporter_of(ticket.id) != STRANGER
    assert world.watchers_of(ticket.id) == set()
    assert ticket.people is not None and ticket.people.reporter is None
    assert [address for address, _ in ticket.people.unlinked] == [STRANGER]


def test_a_draft_without_people_says_nothing_of_them(world: World) -> None:
    ticket = world.connector.create_ticket(_draft(world))

    assert ticket.people is None
