"""A title both sides changed since the last sync: the conflict is decided by the PSAs' own
modification times and the value that lost is kept in the conflict log, once."""

from __future__ import annotations

from sqlalchemy import select

from tests.services.sync.conftest import Paired
from tests.services.sync.support import SYNC, new_ticket
from ticketbridge.services.sync import run as sync_run
from ticketbridge.storage.models.sync import SyncConflict, SyncReference


def test_a_title_changed_on_both_sides_logs_the_losing_value_once(paired: Paired) -> None:
    ticket = new_ticket(paired.runtime, paired.a, paired.acme, "Backup slow on FS03")
    sync_run.run(paired.runtime, SYNC)
    with paired.db() as session:
        [entry] = session.scalars(select(SyncReference))
    paired.clock.advance(minutes=1)
    paired.world.retitle_jira_issue(int(entry.b_id), "Backup slow on FS03 (Jira)")
    paired.clock.advance(minutes=1)
    paired.world.retitle_autotask_ticket(ticket, "Backup slow on FS03 (Autotask)")
    paired.clock.advance(minutes=1)

    first = sync_run.run(paired.runtime, SYNC)
    sync_run.run(paired.runtime, SYNC)

    with paired.db() as session:
        logged = list(session.scalars(select(SyncConflict)))
    assert [(c.field, c.winner, c.winner_value, c.loser_value) for c in logged] == [
        ("title", "a", "Backup slow on FS03 (Autotask)", "Backup slow on FS03 (Jira)")
    ]
    [conflict] = logged
    assert (conflict.a_id, conflict.b_id) == (str(ticket), entry.b_id)
    assert conflict.winner_modified_at > conflict.loser_modified_at
    assert conflict.run_id == first.run_id
