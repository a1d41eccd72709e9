"""The entity switches carried end to end. Teams: a new ticket's copy goes to the queue the
sync's queue table maps its queue to (Autotask queue to Jira issue type; from Jira, the table's
default to an Autotask queue). Contacts: the copy names the ticket's person found by e-mail
address (Autotask contact <-> Jira reporter). Categories: Autotask's ticketCategory <-> a Jira
label through the categories table. With a switch off, the copy is as before. Both emulators,
both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.orm.attributes import flag_modified

from tests.contract.emulator_harness import API_HEADERS
from tests.services.sync.conftest import Paired
from tests.services.sync.support import HELPDESK, JIRA_AUTH, OPS, SYNC, new_ticket, psa
from ticketbridge.connectors.psa.base import TicketDraft
from ticketbridge.core.sync.sides import Direction, EntityKind
from ticketbridge.emulators.jira import AGENT_EMAIL, DEMO_EMAIL
from ticketbridge.services.sync import run as sync_run
from ticketbridge.storage.models.sync import SyncRow

BACKUP_ALERTS = 29682969  # another queue of the Autotask emulator's tenant
BUG = "10002"  # a Jira emulator issue type of the OPS project (Bug)
ALERT = 3  # an Autotask emulator ticket category ("Alert"; 2 is "Standard")
AUTOTASK_API = "/ATServicesRest/V1.0"
A_TO_B, B_TO_A, TICKET = Direction.A_TO_B, Direction.B_TO_A, EntityKind.TICKET


def _queues(paired: Paired, *, teams: bool) -> None:
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        row.entities = {"contacts": False, "teams": teams, "categories": False}
        mapping = dict(row.mapping)
        mapping["a_to_b"] = mapping.get("a_to_b", {}) | {
            "queue": {"rows": {str(BACKUP_ALERTS): BUG}, "default": None}
        }
        mapping["b_to_a"] = mapping.get("b_to_a", {}) | {
            "queue": {"rows": {}, "default": str(BACKUP_ALERTS)}
        }
        row.mapping = mapping
        flag_modified(row, "mapping")
        session.commit()


def _run(paired: Paired) -> sync_run.RunReport:
    report = sync_run.run(paired.runtime, SYNC)
    assert report.status == "succeeded", [e["error"] for e in report.errors]
    return report


def _jira_issue_types(paired: Paired) -> dict[str, str]:
    """Title -> issue type id of every issue in the Jira emulator."""
    answer = paired.world.jira_http.post(
        "/rest/api/3/search/jql",
        json={"jql": f"project = {OPS}", "fields": ["summary", "issuetype"], "maxResults": 100},
        headers=JIRA_AUTH,
    )
    assert answer.status_code == 200, answer.text
    return {i["fields"]["summary"]: i["fields"]["issuetype"]["id"] for i in answer.json()["issues"]}


def _autotask_queue(paired: Paired, title: str) -> int | None:
    with psa(paired.runtime, paired.a) as autotask:
        since = paired.clock.now - timedelta(days=1)
        [ticket] = [t for t in autotask.changed_since(since) if t.title == title]
        return ticket.queue_id


def test_with_teams_on_a_copy_goes_to_the_queue_its_queue_maps_to(paired: Paired) -> None:
    _queues(paired, teams=True)
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS50", BACKUP_ALERTS)
    new_ticket(paired.runtime, paired.a, paired.acme, "Password reset for Ann", HELPDESK)
    new_ticket(paired.runtime, paired.b, OPS, "VPN down for the Leeds office", queue=None)

    report = _run(paired)

    assert report.counts.of(A_TO_B, TICKET).created == 2
    types = _jira_issue_types(paired)
    assert types["Backup failed on FS50"] == BUG  # its queue's row
    assert types["Password reset for Ann"] != BUG  # no row: the connection's default
    assert report.counts.of(B_TO_A, TICKET).created == 1
    assert _autotask_queue(paired, "VPN down for the Leeds office") == BACKUP_ALERTS


def test_with_teams_off_the_queue_table_is_not_used(paired: Paired) -> None:
    _queues(paired, teams=False)
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS51", BACKUP_ALERTS)
    new_ticket(paired.runtime, paired.b, OPS, "VPN down for the York office", queue=None)

    _run(paired)

    assert _jira_issue_types(paired)["Backup failed on FS51"] != BUG
    assert _autotask_queue(paired, "VPN down for the York office") == HELPDESK


# --- contacts and categories -----------------------------------------------------------------


def _people_and_categories(paired: Paired, *, on: bool) -> None:
    """Both switches as told; Autotask's Alert category <-> the Jira label ``alert``."""
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        row.entities = {"contacts": on, "teams": False, "categories": on}
        mapping = dict(row.mapping)
        tables = {"a_to_b": {str(ALERT): "alert"}, "b_to_a": {"alert": str(ALERT)}}
        for direction, rows in tables.items():
            mapping[direction] = mapping.get(direction, {}) | {
                "categories": {"rows": rows, "default": None}
            }
        row.mapping = mapping
        flag_modified(row, "mapping")
        session.commit()


def _autotask_contact(paired: Paired, address: str) -> int:
    """A contact of Acme with that address, made as an Autotask user would."""
    body = {"firstName": "Alex", "lastName": "Agent", "emailAddress": address, "isActive": 1}
    made = paired.world.autotask_http.post(
        f"{AUTOTASK_API}/Companies/{paired.acme}/Contacts", json=body, headers=API_HEADERS
    )
    assert made.is_success, made.text
    return int(made.json()["itemId"])


def _new(paired: Paired, autotask: bool, title: str, **people: object) -> None:
    """A ticket made on side A (Autotask's Acme) or B (Jira's OPS) with these people/tags."""
    connection, company, queue = (
        (paired.a, paired.acme, HELPDESK) if autotask else (paired.b, OPS, None)
    )
    with psa(paired.runtime, connection) as connector:
        draft = TicketDraft(company_id=company, title=title, queue_id=queue)
        connector.create_ticket(replace(draft, **people))  # type: ignore[arg-type]


def _jira_people(paired: Paired, title: str) -> tuple[str, list[str]]:
    """The reporter's address and the labels of the Jira issue with that summary."""
    answer = paired.world.jira_http.post(
        "/rest/api/3/search/jql",
        json={"jql": f"project = {OPS}", "fields": ["summary", "reporter", "labels"]},
        headers=JIRA_AUTH,
    )
    assert answer.status_code == 200, answer.text
    [fields] = [i["fields"] for i in answer.json()["issues"] if i["fields"]["summary"] == title]
    return fields["reporter"]["emailAddress"], fields["labels"]


def _autotask_ticket(paired: Paired, title: str) -> dict[str, object]:
    body = {"filter": [{"op": "eq", "field": "title", "value": title}]}
    answer = paired.world.autotask_http.post(
        f"{AUTOTASK_API}/Tickets/query", json=body, headers=API_HEADERS
    )
    assert answer.is_success, answer.text
    [item] = answer.json()["items"]
    return dict(item)


def test_with_contacts_and_categories_on_a_copy_has_its_person_and_category(
    paired: Paired,
) -> None:
    _people_and_categories(paired, on=True)
    contact = _autotask_contact(paired, AGENT_EMAIL)  # also a Jira user (Alex Agent)
    _new(paired, True, "Printer jams", reporter=AGENT_EMAIL, category_id=ALERT)
    _new(paired, False, "Scanner offline", reporter=AGENT_EMAIL, labels=("alert",))

    report = _run(paired)

    assert report.counts.of(A_TO_B, TICKET).created == 1
    assert report.counts.of(B_TO_A, TICKET).created == 1
    reporter, labels = _jira_people(paired, "Printer jams")
    assert reporter == AGENT_EMAIL
    assert "alert" in labels
    copied = _autotask_ticket(paired, "Scanner offline")
    assert copied["contactID"] == contact
    assert copied["ticketCategory"] == ALERT


def test_an_address_unknown_on_the_other_side_is_said_and_the_ticket_still_syncs(
    paired: Paired,
) -> None:
    _people_and_categories(paired, on=True)
    _autotask_contact(paired, "nobody-in-jira@acme.example")
    _new(paired, True, "Desk phone dead", reporter="nobody-in-jira@acme.example")

    report = _run(paired)

    assert report.counts.of(A_TO_B, TICKET).created == 1
    assert _jira_people(paired, "Desk phone dead")[0] == DEMO_EMAIL  # the API user made it
    [said] = [e for e in report.errors if e["result"] == "unlinked"]
    assert "nobody-in-jira@acme.example" in said["error"]


def test_with_contacts_and_categories_off_a_copy_is_as_before(paired: Paired) -> None:
    _people_and_categories(paired, on=False)
    _autotask_contact(paired, AGENT_EMAIL)
    _new(paired, True, "Monitor flickers", reporter=AGENT_EMAIL, category_id=ALERT)
    _new(paired, False, "Mouse broken", reporter=AGENT_EMAIL, labels=("alert",))

    report = _run(paired)

    assert not [e for e in report.errors if e["result"] == "unlinked"]
    reporter, labels = _jira_people(paired, "Monitor flickers")
    assert reporter == DEMO_EMAIL
    assert "alert" not in labels
    copied = _autotask_ticket(paired, "Mouse broken")
    assert copied["contactID"] is None
    assert copied["ticketCategory"] != ALERT  # the PSA's own default, as before
