"""What the notes and files tests of a sync run share: a run that must succeed, a ticket made
in Autotask that the sync has paired with its copy in Jira, and notes added and read back."""

from __future__ import annotations

from sqlalchemy import select

from tests.services.sync.conftest import Paired
from tests.services.sync.support import SYNC, new_ticket, psa
from ticketbridge.connectors import registry
from ticketbridge.services.sync import run as sync_run
from ticketbridge.services.sync.notes import unstamped
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
    b_id = paired_on_b(paired, "ticket", a_id)
    paired.clock.advance(minutes=1)
    return a_id, b_id


def paired_on_b(paired: Paired, kind: str, a_id: int) -> int:
    """The id on B the reference map pairs item ``a_id`` of side A with."""
    with paired.db() as session:
        b_id = session.scalar(
            select(SyncReference.b_id).where(
                SyncReference.kind == kind, SyncReference.a_id == str(a_id)
            )
        )
    assert b_id is not None
    return int(b_id)


def add_note(
    paired: Paired, connection_id: int, ticket_id: int, text: str, *, internal: bool
) -> int:
    with psa(paired.runtime, connection_id) as connector:
        return connector.add_note(ticket_id, text, internal=internal)


def notes_of(paired: Paired, connection_id: int, ticket_id: int) -> list[tuple[str, str]]:
    """The ticket's notes as (text without the sync's stamp, visibility), sorted."""
    with psa(paired.runtime, connection_id) as connector:
        found = registry.notes(connector.kind).for_ticket(connector, ticket_id)
    return sorted((unstamped(n.text)[0].strip(), n.visibility) for n in found)
