"""What the entity-switch tests share: the switches and their tables set as an admin would,
tickets made with people and categories on either side, and both sides read back."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from tests.contract.emulator_harness import API_HEADERS
from tests.services.sync.conftest import Paired
from tests.services.sync.support import AS_AGENT, HELPDESK, JIRA_AUTH, OPS, SYNC, psa
from ticketbridge.connectors.psa.base import TicketDraft
from ticketbridge.services.sync import run as sync_run
from ticketbridge.storage.models.sync import SyncReference, SyncRow

BACKUP_ALERTS = 29682969  # another queue of the Autotask emulator's tenant
BUG = "10002"  # a Jira emulator issue type of the OPS project (Bug)
STANDARD, ALERT = 2, 3  # the Autotask emulator's ticket categories
AUTOTASK_API = "/ATServicesRest/V1.0"


def switches(
    paired: Paired, *, contacts: bool = False, teams: bool = False, categories: bool = False
) -> None:
    """The entity switches as told, with their tables: Autotask's Backup Alerts queue to Jira's
    Bug type (from Jira the default, Backup Alerts); Autotask's Standard and Alert categories
    <-> the Jira labels ``standard`` and ``alert`` (and ``vip`` back to Standard)."""
    tables = {
        "a_to_b": {
            "queue": {"rows": {str(BACKUP_ALERTS): BUG}, "default": None},
            "categories": {"rows": {str(STANDARD): "standard", str(ALERT): "alert"}},
        },
        "b_to_a": {
            "queue": {"rows": {}, "default": str(BACKUP_ALERTS)},
            "categories": {
                "rows": {"standard": str(STANDARD), "alert": str(ALERT), "vip": str(STANDARD)}
            },
        },
    }
    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        row.entities = {"contacts": contacts, "teams": teams, "categories": categories}
        mapping = dict(row.mapping)
        for direction, table in tables.items():
            mapping[direction] = mapping.get(direction, {}) | table
        row.mapping = mapping
        flag_modified(row, "mapping")
        session.commit()


def run(paired: Paired) -> sync_run.RunReport:
    report = sync_run.run(paired.runtime, SYNC)
    assert report.status == "succeeded", [e["error"] for e in report.errors]
    return report


def autotask_contact(paired: Paired, address: str) -> int:
    """A contact of Acme with that address, made as an Autotask user would."""
    body = {"firstName": "Alex", "lastName": "Agent", "emailAddress": address, "isActive": 1}
    made = paired.world.autotask_http.post(
        f"{AUTOTASK_API}/Companies/{paired.acme}/Contacts", json=body, headers=API_HEADERS
    )
    assert made.is_success, made.text
    return int(made.json()["itemId"])


def new(paired: Paired, autotask: bool, title: str, **people: object) -> int:
    """A ticket made on side A (Autotask's Acme) or B (Jira's OPS) with these people/tags."""
    connection, company, queue = (
        (paired.a, paired.acme, HELPDESK) if autotask else (paired.b, OPS, None)
    )
    with psa(paired.runtime, connection) as connector:
        draft = TicketDraft(company_id=company, title=title, queue_id=queue)
        return connector.create_ticket(replace(draft, **people)).id  # type: ignore[arg-type]


def counterpart(paired: Paired, autotask_id: int | None = None, jira_id: int | None = None) -> int:
    """The id on the other side of a synced ticket."""
    with paired.db() as session:
        column = SyncReference.a_id if autotask_id is not None else SyncReference.b_id
        entry = session.scalar(select(SyncReference).where(column == str(autotask_id or jira_id)))
    assert entry is not None
    return int(entry.b_id if autotask_id is not None else entry.a_id)


def jira_people(paired: Paired, title: str) -> tuple[str, list[str]]:
    """The reporter's address and the labels of the Jira issue with that summary."""
    answer = paired.world.jira_http.post(
        "/rest/api/3/search/jql",
        json={"jql": f"project = {OPS}", "fields": ["summary", "reporter", "labels"]},
        headers=JIRA_AUTH,
    )
    assert answer.status_code == 200, answer.text
    [fields] = [i["fields"] for i in answer.json()["issues"] if i["fields"]["summary"] == title]
    return fields["reporter"]["emailAddress"], fields["labels"]


def autotask_ticket(paired: Paired, title: str) -> dict[str, object]:
    body = {"filter": [{"op": "eq", "field": "title", "value": title}]}
    answer = paired.world.autotask_http.post(
        f"{AUTOTASK_API}/Tickets/query", json=body, headers=API_HEADERS
    )
    assert answer.is_success, answer.text
    [item] = answer.json()["items"]
    return dict(item)


def jira_issue_types(paired: Paired) -> dict[str, str]:
    """Title -> issue type id of every issue in the Jira emulator."""
    answer = paired.world.jira_http.post(
        "/rest/api/3/search/jql",
        json={"jql": f"project = {OPS}", "fields": ["summary", "issuetype"], "maxResults": 100},
        headers=JIRA_AUTH,
    )
    assert answer.status_code == 200, answer.text
    return {i["fields"]["summary"]: i["fields"]["issuetype"]["id"] for i in answer.json()["issues"]}


def autotask_queue(paired: Paired, title: str) -> int | None:
    with psa(paired.runtime, paired.a) as autotask:
        since = paired.clock.now - timedelta(days=1)
        [ticket] = [t for t in autotask.changed_since(since) if t.title == title]
        return ticket.queue_id


def change_in_autotask(paired: Paired, ticket_id: int, **fields: object) -> None:
    """As a technician would (the emulator's admin route acts as one)."""
    answer = paired.world.autotask_http.patch(f"/_emulator/tickets/{ticket_id}", json=fields)
    assert answer.status_code == 200, answer.text


def change_jira_labels(paired: Paired, issue_id: int, *, remove: str, add: str) -> None:
    """As a Jira user other than the sync's account would (the sync's own change at the instant
    it wrote the issue is its echo): one label for another, the others kept."""
    body = {"update": {"labels": [{"remove": remove}, {"add": add}]}}
    answer = paired.world.jira_http.put(
        f"/rest/api/3/issue/{issue_id}", json=body, headers=AS_AGENT
    )
    assert answer.status_code == 204, answer.text


def writes(paired: Paired) -> list[str]:
    """Ticket writes both emulators received since the log was last cleared."""
    sent = [r for name in ("autotask", "jira") for r in paired.world.requests(name)]
    return [f"{r['method']} {r['path']}" for r in sent if r["method"] in ("PATCH", "PUT")]
