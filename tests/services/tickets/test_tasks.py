"""The periodic ticket jobs are registered, scheduled and call the services (§6B.3, §4.2)."""

from __future__ import annotations

from tests.factories import NOW
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import Clock, current, delete_ticket, emulator_tickets
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import ticketing
from ticketbridge.worker import tasks


def test_ticket_jobs_are_scheduled() -> None:
    scheduled = {s.task for s in tasks.SCHEDULES}
    assert {"tickets.recover_creating", "tickets.validate_links"} <= scheduled
    assert {"tickets.recover_creating", "tickets.validate_links"} <= set(tasks.TASKS)


def test_6b_3_validation_job_marks_a_deleted_ticket(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    ticket_id = ticketing.create(runtime, run_id, actor="o").link.ticket_id
    delete_ticket(world, ticket_id or 0)
    clock.advance(minutes=6)
    tasks.TASKS["tickets.validate_links"](runtime)
    clock.advance(minutes=1)
    tasks.TASKS["tickets.validate_links"](runtime)

    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.DELETED_EXTERNAL.value


def test_4_2_recovery_job_links_a_ticket_committed_before_a_crash(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    world.fault(kind="drop", when="after_commit", methods=["POST"], path_contains="/Tickets")
    world.fault(kind="status", status=503, retry_after=0, count=10, path_contains="/Tickets/query")
    pending = ticketing.create(runtime, run_id, actor="o")
    assert pending.link.state == "creating"  # committed in Autotask, not confirmed to us
    world.admin("DELETE", "faults")
    clock.advance(minutes=1)

    tasks.TASKS["tickets.recover_creating"](runtime)

    [ticket] = emulator_tickets(world)
    link = current(runtime, run_id)
    assert link is not None and link.ticket_id == ticket["id"] and link.created_at == NOW
