"""Polling as the truth: changes found without a hint, hint coverage, closure and reopening."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_runs
from tests.services.roundtrip.support import (
    TARA,
    HookWorld,
    make_callout,
    new_ticket,
    roundtrip_audits,
)
from tests.services.tickets.support import Clock, api_requests, current, last_seq
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.roundtrip import config, polling
from ticketbridge.services.roundtrip.status import status
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.models import RoundtripPoll, Run, TicketHint

COMPLETE, IN_PROGRESS, NEW = 5, 8, 1


def _polls(runtime: Runtime) -> list[RoundtripPoll]:
    with runtime.session_factory() as session:
        return list(session.scalars(select(RoundtripPoll).order_by(RoundtripPoll.id)))


def test_polling_finds_a_change_no_hint_announced_and_counts_it(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int
) -> None:
    first = polling.poll(runtime)
    assert first is not None and first.ok and first.counted == 0  # the first poll counts nothing
    clock.advance(minutes=5)
    world.set_status(ticket_id, COMPLETE)  # no callout, no webhook: nobody tells us
    clock.advance(minutes=5)
    seq = last_seq(world)

    result = polling.poll(runtime)

    assert result is not None and result.ok
    assert api_requests(world, seq) == ["POST /ATServicesRest/V1.0/Tickets/query",
                                        "POST /ATServicesRest/V1.0/Resources/query"]  # fmt: skip
    assert (result.linked, result.applied, result.counted) == (1, 1, 1)
    assert (result.announced, result.unannounced, result.unannounced_ids) == (0, 1, [ticket_id])
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value
    assert link.resolved_in_psa_by == TARA
    with runtime.session_factory() as session:
        shown = status(session, clock.now)
    assert shown.warning is not None and str(ticket_id) in shown.warning
    assert (shown.coverage.counted, shown.coverage.unannounced) == (1, 1)


def test_a_change_a_callout_announced_counts_as_covered(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int
) -> None:
    make_callout(runtime, world)
    polling.poll(runtime)
    clock.advance(minutes=5)
    world.set_status(ticket_id, COMPLETE)
    world.deliver()
    clock.advance(minutes=5)

    result = polling.poll(runtime)

    assert result is not None
    assert (result.counted, result.announced, result.unannounced) == (1, 1, 0)
    # The callout had applied it; the poll only adds who completed it (no second event).
    assert len(roundtrip_audits(runtime)) == 1
    link = current(runtime, run_id)
    assert link is not None and link.resolved_in_psa_by == TARA
    with runtime.session_factory() as session:
        assert status(session, clock.now).warning is None


def test_the_overlap_counts_and_applies_a_change_once(
    runtime: Runtime, world: HookWorld, clock: Clock, ticket_id: int
) -> None:
    polling.poll(runtime)
    clock.advance(minutes=5)
    world.set_status(ticket_id, COMPLETE)
    polling.poll(runtime)
    clock.advance(seconds=30)  # within the overlap: the same change is read again
    third = polling.poll(runtime)
    assert third is not None and third.linked == 1
    assert (third.counted, third.applied) == (0, 0)
    assert [p.counted for p in _polls(runtime)] == [0, 1, 0]


def test_changes_by_our_own_api_user_are_not_counted_as_missed_hints(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int
) -> None:
    with runtime.session_factory() as session:
        config.state(session).own_resource_id = 29
        session.commit()
    polling.poll(runtime)
    clock.advance(minutes=5)
    world.api("PATCH", "Tickets", {"id": ticket_id, "status": IN_PROGRESS})  # as the API user
    result = polling.poll(runtime)
    assert result is not None and (result.linked, result.counted, result.applied) == (1, 0, 1)


def test_closure_reopening_and_review_flow_back_to_the_run(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int
) -> None:
    with runtime.session_factory() as session:
        config.set_review_on_complete(session, True, actor="admin")
        session.commit()
    polling.poll(runtime)
    clock.advance(minutes=5)
    world.set_status(ticket_id, COMPLETE)
    polling.poll(runtime)
    with runtime.session_factory() as session:
        run = session.get(Run, run_id)
        assert run is not None and run.reviewed_by == "autotask"
        assert "completed in Autotask by Tara Technician" in run.review_note

    clock.advance(minutes=5)
    world.set_status(ticket_id, IN_PROGRESS)
    polling.poll(runtime)

    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.ACTIVE.value
    assert link.last_status_label == "In Progress" and link.resolved_in_psa_at is None
    events = roundtrip_audits(runtime)
    assert [e.outcome for e in events] == ["resolved_in_psa", "reopened"]
    assert events[0].actor == "autotask" and events[0].details["completed_by"] == TARA


def test_a_status_change_updates_the_label(
    runtime: Runtime, world: HookWorld, clock: Clock, run_id: int, ticket_id: int
) -> None:
    polling.poll(runtime)
    clock.advance(minutes=5)
    world.set_status(ticket_id, IN_PROGRESS)
    polling.poll(runtime)
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.ACTIVE.value
    assert link.last_status_label == "In Progress"
    assert [e.outcome for e in roundtrip_audits(runtime)] == ["status"]


def test_one_request_per_500_changed_tickets(
    runtime: Runtime, world: HookWorld, clock: Clock, db: sessionmaker[Session]
) -> None:
    run_ids = add_runs(db, 3)
    for run in run_ids:
        new_ticket(runtime, run)
    polling.poll(runtime)
    clock.advance(minutes=5)
    seq = last_seq(world)
    result = polling.poll(runtime)
    assert result is not None and result.requests == 1
    assert api_requests(world, seq) == ["POST /ATServicesRest/V1.0/Tickets/query"]


def test_a_failed_fetch_is_tried_again_later(
    runtime: Runtime, world: HookWorld, clock: Clock, ticket_id: int
) -> None:
    make_callout(runtime, world)
    world.set_status(ticket_id, IN_PROGRESS)
    world.deliver()
    world.fault(status=503, path_contains="Tickets/query", count=10, retry_after=0)
    result = polling.fetch_hinted(runtime)
    assert result is not None and result.error
    with runtime.session_factory() as session:
        hint = session.get(TicketHint, ticket_id)
        assert hint is not None and hint.fetch_attempts == 1 and hint.last_error
        assert hint.fetch_due_at is not None and hint.fetch_due_at > clock.now


def test_nothing_is_sent_while_the_integration_is_disabled(
    runtime: Runtime, world: HookWorld, ticket_id: int
) -> None:
    with runtime.session_factory() as session:
        integration_settings.save(
            session,
            runtime.secret_box,
            {"enabled": False},
            actor="t",
            now=runtime.clock(),
            kind="autotask",
        )
        session.commit()
    seq = last_seq(world)
    assert polling.poll(runtime) is None
    assert polling.fetch_hinted(runtime) is None
    assert api_requests(world, seq) == []
