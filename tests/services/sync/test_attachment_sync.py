"""Files between the Autotask emulator (side A) and the Jira emulator (side B) in a sync run:
a file made on either side is uploaded to the other once, with its sha256 in the reference map;
a changed file with the same name is sent again; a listing that fails fails the ticket pairs it
covers, and a ticket a listing leaves out fails its pair alone (neither is ever read as "no
files yet"), and the pairs are retried; a run lists files in batches, not per ticket; a dry run
counts what it would send and writes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import httpx
from sqlalchemy import select

from tests.services.sync.conftest import Paired
from tests.services.sync.notes_support import paired_ticket, run_ok
from tests.services.sync.support import SYNC, new_ticket, psa
from ticketbridge.connectors import registry
from ticketbridge.core.sync.sides import Direction, EntityKind
from ticketbridge.services.sync import run as sync_run
from ticketbridge.storage.models.sync import SyncFailure, SyncReference

A_TO_B, B_TO_A, FILE = Direction.A_TO_B, Direction.B_TO_A, EntityKind.ATTACHMENT
TICKET = EntityKind.TICKET
LOG_1 = b"backup run 1: 412 files, 0 errors\n"
LOG_2 = b"backup run 2: 409 files, 3 errors\n"


def _attach(paired: Paired, connection_id: int, ticket_id: int, name: str, data: bytes) -> None:
    with psa(paired.runtime, connection_id) as connector:
        files = registry.attachments(connector.kind)
        files.add(connector, ticket_id, file_name=name, content_type="text/plain", data=data)


def _files(paired: Paired, connection_id: int, ticket_id: int) -> list[tuple[str, str]]:
    """The ticket's files as (name, sha256), oldest first."""
    with psa(paired.runtime, connection_id) as connector:
        files = registry.attachments(connector.kind)
        return [
            (
                f.file_name,
                hashlib.sha256(files.download(connector, f, max_bytes=1 << 20)).hexdigest(),
            )
            for f in files.list_attachments(connector, ticket_id)
        ]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_search(request: httpx.Request) -> bool:
    """A Jira search for issues' files (the batched listing)."""
    if request.url.host != "jira.test" or request.method != "POST":
        return False
    if not request.url.path.endswith("/search/jql"):
        return False
    return "attachment" in json.loads(request.read() or b"{}").get("fields", [])


def jira_refuses_file_listings(request: httpx.Request) -> httpx.Response | None:
    """Jira answers 503 to every search for files."""
    if not _file_search(request):
        return None
    body = {"errorMessages": ["Jira is busy."], "errors": {}}
    return httpx.Response(503, json=body, request=request)


def jira_hides_issue_from_file_listings(
    paired: Paired, issue_id: int
) -> Callable[[httpx.Request], httpx.Response | None]:
    """Jira's searches for files leave ``issue_id`` out, as for an issue the user cannot see."""

    def hide(request: httpx.Request) -> httpx.Response | None:
        if not _file_search(request):
            return None
        answer = paired.world.jira.handle_request(request)
        answer.read()
        found = answer.json()
        found["issues"] = [i for i in found["issues"] if int(i["id"]) != issue_id]
        return httpx.Response(answer.status_code, json=found, request=request)

    return hide


def test_a_file_syncs_once_and_a_changed_file_with_the_same_name_again(paired: Paired) -> None:
    a_id, b_id = paired_ticket(paired, "Backup failed on FS01")
    _attach(paired, paired.a, a_id, "backup.log", LOG_1)
    _attach(paired, paired.b, b_id, "screenshot.txt", b"the error dialog\n")
    paired.clock.advance(minutes=1)

    first = run_ok(paired)

    assert first.counts.of(A_TO_B, FILE).created == 1
    assert first.counts.of(B_TO_A, FILE).created == 1
    expected = sorted(
        [("backup.log", _sha(LOG_1)), ("screenshot.txt", _sha(b"the error dialog\n"))]
    )
    assert sorted(_files(paired, paired.a, a_id)) == expected
    assert sorted(_files(paired, paired.b, b_id)) == expected
    with paired.db() as session:
        hashes = session.execute(
            select(SyncReference.a_hash, SyncReference.b_hash).where(
                SyncReference.kind == "attachment"
            )
        ).all()
    assert sorted(a for a, b in hashes if a == b) == sorted(sha for _, sha in expected)

    paired.clock.advance(minutes=1)  # within the overlap: both tickets are read again
    second = run_ok(paired)
    assert second.counts.of(A_TO_B, FILE).created == 0
    assert second.counts.of(B_TO_A, FILE).created == 0
    assert sorted(_files(paired, paired.b, b_id)) == expected

    _attach(paired, paired.a, a_id, "backup.log", LOG_2)  # the same name, other bytes
    paired.clock.advance(minutes=1)
    third = run_ok(paired)
    assert third.counts.of(A_TO_B, FILE).created == 1
    assert third.counts.of(B_TO_A, FILE).created == 0
    on_jira = _files(paired, paired.b, b_id)
    assert on_jira.count(("backup.log", _sha(LOG_2))) == 1
    assert on_jira.count(("backup.log", _sha(LOG_1))) == 1
    assert len(_files(paired, paired.a, a_id)) == 3


def test_a_failing_file_listing_fails_the_pairs_it_covers_and_they_are_retried(
    paired: Paired,
) -> None:
    first_a, first_b = paired_ticket(paired, "Share offline")
    second_a, second_b = paired_ticket(paired, "Printer jam")
    _attach(paired, paired.a, first_a, "share.log", LOG_1)
    _attach(paired, paired.a, second_a, "printer.log", LOG_2)
    paired.clock.advance(minutes=1)
    paired.world.routes.refuse = jira_refuses_file_listings

    report = sync_run.run(paired.runtime, SYNC)

    assert report.status == "partial"
    assert {e["kind"] for e in report.errors} == {"attachment"}
    assert all("could not be read" in e["error"] for e in report.errors)
    assert report.counts.of(B_TO_A, FILE).failed == 2
    assert report.counts.of(A_TO_B, FILE).created == 0
    with paired.db() as session:
        failed = {(f.kind, f.item_id) for f in session.scalars(select(SyncFailure))}
    assert failed == {("attachment", str(first_a)), ("attachment", str(second_a))}

    paired.world.routes.refuse = lambda request: None
    # Nothing was uploaded blind.
    assert _files(paired, paired.b, first_b) == _files(paired, paired.b, second_b) == []
    # Past the overlap the ticket listing no longer returns the pairs; their due retry does.
    paired.clock.advance(minutes=30)
    retried = run_ok(paired)
    assert retried.counts.of(A_TO_B, FILE).created == 2
    assert _files(paired, paired.b, first_b) == [("share.log", _sha(LOG_1))]
    assert _files(paired, paired.b, second_b) == [("printer.log", _sha(LOG_2))]
    with paired.db() as session:
        assert session.scalars(select(SyncFailure)).all() == []


def test_a_ticket_the_listing_leaves_out_fails_its_pair_alone(paired: Paired) -> None:
    hidden_a, hidden_b = paired_ticket(paired, "Share offline")
    other_a, other_b = paired_ticket(paired, "Printer jam")
    _attach(paired, paired.a, hidden_a, "share.log", LOG_1)
    _attach(paired, paired.a, other_a, "printer.log", LOG_2)
    paired.clock.advance(minutes=1)
    paired.world.routes.refuse = jira_hides_issue_from_file_listings(paired, hidden_b)

    report = sync_run.run(paired.runtime, SYNC)

    assert report.status == "partial"
    [error] = report.errors
    assert error["kind"] == "attachment" and "not found" in error["error"]
    assert report.counts.of(A_TO_B, FILE).created == 1
    assert _files(paired, paired.b, other_b) == [("printer.log", _sha(LOG_2))]
    paired.world.routes.refuse = lambda request: None
    assert _files(paired, paired.b, hidden_b) == []  # never taken as "no files yet"
    with paired.db() as session:
        [failure] = session.scalars(select(SyncFailure))
        assert (failure.kind, failure.item_id) == ("attachment", str(hidden_a))


def test_file_listings_cost_requests_per_page_not_per_ticket(paired: Paired) -> None:
    pairs = [paired_ticket(paired, f"Backup failed on FS{n:02}") for n in range(6)]
    for a_id, _ in pairs:
        _attach(paired, paired.a, a_id, "backup.log", LOG_1)
    paired.clock.advance(minutes=1)
    listings: list[str] = []

    def record(request: httpx.Request) -> None:
        if _file_search(request):
            listings.append("jira search")
        elif request.url.path.endswith("/TicketAttachments/query"):
            listings.append("autotask query")
        elif request.method == "GET" and "attachment" in request.url.params.get("fields", ""):
            listings.append("jira issue")  # a listing of one issue's files

    paired.world.routes.refuse = lambda request: record(request)

    report = run_ok(paired)

    assert report.counts.of(A_TO_B, FILE).created == 6
    assert sorted(listings) == ["autotask query", "jira search"]


def test_a_first_run_lists_no_files_of_the_copies_it_made(paired: Paired) -> None:
    made = [new_ticket(paired.runtime, paired.a, paired.acme, f"Job {n} failed") for n in range(3)]
    for a_id in made:
        _attach(paired, paired.a, a_id, "job.log", LOG_1)
    paired.clock.advance(minutes=1)
    listings: list[str] = []

    def record(request: httpx.Request) -> None:
        if _file_search(request):
            listings.append("jira search")
        elif request.url.path.endswith("/TicketAttachments/query"):
            listings.append("autotask query")

    paired.world.routes.refuse = lambda request: record(request)

    report = run_ok(paired)

    assert report.counts.of(A_TO_B, TICKET).created == 3
    assert report.counts.of(A_TO_B, FILE).created == 3
    # The new Jira copies hold no files yet: only the Autotask side is listed.
    assert listings == ["autotask query"]
    with paired.db() as session:
        copies = session.scalars(
            select(SyncReference.b_id).where(SyncReference.kind == "ticket")
        ).all()
    assert all(_files(paired, paired.b, int(b_id)) == [("job.log", _sha(LOG_1))] for b_id in copies)


def test_a_dry_run_counts_the_files_it_would_send_and_writes_nothing(paired: Paired) -> None:
    a_id, b_id = paired_ticket(paired, "Backup failed on FS01")
    _attach(paired, paired.a, a_id, "backup.log", LOG_1)
    paired.clock.advance(minutes=1)

    plan = run_ok(paired, dry_run=True)

    assert plan.counts.of(A_TO_B, FILE).created == 1
    assert _files(paired, paired.b, b_id) == []
    with paired.db() as session:
        kinds = session.scalars(select(SyncReference.kind)).all()
    assert kinds == ["ticket"]
    assert run_ok(paired).counts.of(A_TO_B, FILE).created == 1  # the real run still does
    assert _files(paired, paired.b, b_id) == [("backup.log", _sha(LOG_1))]
