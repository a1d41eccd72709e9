"""The watermark overlap through both emulators: a ticket changed on its own side after the run's
listing was answered, while the run goes on, is carried by the next run, once. The watermark is
the run's start minus the overlap; were it the run's end, the next listing would start after
the change and lose it (core/sync/watermarks.py)."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.services.sync.conftest import Paired
from tests.services.sync.support import SYNC, new_ticket, references, titles
from ticketbridge.core.sync.sides import Direction, EntityKind
from ticketbridge.services.sync import run as sync_run
from ticketbridge.storage.models.sync import SyncRow

BEFORE, AFTER = "Disk full on FS41", "Disk full on FS41 and FS42"


def _run(paired: Paired) -> sync_run.RunReport:
    report = sync_run.run(paired.runtime, SYNC)
    assert report.status == "succeeded", report.errors
    return report


def _titles(paired: Paired, connection_id: int) -> list[str]:
    since = paired.clock.now - timedelta(days=1)
    return [t for t in titles(paired.runtime, connection_id, since) if t.startswith(BEFORE)]


def test_a_change_made_during_a_run_is_carried_by_the_next_run(paired: Paired) -> None:
    # One way, so only the next listing can see the change: both ways, B to A's first read of
    # the new copy reads its original again and would carry the change in this same run.
    with paired.db() as session:
        sync = session.get(SyncRow, paired.sync_id)
        assert sync is not None
        sync.b_to_a = False
        session.commit()
    ticket = new_ticket(paired.runtime, paired.a, paired.acme, BEFORE)
    changed: list[int] = []

    def change_once_listed(request: httpx.Request) -> httpx.Response | None:
        # Answer the run's Autotask listing, then a person retitles the ticket it listed while
        # the run works on for longer than the overlap.
        listing = request.url.path.endswith("/Tickets/query") and b"lastActivityDate" in (
            request.read()
        )
        if changed or not listing:
            return None
        answer = paired.world.autotask.handle_request(request)
        answer.read()
        paired.clock.advance(minutes=1)
        paired.world.retitle_autotask_ticket(ticket, AFTER)
        changed.append(ticket)
        paired.clock.advance(minutes=10)
        return answer

    paired.world.routes.refuse = change_once_listed
    first = _run(paired)

    assert changed, "the run never listed Autotask's tickets"
    assert first.counts.of(Direction.A_TO_B, EntityKind.TICKET).created == 1
    assert _titles(paired, paired.b) == [BEFORE]  # the copy as the listing had it
    paired.clock.advance(minutes=5)

    second = _run(paired)

    assert second.counts.of(Direction.A_TO_B, EntityKind.TICKET).updated == 1
    assert _titles(paired, paired.b) == [AFTER]
    assert _titles(paired, paired.a) == [AFTER]  # the original, alone
    assert references(paired.db) == 1
