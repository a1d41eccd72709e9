"""Exactly one ticket per run under faults (design §4.2; issue 5 item 2).

200 runs; 30% of ticket creates are committed by Autotask but answered with a dropped
connection (a timeout to the client), 20% of ticket requests get a plain 503; every run is
clicked twice at the same moment (two threads). Operators retry what was refused, the recovery
job settles reservations left unknown. In the end the emulator holds exactly 200 of our tickets
and every run is linked to exactly one of them, its own.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_runs
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import Clock, emulator_tickets
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import store, ticketing
from ticketbridge.storage.models import TicketLinkRow

RUNS = 200
WORKERS = 16
MAX_ROUNDS = 6


def _attempt(runtime: Runtime, run_id: int, barrier: threading.Barrier) -> str:
    barrier.wait(timeout=30)
    try:
        ticketing.create(runtime, run_id, actor="olivia")
    except store.TicketBeingCreated:
        return "being_created"
    except store.TicketError as exc:
        return type(exc).__name__
    return "created"


def test_4_2_exactly_one_ticket_per_run_under_faults_and_double_clicks(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session], clock: Clock
) -> None:
    run_ids = add_runs(db, RUNS)
    world.fault(
        kind="drop", when="after_commit", probability=0.3, count=None,
        methods=["POST"], path_contains="/V1.0/Tickets",
    )  # fmt: skip
    world.fault(
        kind="status", status=503, retry_after=0, probability=0.2, count=None,
        methods=["POST"], path_contains="/V1.0/Tickets",
    )  # fmt: skip
    outcomes: Counter[str] = Counter()

    for _round in range(MAX_ROUNDS):
        with db() as session:
            linked = store.current_for_runs(session, run_ids)
        pending = [
            r for r in run_ids if r not in linked or linked[r].state == LinkState.CREATING.value
        ]
        if not pending:
            break
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = []
            for run_id in pending:
                barrier = threading.Barrier(2)
                futures += [pool.submit(_attempt, runtime, run_id, barrier) for _ in range(2)]
            outcomes.update(f.result() for f in futures)
        clock.advance(minutes=6)
        ticketing.settle_pending(runtime)

    tickets = emulator_tickets(world)
    assert len(tickets) == RUNS
    by_reference = {t["externalID"]: t for t in tickets}
    assert len(by_reference) == RUNS
    with db() as session:
        current = list(
            session.scalars(select(TicketLinkRow).where(TicketLinkRow.current_run_id.is_not(None)))
        )
    assert sorted(row.run_id for row in current) == sorted(run_ids)
    assert {row.state for row in current} == {LinkState.ACTIVE.value}
    for row in current:
        assert by_reference[row.reference or ""]["id"] == row.ticket_id
    # The faults and the races really happened.
    log = world.requests()
    assert sum(1 for r in log if r["dropped"]) > RUNS // 10
    assert sum(1 for r in log if r["status"] == 503) > RUNS // 10
    # No click ever got a second ticket through; many were told one is being created (how many
    # depends on thread timing, so only that it happened is asserted).
    assert outcomes["created"] <= RUNS
    assert outcomes["being_created"] > 0
