"""Notes edited after they were synced, between the Autotask emulator (side A) and the Jira
emulator (side B): an edit reaches the other side once with its visibility kept, two edits are
settled by the later one with the other logged, and a counterpart that is gone is flagged for
an operator, never made again."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.contract.emulator_harness import API_HEADERS
from tests.services.sync.conftest import Paired
from tests.services.sync.notes_support import (
    add_note,
    notes_of,
    paired_on_b,
    paired_ticket,
    run_ok,
)
from tests.services.sync.support import JIRA_AUTH
from ticketbridge.connectors.psa.jira.issues import adf, plain_text
from ticketbridge.core.sync.reference_map import ItemAction
from ticketbridge.core.sync.sides import Direction, EntityKind, Side
from ticketbridge.services.sync import flags
from ticketbridge.services.sync.notes import unstamped
from ticketbridge.storage.models.sync import SyncConflict

A_TO_B, B_TO_A, NOTE = Direction.A_TO_B, Direction.B_TO_A, EntityKind.NOTE


def _synced_note(paired: Paired, a_id: int, text: str, *, internal: bool) -> tuple[int, int]:
    """A note made on the Autotask ticket ``a_id`` and copied to Jira: (its id, its copy's id);
    the clock then moves a minute on."""
    note_id = add_note(paired, paired.a, a_id, text, internal=internal)
    paired.clock.advance(minutes=1)
    run_ok(paired)
    copy_id = paired_on_b(paired, "note", note_id)
    paired.clock.advance(minutes=1)
    return note_id, copy_id


def _jira_comment(paired: Paired, issue_id: int, comment_id: int) -> dict[str, object]:
    answer = paired.world.jira_http.get(
        f"/rest/api/3/issue/{issue_id}/comment/{comment_id}", headers=JIRA_AUTH
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()
    return found


def _edit_in_jira(paired: Paired, issue_id: int, comment_id: int, text: str) -> None:
    """As a Jira user would in the issue view: the first line rewritten, the stamp left."""
    _, stamp = unstamped(plain_text(_jira_comment(paired, issue_id, comment_id)["body"]))
    body = {"body": adf(f"{text}\n\n[{stamp}]")}
    answer = paired.world.jira_http.put(
        f"/rest/api/3/issue/{issue_id}/comment/{comment_id}", json=body, headers=JIRA_AUTH
    )
    assert answer.status_code == 200, answer.text
    paired.clock.advance(minutes=1)


def _edit_in_autotask(paired: Paired, ticket_id: int, note_id: int, text: str) -> None:
    """As a technician would: the note's title and text, through the route notes are made by."""
    answer = paired.world.autotask_http.patch(
        f"/ATServicesRest/V1.0/Tickets/{ticket_id}/Notes",
        headers=API_HEADERS,
        json={"id": note_id, "title": text.splitlines()[0], "description": text},
    )
    assert answer.is_success, answer.text
    paired.clock.advance(minutes=1)


def _autotask_note(paired: Paired, note_id: int) -> dict[str, object]:
    answer = paired.world.autotask_http.get(
        f"/ATServicesRest/V1.0/TicketNotes/{note_id}", headers=API_HEADERS
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, object] = answer.json()["item"]
    return found


def test_an_edited_public_jira_comment_updates_its_autotask_note_once(paired: Paired) -> None:
    a_id, b_id = paired_ticket(paired, "Backup failed on FS01")
    note_id, copy_id = _synced_note(paired, a_id, "Disk replaced in bay 3.", internal=False)

    _edit_in_jira(paired, b_id, copy_id, "Disk replaced in bay 4, not 3.")
    plan = run_ok(paired, dry_run=True)
    assert plan.diff is not None and plan.diff.count(Side.A, ItemAction.UPDATE, NOTE) == 1
    assert notes_of(paired, paired.a, a_id) == [("Disk replaced in bay 3.", "public")]
    report = run_ok(paired)

    assert report.counts.of(B_TO_A, NOTE).updated == 1
    assert report.counts.of(A_TO_B, NOTE).updated == 0
    expected = [("Disk replaced in bay 4, not 3.", "public")]
    assert notes_of(paired, paired.a, a_id) == expected
    assert notes_of(paired, paired.b, b_id) == expected
    original = _autotask_note(paired, note_id)
    assert original["publish"] == 1  # still "All Autotask Users"
    assert "tbsync" not in str(original["description"])  # the original carries no stamp
    for _ in range(2):
        paired.clock.advance(minutes=1)  # within the overlap: both notes are read again
        again = run_ok(paired)
        for direction in (A_TO_B, B_TO_A):
            assert again.counts.of(direction, NOTE).updated == 0
    assert notes_of(paired, paired.a, a_id) == expected
    assert notes_of(paired, paired.b, b_id) == expected


def test_an_edited_internal_autotask_note_updates_the_internal_jira_comment(
    paired: Paired,
) -> None:
    a_id, b_id = paired_ticket(paired, "Firewall rule review")
    note_id, copy_id = _synced_note(paired, a_id, "Vault entry FW-2 rotated.", internal=True)

    _edit_in_autotask(paired, a_id, note_id, "Vault entry FW-3 rotated; FW-2 retired.")
    report = run_ok(paired)

    assert report.counts.of(A_TO_B, NOTE).updated == 1
    expected = [("Vault entry FW-3 rotated; FW-2 retired.", "internal")]
    assert notes_of(paired, paired.b, b_id) == expected
    assert notes_of(paired, paired.a, a_id) == expected
    comment = _jira_comment(paired, b_id, copy_id)
    restriction = comment["visibility"]
    assert isinstance(restriction, dict)
    assert (restriction["type"], restriction["value"]) == ("role", "Administrators")
    assert unstamped(plain_text(comment["body"]))[1] is not None  # the copy keeps its stamp
    paired.clock.advance(minutes=1)
    again = run_ok(paired)
    assert again.counts.of(A_TO_B, NOTE).updated == again.counts.of(B_TO_A, NOTE).updated == 0


def test_a_note_edited_on_both_sides_takes_the_later_edit_and_logs_the_other(
    paired: Paired,
) -> None:
    a_id, b_id = paired_ticket(paired, "Printer queue stuck")
    note_id, copy_id = _synced_note(paired, a_id, "Spooler restarted.", internal=False)

    _edit_in_autotask(paired, a_id, note_id, "Spooler restarted twice.")
    _edit_in_jira(paired, b_id, copy_id, "Spooler restarted; driver updated.")  # later
    report = run_ok(paired)

    expected = [("Spooler restarted; driver updated.", "public")]
    assert notes_of(paired, paired.a, a_id) == expected
    assert notes_of(paired, paired.b, b_id) == expected
    with paired.db() as session:
        [conflict] = session.scalars(select(SyncConflict)).all()
    assert (conflict.kind, conflict.a_id, conflict.b_id) == ("note", str(note_id), str(copy_id))
    assert (conflict.field, conflict.winner) == ("text", "b")
    assert conflict.winner_value == "Spooler restarted; driver updated."
    assert conflict.loser_value == "Spooler restarted twice."
    assert conflict.winner_modified_at > conflict.loser_modified_at
    assert conflict.run_id == report.run_id
    paired.clock.advance(minutes=1)
    again = run_ok(paired)
    assert again.counts.of(A_TO_B, NOTE).updated == again.counts.of(B_TO_A, NOTE).updated == 0
    with paired.db() as session:
        assert len(session.scalars(select(SyncConflict)).all()) == 1


def _flagged_notes(paired: Paired) -> list[tuple[str, str, str]]:
    with paired.db() as session:
        found = flags.flagged(session, paired.sync_id)
        return [(e.a_id, e.b_id, e.flag_reason) for e in found if e.kind == "note"]


def test_an_edit_whose_counterpart_was_deleted_is_flagged_and_nothing_is_made_again(
    paired: Paired,
) -> None:
    a_id, b_id = paired_ticket(paired, "VPN drops hourly")
    note_id, copy_id = _synced_note(paired, a_id, "Tunnel rekey set to 8h.", internal=False)
    deleted = paired.world.jira_http.delete(
        f"/rest/api/3/issue/{b_id}/comment/{copy_id}", headers=JIRA_AUTH
    )
    assert deleted.status_code == 204, deleted.text

    _edit_in_autotask(paired, a_id, note_id, "Tunnel rekey set to 24h.")
    report = run_ok(paired)

    assert report.counts.of(A_TO_B, NOTE).flagged == 1
    assert _flagged_notes(paired) == [
        (str(note_id), str(copy_id), f"note {copy_id} is gone on side B; not propagated")
    ]
    assert notes_of(paired, paired.b, b_id) == []
    assert notes_of(paired, paired.a, a_id) == [("Tunnel rekey set to 24h.", "public")]
    _edit_in_autotask(paired, a_id, note_id, "Tunnel rekey set to 12h.")
    again = run_ok(paired)
    assert again.counts.of(A_TO_B, NOTE).created == again.counts.of(A_TO_B, NOTE).updated == 0
    assert notes_of(paired, paired.b, b_id) == []


def test_a_counterpart_deleted_between_the_read_and_the_write_is_flagged(
    paired: Paired,
) -> None:
    a_id, b_id = paired_ticket(paired, "Mail queue backlog")
    note_id, copy_id = _synced_note(paired, a_id, "Queue at 4,000.", internal=False)
    _edit_in_autotask(paired, a_id, note_id, "Queue at 400 and falling.")

    def gone_on_write(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PUT" and request.url.path.endswith(f"/comment/{copy_id}"):
            body = {"errorMessages": [f"Can not find a comment for the id: {copy_id}."]}
            return httpx.Response(404, json=body, request=request)
        return None

    paired.world.routes.refuse = gone_on_write
    report = run_ok(paired)

    assert report.counts.of(A_TO_B, NOTE).flagged == 1
    assert [reason for *_, reason in _flagged_notes(paired)] == [
        f"note {copy_id} is gone on side B; not propagated"
    ]
    assert notes_of(paired, paired.b, b_id) == [("Queue at 4,000.", "public")]
