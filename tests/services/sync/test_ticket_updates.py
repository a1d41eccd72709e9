"""Updates of mapped tickets between the Autotask emulator (side A) and the Jira emulator
(side B): a title, status or priority changed on either side reaches the other once, through
the sync's status and priority tables; a field changed on both sides keeps the later change and
logs the loser; the sync's own update coming back writes nothing; a value without a row in its
table is left unchanged and said in the run's errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.contract.emulator_harness import API_HEADERS
from tests.services.sync.conftest import Paired
from tests.services.sync.support import JIRA_AUTH, SYNC, new_ticket, psa
from ticketbridge.connectors.psa.base import RemoteTicket
from ticketbridge.core.sync.sides import Direction, EntityKind
from ticketbridge.services.sync import admin
from ticketbridge.services.sync import run as sync_run
from ticketbridge.storage.models.sync import SyncConflict, SyncFailure, SyncReference, SyncRow

A_TO_B, B_TO_A, TICKET = Direction.A_TO_B, Direction.B_TO_A, EntityKind.TICKET
# Autotask status New 1, In Progress 8; Jira (OPS) To Do 1, In Progress 3.
STATUS = {"1": "1", "8": "3"}
# Autotask priority High 1, Medium 2, Low 4; Jira High 2, Medium 3, Low 4.
PRIORITY = {"1": "2", "2": "3", "4": "4"}
JIRA_IN_PROGRESS = "21"  # the OPS workflow's transition into In Progress
WRITES = ("PATCH", "PUT")


def _tables(paired: Paired, status: dict[str, str] = STATUS) -> None:
    """The status and priority tables both ways, as an admin would set them on the form."""

    def table(rows: dict[str, str]) -> dict[str, Any]:
        return {"rows": rows, "default": None}

    def back(rows: dict[str, str]) -> dict[str, str]:
        return {b: a for a, b in rows.items()}

    with paired.db() as session:
        row = session.get(SyncRow, paired.sync_id)
        assert row is not None
        mapping = dict(row.mapping or {})
        for direction, flip in (("a_to_b", False), ("b_to_a", True)):
            side = dict(mapping.get(direction) or {})
            side["status"] = table(back(status) if flip else status)
            side["priority"] = table(back(PRIORITY) if flip else PRIORITY)
            mapping[direction] = side
        admin.change(session, row, {"mapping": mapping}, actor="test", now=paired.clock.now)
        session.commit()


def _run(paired: Paired) -> sync_run.RunReport:
    paired.clock.advance(minutes=1)
    report = sync_run.run(paired.runtime, SYNC)
    assert report.status == "succeeded", report.errors
    return report


def _pair(paired: Paired, title: str) -> tuple[int, int]:
    """A ticket made in Autotask and synced to Jira: (Autotask id, Jira id)."""
    ticket = new_ticket(paired.runtime, paired.a, paired.acme, title)
    _run(paired)
    with paired.db() as session:
        entry = session.scalar(select(SyncReference).where(SyncReference.a_id == str(ticket)))
    assert entry is not None
    paired.clock.advance(minutes=1)
    return ticket, int(entry.b_id)


def _read(paired: Paired, connection_id: int, ticket_id: int) -> RemoteTicket:
    with psa(paired.runtime, connection_id) as connector:
        return connector.get_tickets([ticket_id])[ticket_id]


def _change_in_autotask(paired: Paired, ticket_id: int, **fields: object) -> None:
    """As a technician would (the emulator's admin route acts as one)."""
    answer = paired.world.autotask_http.patch(f"/_emulator/tickets/{ticket_id}", json=fields)
    assert answer.status_code == 200, answer.text


def _change_in_jira(
    paired: Paired, issue_id: int, *, transition: str | None = None, **fields: Any
) -> None:
    http = paired.world.jira_http
    if fields:
        answer = http.put(
            f"/rest/api/3/issue/{issue_id}", json={"fields": fields}, headers=JIRA_AUTH
        )
        assert answer.status_code == 204, answer.text
    if transition:
        body = {"transition": {"id": transition}}
        answer = http.post(
            f"/rest/api/3/issue/{issue_id}/transitions", json=body, headers=JIRA_AUTH
        )
        assert answer.status_code == 204, answer.text


def _writes(paired: Paired) -> list[str]:
    """Ticket writes both emulators received since the log was last cleared."""
    sent = [r for name in ("autotask", "jira") for r in paired.world.requests(name)]
    return [
        f"{r['method']} {r['path']}"
        for r in sent
        if r["method"] in WRITES
        or (str(r["path"]).endswith("/transitions") and r["method"] == "POST")
    ]


def test_title_status_and_priority_changed_in_autotask_reach_jira_once(paired: Paired) -> None:
    _tables(paired)
    ticket, issue = _pair(paired, "Backup slow on FS02")
    _change_in_autotask(paired, ticket, title="Backup slow on FS02 (disk)", status=8, priority=1)

    report = _run(paired)

    assert report.counts.of(A_TO_B, TICKET).updated == 1
    copy = _read(paired, paired.b, issue)
    assert (copy.title, copy.status_id, copy.priority_id) == ("Backup slow on FS02 (disk)", 3, 2)
    original = _read(paired, paired.a, ticket)
    assert (original.title, original.status_id, original.priority_id) == (copy.title, 8, 1)

    paired.world.forget_requests()
    again = _run(paired)
    assert again.counts.of(A_TO_B, TICKET).updated == 0
    assert again.counts.of(B_TO_A, TICKET).updated == 0
    assert _writes(paired) == []  # our own update read back on the other side is no change


def test_title_status_and_priority_changed_in_jira_reach_autotask_once(paired: Paired) -> None:
    _tables(paired)
    ticket, issue = _pair(paired, "Restore test overdue")
    _change_in_jira(
        paired,
        issue,
        transition=JIRA_IN_PROGRESS,
        summary="Restore test overdue (scheduled)",
        priority={"id": "4"},
    )

    report = _run(paired)

    assert report.counts.of(B_TO_A, TICKET).updated == 1
    original = _read(paired, paired.a, ticket)
    assert (original.title, original.status_id, original.priority_id) == (
        "Restore test overdue (scheduled)",
        8,
        4,
    )
    paired.world.forget_requests()
    assert _run(paired).counts.of(A_TO_B, TICKET).updated == 0
    assert _writes(paired) == []


def test_a_description_edited_in_jira_reaches_autotask(paired: Paired) -> None:
    ticket, issue = _pair(paired, "Offsite copy missing")
    text = "The offsite job stopped on Monday.\n\nVendor case 4411."
    _change_in_jira(paired, issue, description=_adf(text))
    assert _run(paired).counts.of(B_TO_A, TICKET).updated == 1
    assert _read(paired, paired.a, ticket).description == text


def test_a_field_changed_on_both_sides_keeps_the_later_change_and_logs_the_other(
    paired: Paired,
) -> None:
    ticket, issue = _pair(paired, "Backup slow on FS03")
    _change_in_jira(paired, issue, summary="Backup slow on FS03 (Jira)")
    paired.clock.advance(minutes=1)
    _change_in_autotask(paired, ticket, title="Backup slow on FS03 (Autotask)")

    report = _run(paired)

    assert report.counts.of(A_TO_B, TICKET).updated == 1
    assert _read(paired, paired.b, issue).title == "Backup slow on FS03 (Autotask)"
    assert _read(paired, paired.a, ticket).title == "Backup slow on FS03 (Autotask)"
    with paired.db() as session:
        logged = [(c.field, c.winner, c.loser_value) for c in session.scalars(select(SyncConflict))]
    assert logged == [("title", "a", "Backup slow on FS03 (Jira)")]


def test_an_earlier_edit_of_one_field_and_a_later_edit_of_another_are_both_kept(
    paired: Paired,
) -> None:
    _tables(paired)
    ticket, issue = _pair(paired, "Tape rotation late")
    _change_in_autotask(paired, ticket, title="Tape rotation late (week 49)")
    paired.clock.advance(minutes=1)
    _change_in_jira(paired, issue, priority={"id": "2"})

    _run(paired)

    for side, connection_id, ticket_id, high in (
        ("a", paired.a, ticket, 1),
        ("b", paired.b, issue, 2),
    ):
        found = _read(paired, connection_id, ticket_id)
        assert (found.title, found.priority_id) == ("Tape rotation late (week 49)", high), side
    with paired.db() as session:
        assert session.scalars(select(SyncConflict)).all() == []


def test_a_status_without_a_row_is_left_unchanged_and_said_in_the_errors(paired: Paired) -> None:
    _tables(paired, status={"1": "1"})  # In Progress has no row either way
    ticket, issue = _pair(paired, "Replication lag on SQL02")
    _change_in_jira(paired, issue, transition=JIRA_IN_PROGRESS, summary="Replication lag (vendor)")
    paired.clock.advance(minutes=1)

    report = sync_run.run(paired.runtime, SYNC)

    assert report.status == "partial"  # the table needs its row: an operator's work
    assert report.counts.of(B_TO_A, TICKET).updated == 1  # the title still went across
    original = _read(paired, paired.a, ticket)
    assert (original.title, original.status_id) == ("Replication lag (vendor)", 1)
    assert [(e["item"], e["result"], e["error"]) for e in report.errors] == [
        (
            f"B {issue}",
            "unmapped",
            "status 3 has no row and no default in the b_to_a status table: not written on side A",
        )
    ]


def test_a_change_that_only_an_unmapped_value_makes_fails_the_ticket_until_it_is_mapped(
    paired: Paired,
) -> None:
    _tables(paired, status={"1": "1"})
    ticket, issue = _pair(paired, "Agent offline on WS12")
    _change_in_jira(paired, issue, transition=JIRA_IN_PROGRESS)

    report = sync_run.run(paired.runtime, SYNC)

    assert report.status == "partial"
    assert report.counts.of(B_TO_A, TICKET).failed == 1
    assert "status 3 has no row" in report.errors[0]["error"]
    with paired.db() as session:
        assert len(session.scalars(select(SyncFailure)).all()) == 1
    _tables(paired)  # the row added: the retry brings the status across
    paired.clock.advance(hours=1)
    assert _run(paired).counts.of(B_TO_A, TICKET).updated == 1
    assert _read(paired, paired.a, ticket).status_id == 8


def test_the_psa_rewriting_the_syncs_own_update_under_its_account_is_not_sent_back(
    paired: Paired,
) -> None:
    ticket, issue = _pair(paired, "Backup window too short")
    _change_in_jira(paired, issue, summary="Backup window too short (22:00)")
    _run(paired)  # B to A writes the new title onto the Autotask ticket
    # At the same instant Autotask changes what the sync wrote, under the sync's API user
    # (as a workflow rule run on its save would): the sync's own write, coming back.
    answer = paired.world.autotask_http.patch(
        "/ATServicesRest/V1.0/Tickets",
        json={"id": ticket, "title": "Backup window too short (22:00) [rule]"},
        headers=API_HEADERS,
    )
    assert answer.status_code == 200, answer.text

    report = _run(paired)

    assert report.counts.of(A_TO_B, TICKET).updated == 0
    assert _read(paired, paired.b, issue).title == "Backup window too short (22:00)"
    # Settled: later runs do not look at it again.
    assert _run(paired).counts.of(A_TO_B, TICKET).updated == 0


def test_a_later_change_under_the_same_account_is_carried(paired: Paired) -> None:
    """ticketbridge itself (closing an alert's ticket) may use the sync's connection: a change
    made after the sync last wrote the ticket is a change, whoever's account made it."""
    ticket, issue = _pair(paired, "Nightly job failed")
    answer = paired.world.autotask_http.patch(
        "/ATServicesRest/V1.0/Tickets",
        json={"id": ticket, "title": "Nightly job failed (retried)"},
        headers=API_HEADERS,
    )
    assert answer.status_code == 200, answer.text

    assert _run(paired).counts.of(A_TO_B, TICKET).updated == 1
    assert _read(paired, paired.b, issue).title == "Nightly job failed (retried)"


def _adf(text: str) -> dict[str, Any]:
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": block}]}
        for block in text.split("\n\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}
