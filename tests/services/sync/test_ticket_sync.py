"""A sync run between the Autotask emulator (side A) and the Jira emulator (side B): tickets
cross once, an echo never comes back, a crash before the reference was stored duplicates
nothing, one refused ticket fails alone and comes back by the retry queue, a vanished copy is
flagged and never deleted, and a dry run writes nothing anywhere. Updates of mapped tickets:
test_ticket_updates.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from tests.services.sync.conftest import Paired
from tests.services.sync.support import (
    OPS,
    SYNC,
    company,
    jira_refuses_titles_with,
    new_ticket,
    references,
    titles,
)
from ticketbridge.core.sync.content_hash import UNREAD
from ticketbridge.core.sync.reference_map import ItemAction
from ticketbridge.core.sync.sides import Direction, EntityKind, Side
from ticketbridge.services.connections import settings as connection_settings
from ticketbridge.services.sync import run as sync_run
from ticketbridge.services.sync import store
from ticketbridge.storage.models.sync import SyncFailure, SyncReference, SyncRun, SyncWatermark

A_TO_B, B_TO_A, TICKET = Direction.A_TO_B, Direction.B_TO_A, EntityKind.TICKET


def _run(paired: Paired) -> sync_run.RunReport:
    report = sync_run.run(paired.runtime, SYNC)
    assert report.status == "succeeded", [e["error"] for e in report.errors]
    return report


def _query(request: dict[str, object]) -> bool:
    """A read sent as a POST: an Autotask query or a Jira search."""
    return str(request["path"]).endswith(("/query", "/search/jql"))


def _copies(paired: Paired, connection_id: int, title: str) -> int:
    return titles(paired.runtime, connection_id, paired.clock.now - timedelta(days=1)).count(title)


def test_a_ticket_made_in_autotask_appears_in_jira_once(paired: Paired) -> None:
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup failed on FS01")
    first = _run(paired)
    assert first.counts.of(A_TO_B, TICKET).created == 1
    assert _copies(paired, paired.b, "Backup failed on FS01") == 1

    paired.clock.advance(minutes=2)  # within the overlap: the ticket is read again, and skipped
    second = _run(paired)
    assert second.counts.of(A_TO_B, TICKET).seen == 1
    assert second.counts.of(A_TO_B, TICKET).created == 0
    assert _copies(paired, paired.b, "Backup failed on FS01") == 1
    assert references(paired.db) == 1


def test_a_ticket_made_in_jira_appears_in_autotask_once(paired: Paired) -> None:
    new_ticket(paired.runtime, paired.b, OPS, "Restore request for the CRM database", queue=None)
    assert _run(paired).counts.of(B_TO_A, TICKET).created == 1
    paired.clock.advance(minutes=1)
    _run(paired)
    assert _copies(paired, paired.a, "Restore request for the CRM database") == 1


def test_a_copy_the_sync_made_never_comes_back(paired: Paired) -> None:
    new_ticket(paired.runtime, paired.a, paired.acme, "Tape library offline")
    for _ in range(3):
        report = _run(paired)
        paired.clock.advance(minutes=1)
    # The Jira copy is read by every B-to-A pass and skipped: its hash is the one synced.
    assert report.counts.of(B_TO_A, TICKET).seen == 1
    assert report.counts.of(B_TO_A, TICKET).skipped == 1
    assert _copies(paired, paired.a, "Tape library offline") == 1
    assert _copies(paired, paired.b, "Tape library offline") == 1


def test_a_crash_before_the_reference_was_stored_duplicates_nothing(paired: Paired) -> None:
    new_ticket(paired.runtime, paired.a, paired.acme, "Replication lag on SQL02")
    new_ticket(paired.runtime, paired.b, OPS, "Mailbox restore for J. Doe", queue=None)
    _run(paired)
    with paired.db() as session:  # as if the run died between the PSA's answer and the commit
        session.execute(delete(SyncReference))
        session.commit()
    paired.clock.advance(minutes=1)
    rerun = _run(paired)
    assert rerun.counts.of(A_TO_B, TICKET).created == 0
    assert rerun.counts.of(B_TO_A, TICKET).created == 0
    for title in ("Replication lag on SQL02", "Mailbox restore for J. Doe"):
        assert _copies(paired, paired.b, title) == 1
        assert _copies(paired, paired.a, title) == 1
    # Both linked again: Autotask's copy by the marker it carries, Jira's by the marker search.
    assert references(paired.db) == 2


def test_one_refused_ticket_fails_alone_and_is_retried_later(paired: Paired) -> None:
    for title in ("Disk full on NAS1", "POISON ticket", "Certificate expires"):
        new_ticket(paired.runtime, paired.a, paired.acme, title)
    paired.world.routes.refuse = jira_refuses_titles_with("POISON")
    first = sync_run.run(paired.runtime, SYNC)
    assert first.status == "partial"
    assert first.counts.of(A_TO_B, TICKET).created == 2
    assert first.counts.of(A_TO_B, TICKET).failed == 1
    [error] = first.errors
    assert error["item"].startswith("A ") and "summary is not allowed" in error["error"]
    # Read again through the overlap ten minutes later, refused again: its second attempt.
    paired.clock.advance(minutes=10)
    assert sync_run.run(paired.runtime, SYNC).counts.of(A_TO_B, TICKET).failed == 1
    with paired.db() as session:
        [failure] = session.scalars(select(SyncFailure))
        assert (failure.attempts, failure.side) == (2, "a")
    # Past the overlap the listing no longer returns it; the retry queue does, once due.
    paired.world.routes.refuse = lambda request: None
    paired.clock.advance(minutes=30)
    assert _run(paired).counts.of(A_TO_B, TICKET).created == 1
    assert _copies(paired, paired.b, "POISON ticket") == 1
    assert _copies(paired, paired.b, "Disk full on NAS1") == 1
    with paired.db() as session:
        assert session.scalars(select(SyncFailure)).all() == []
        statuses = session.scalars(select(SyncRun.status).order_by(SyncRun.id)).all()
    assert statuses == ["partial", "partial", "succeeded"]


def test_a_copy_deleted_in_jira_is_flagged_and_not_deleted_in_autotask(paired: Paired) -> None:
    new_ticket(paired.runtime, paired.a, paired.acme, "Agent offline on WS12")
    _run(paired)
    with paired.db() as session:
        [entry] = session.scalars(select(SyncReference))
    paired.world.delete_jira_issue(int(entry.b_id))
    paired.clock.advance(minutes=1)
    assert _run(paired).counts.of(A_TO_B, TICKET).flagged == 1
    assert _copies(paired, paired.a, "Agent offline on WS12") == 1
    with paired.db() as session:
        [entry] = session.scalars(select(SyncReference))
        assert entry.flagged and "gone on side B" in entry.flag_reason
    paired.clock.advance(minutes=1)
    assert _run(paired).counts.of(A_TO_B, TICKET).created == 0  # left for an operator


def test_a_ticket_of_a_company_outside_the_scope_stays_where_it_is(paired: Paired) -> None:
    other = company(paired.runtime, paired.a, "Brightwater")
    new_ticket(paired.runtime, paired.a, other, "Not for Jira")
    assert _run(paired).counts.of(A_TO_B, TICKET).created == 0
    assert _copies(paired, paired.b, "Not for Jira") == 0


def test_the_dry_run_writes_nothing_and_shows_what_a_run_would_create(paired: Paired) -> None:
    new_ticket(paired.runtime, paired.a, paired.acme, "Backup job missed")
    new_ticket(paired.runtime, paired.b, OPS, "Please restore a folder", queue=None)
    paired.world.forget_requests()
    report = sync_run.run(paired.runtime, SYNC, dry_run=True)
    assert report.run_id is None and report.diff is not None
    assert report.diff.count(Side.B, ItemAction.CREATE) == 1
    assert report.diff.count(Side.A, ItemAction.CREATE) == 1
    assert {s.label for s in report.diff.sample} == {"Backup job missed", "Please restore a folder"}
    sent = [r for name in ("autotask", "jira") for r in paired.world.requests(name)]
    # Searches and queries are POSTs too; nothing else was sent.
    assert all(str(r["path"]).endswith(("/search/jql", "/Tickets/query")) for r in sent), sent
    with paired.db() as session:
        for table in (SyncReference, SyncRun, SyncWatermark, SyncFailure):
            assert session.scalars(select(table)).all() == []
    assert _copies(paired, paired.b, "Backup job missed") == 0
    assert _run(paired).counts.of(A_TO_B, TICKET).created == 1  # the real run still does


def test_reads_are_batched_not_one_request_per_ticket(paired: Paired) -> None:
    for number in range(6):
        new_ticket(paired.runtime, paired.a, paired.acme, f"Job {number} failed")
    _run(paired)
    paired.clock.advance(minutes=1)
    paired.world.forget_requests()
    report = _run(paired)
    assert report.counts.of(A_TO_B, TICKET).seen == 6
    assert report.counts.of(B_TO_A, TICKET).seen == 6
    # A to B: the Autotask listing, the counterparts in one Jira search; B to A: the Jira
    # listing, the counterparts in one Autotask query. Then each side's notes of the paired
    # tickets in one request, and the pairs' files in one listing per side (the tickets an
    # Autotask listing found no files on are asked for once more, as a deleted ticket also
    # lists nothing).
    assert len(paired.world.requests("jira")) == 2 + 1 + 1
    assert len(paired.world.requests("autotask")) == 2 + 1 + 2


def test_copies_made_in_jira_are_not_read_back_and_the_next_run_skips_them(
    paired: Paired,
) -> None:
    for number in range(4):
        new_ticket(paired.runtime, paired.a, paired.acme, f"Disk {number} degraded")
    paired.world.forget_requests()
    first = _run(paired)
    assert first.counts.of(A_TO_B, TICKET).created == 4
    jira = [f"{r['method']} {r['path']}" for r in paired.world.requests("jira")]
    assert jira.count("POST /rest/api/3/issue") == 4
    assert [r for r in jira if r.startswith("GET /rest/api/3/issue/")] == []
    # B to A reads the copies in the same run: the status Jira gave them is taken as synced,
    # and nothing goes back to Autotask.
    assert first.counts.of(B_TO_A, TICKET).skipped == 4
    autotask = paired.world.requests("autotask")
    assert [r for r in autotask if r["method"] != "GET" and not _query(r)] == []
    with paired.db() as session:
        entries = session.scalars(select(SyncReference)).all()
    assert len(entries) == 4
    assert all(UNREAD not in e.b_field_hashes.values() for e in entries)

    paired.clock.advance(minutes=1)
    paired.world.forget_requests()
    second = _run(paired)
    for direction in (A_TO_B, B_TO_A):
        counts = second.counts.of(direction, TICKET)
        assert (counts.seen, counts.skipped, counts.updated) == (4, 4, 0)
    sent = [r for name in ("autotask", "jira") for r in paired.world.requests(name)]
    assert [r for r in sent if r["method"] != "GET" and not _query(r)] == []
    assert _copies(paired, paired.b, "Disk 0 degraded") == 1


def test_a_disabled_connection_fails_the_run_with_its_reason_and_moves_nothing(
    paired: Paired,
) -> None:
    new_ticket(paired.runtime, paired.a, paired.acme, "Never sent")
    with paired.runtime.session_factory() as session:
        connection_settings.save(
            session,
            paired.runtime.secret_box,
            {"enabled": False},
            actor="test",
            now=paired.clock.now,
            connection_id=paired.b,
        )
        session.commit()
    report = sync_run.run(paired.runtime, SYNC)
    assert report.status == "failed"
    assert report.errors == [{"error": "The Jira integration is disabled.", "result": "run failed"}]
    with paired.db() as session:
        assert session.scalars(select(SyncWatermark)).all() == []
        assert session.scalars(select(SyncRun.status)).all() == ["failed"]


def test_a_sync_runs_once_at_a_time(paired: Paired) -> None:
    assert store.acquire(paired.runtime.session_factory, paired.sync_id, paired.clock.now)
    with pytest.raises(sync_run.SyncBusy):
        sync_run.run(paired.runtime, SYNC)
    store.release(paired.runtime.session_factory, paired.sync_id)
    assert sync_run.run(paired.runtime, SYNC).status == "succeeded"
