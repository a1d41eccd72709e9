"""Notes between the Autotask emulator (side A) and the Jira emulator (side B) in a sync run:
public and internal notes made on either side appear on the other once with their visibility
kept, the sync's own copies never come back, a crash before a reference was stored duplicates
nothing, and a dry run counts what it would send and writes nothing."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import delete, select

from tests.services.sync.conftest import Paired
from tests.services.sync.notes_support import add_note as _add
from tests.services.sync.notes_support import notes_of as _notes
from tests.services.sync.notes_support import paired_ticket, run_ok
from tests.services.sync.support import SYNC, new_ticket
from ticketbridge.core.sync.reference_map import ItemAction
from ticketbridge.core.sync.sides import Direction, EntityKind, Side
from ticketbridge.services.connections import settings as connection_settings
from ticketbridge.services.sync import run as sync_run
from ticketbridge.storage.models.sync import SyncFailure, SyncReference, SyncRun, SyncWatermark

A_TO_B, B_TO_A, NOTE = Direction.A_TO_B, Direction.B_TO_A, EntityKind.NOTE


BOTH_SIDES = [
    ("Customer confirms the backups run again.", "public"),
    ("Disk replaced in bay 3.", "public"),
    ("Escalated to the storage team.", "internal"),
    ("RAID 5 degraded; customer declined the spare.", "internal"),
]


def _notes_on_both_sides(paired: Paired) -> tuple[int, int]:
    a_id, b_id = paired_ticket(paired, "Backup failed on FS01")
    _add(paired, paired.a, a_id, "Disk replaced in bay 3.", internal=False)
    _add(paired, paired.a, a_id, "RAID 5 degraded; customer declined the spare.", internal=True)
    _add(paired, paired.b, b_id, "Customer confirms the backups run again.", internal=False)
    _add(paired, paired.b, b_id, "Escalated to the storage team.", internal=True)
    paired.clock.advance(minutes=1)
    return a_id, b_id


def test_public_and_internal_notes_cross_both_ways_once_with_their_visibility(
    paired: Paired,
) -> None:
    a_id, b_id = _notes_on_both_sides(paired)

    first = run_ok(paired)

    assert first.counts.of(A_TO_B, NOTE).created == 2
    assert first.counts.of(B_TO_A, NOTE).created == 2
    assert _notes(paired, paired.a, a_id) == BOTH_SIDES
    assert _notes(paired, paired.b, b_id) == BOTH_SIDES
    with paired.db() as session:
        [row] = session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(1))
        assert row.counts["a_to_b.note"]["created"] == 2
        assert row.counts["b_to_a.note"]["created"] == 2
        origins = session.scalars(select(SyncReference.origin).where(SyncReference.kind == "note"))
        assert sorted(origins) == ["a", "a", "b", "b"]


def test_a_second_run_sends_nothing_and_no_copy_comes_back(paired: Paired) -> None:
    a_id, b_id = _notes_on_both_sides(paired)
    run_ok(paired)
    for _ in range(2):
        paired.clock.advance(minutes=1)  # within the overlap: every note is read again
        again = run_ok(paired)
        for direction in (A_TO_B, B_TO_A):
            counts = again.counts.of(direction, NOTE)
            assert (counts.seen, counts.created, counts.skipped) == (4, 0, 4)
    assert _notes(paired, paired.a, a_id) == BOTH_SIDES
    assert _notes(paired, paired.b, b_id) == BOTH_SIDES


def test_a_crash_before_the_note_references_were_stored_duplicates_nothing(
    paired: Paired,
) -> None:
    a_id, b_id = _notes_on_both_sides(paired)
    run_ok(paired)
    with paired.db() as session:  # as if the run died between the PSA's answers and the commits
        session.execute(delete(SyncReference).where(SyncReference.kind == "note"))
        session.commit()
    paired.clock.advance(minutes=1)

    rerun = run_ok(paired)

    assert rerun.counts.of(A_TO_B, NOTE).created == 0
    assert rerun.counts.of(B_TO_A, NOTE).created == 0
    assert _notes(paired, paired.a, a_id) == BOTH_SIDES
    assert _notes(paired, paired.b, b_id) == BOTH_SIDES
    with paired.db() as session:
        kinds = session.scalars(select(SyncReference.kind).where(SyncReference.kind == "note"))
        assert len(list(kinds)) == 4


def test_a_dry_run_counts_the_notes_it_would_send_and_writes_nothing(paired: Paired) -> None:
    a_id, b_id = _notes_on_both_sides(paired)
    with paired.db() as session:
        watermarks = session.scalars(select(SyncWatermark.kind)).all()

    plan = run_ok(paired, dry_run=True)

    assert plan.counts.of(A_TO_B, NOTE).created == 2
    assert plan.counts.of(B_TO_A, NOTE).created == 2
    assert plan.diff is not None
    assert plan.diff.count(Side.B, ItemAction.CREATE, NOTE) == 2
    assert plan.diff.count(Side.A, ItemAction.CREATE, NOTE) == 2
    assert _notes(paired, paired.a, a_id) == [BOTH_SIDES[1], BOTH_SIDES[3]]
    assert _notes(paired, paired.b, b_id) == [BOTH_SIDES[0], BOTH_SIDES[2]]
    with paired.db() as session:
        assert session.scalars(select(SyncReference.kind)).all() == ["ticket"]
        assert session.scalars(select(SyncWatermark.kind)).all() == watermarks


def _jira_restriction(paired: Paired, role: str) -> None:
    """The Jira connection's role for internal comments ("" for none)."""
    with paired.runtime.session_factory() as session:
        connection_settings.save(
            session,
            paired.runtime.secret_box,
            {
                "connector": {
                    "internal_visibility_type": role and "role",
                    "internal_visibility_value": role,
                }
            },
            actor="test",
            now=paired.clock.now,
            connection_id=paired.b,
        )
        session.commit()


def test_an_internal_note_the_target_cannot_keep_internal_fails_and_is_never_made_public(
    paired: Paired,
) -> None:
    a_id, b_id = paired_ticket(paired, "Firewall rule review")
    _jira_restriction(paired, "")  # OPS is no service desk: Jira can hold no internal comment
    _add(paired, paired.a, a_id, "Rule 14 opened for the auditor.", internal=False)
    _add(paired, paired.a, a_id, "Admin password is in the vault, entry FW-2.", internal=True)
    paired.clock.advance(minutes=1)

    report = sync_run.run(paired.runtime, SYNC)

    assert report.status == "partial"
    assert report.counts.of(A_TO_B, NOTE).created == 1
    assert report.counts.of(A_TO_B, NOTE).failed == 1
    [error] = report.errors
    assert error["kind"] == "note" and "restriction" in error["error"]
    assert _notes(paired, paired.b, b_id) == [("Rule 14 opened for the auditor.", "public")]

    # Once the connection names a role, the retry brings it across, internal.
    _jira_restriction(paired, "Administrators")
    paired.clock.advance(minutes=30)
    assert run_ok(paired).counts.of(A_TO_B, NOTE).created == 1
    assert _notes(paired, paired.b, b_id) == [
        ("Admin password is in the vault, entry FW-2.", "internal"),
        ("Rule 14 opened for the auditor.", "public"),
    ]
    with paired.db() as session:
        assert session.scalars(select(SyncFailure)).all() == []


def test_a_first_run_does_not_search_the_copies_it_made_for_stamped_notes(
    paired: Paired,
) -> None:
    a_id = new_ticket(paired.runtime, paired.a, paired.acme, "Share offline")
    _add(paired, paired.a, a_id, "Restarted the share.", internal=False)
    paired.clock.advance(minutes=1)
    comment_searches: list[str] = []

    def record(request: httpx.Request) -> None:
        search = request.url.host == "jira.test" and request.url.path.endswith("/search/jql")
        if search and "comment" in json.loads(request.read() or b"{}").get("fields", []):
            comment_searches.append(request.url.path)

    paired.world.routes.refuse = lambda request: record(request)

    report = run_ok(paired)

    assert report.counts.of(A_TO_B, NOTE).created == 1
    # One: Jira's comments read as the source of B to A. The copy made this run holds no
    # stamped note yet, so A to B does not search it for one.
    assert len(comment_searches) == 1
