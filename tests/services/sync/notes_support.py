"""What the notes and files tests of a sync run share: a run that must succeed, and a ticket
made in Autotask that the sync has paired with its copy in Jira."""

from __future__ import annotations

from sqlalchemy import select

from tests.services.sync.conftest import Paired
from tests.services.sync.support import SYNC, new_ticket
from ticketbridge.services.sync import run as sync_run
from ticketbridge.storage.models.sync import SyncReference


def run_ok(paired: Paired, *, dry_run: bool = False) -> sync_run.RunReport:
    report = sync_run.run(paired.runtime, SYNC, dry_run=dry_run)
    assert report.status == "succeeded", [e["error"] for e in report.errors]
    return report


def paired_ticket(paired: Paired, title: str) -> tuple[int, int]:
    """A ticket made in Autotask and synced to Jira: (its id on A, its copy's id on B); the
    clock then moves a minute on, so what the test does next is after the run."""
    a_id = new_ticket(paired.runtime, paired.a, paired.acme, title)
    run_ok(paired)
    with paired.db() as session:
        b_id = session.scalar(
            select(SyncReference.b_id).where(
                SyncReference.kind == "ticket", SyncReference.a_id == str(a_id)
            )
        )
    assert b_id is not None
    paired.clock.advance(minutes=1)
    return a_id, int(b_id)
