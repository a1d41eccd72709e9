"""Deleted tickets (§6B, §9.3), Link existing / Re-link (§6A.2) and the integration modes (§6A.1,
§6A.3, phase 6), against the emulator."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, add_runs
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import (
    Clock,
    api_requests,
    audits,
    current,
    delete_ticket,
    emulator_tickets,
    last_seq,
    links,
)
from ticketbridge.core.ticket_links import Action, IntegrationMode, LinkOrigin, LinkState
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import ticketing
from ticketbridge.services.tickets.store import TicketActionRefused, TicketInputInvalid


def _settings(runtime: Runtime, **changes: object) -> None:
    with runtime.session_factory() as session:
        integration_settings.save(
            session, runtime.secret_box, changes, actor="t", now=NOW, kind="autotask"
        )
        session.commit()


def _view(runtime: Runtime, run_id: int) -> ticketing.TicketView:
    with runtime.session_factory() as session:
        return ticketing.view(session, run_id)


def _deleted(runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock) -> int:
    ticket_id = ticketing.create(runtime, run_id, actor="olivia").link.ticket_id
    assert ticket_id is not None
    delete_ticket(world, ticket_id)
    clock.advance(minutes=6)
    ticketing.validate(runtime, run_ids=[run_id])
    clock.advance(minutes=1)
    ticketing.validate(runtime, run_ids=[run_id])
    return ticket_id


# --- §6B: deletion detection ----------------------------------------------------------------


def test_6b_1_first_miss_is_suspected_second_a_minute_later_confirms(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    ticket_id = ticketing.create(runtime, run_id, actor="olivia").link.ticket_id
    assert ticket_id is not None
    delete_ticket(world, ticket_id)
    clock.advance(minutes=6)

    first = ticketing.validate(runtime, run_ids=[run_id])
    assert first.suspected and _view(runtime, run_id).label == (
        "Not found in Autotask (checking again)"
    )
    clock.advance(seconds=30)
    ticketing.validate(runtime, run_ids=[run_id], force=True)
    assert current(runtime, run_id).state == LinkState.ACTIVE.value  # type: ignore[union-attr]
    clock.advance(seconds=31)
    second = ticketing.validate(runtime, run_ids=[run_id])

    assert second.deleted
    view = _view(runtime, run_id)
    assert view.label == "Deleted in Autotask"
    assert view.actions == {Action.RELINK, Action.CREATE_NEW}
    assert view.link is not None and view.link.ticket_id == ticket_id  # history kept
    assert [e.outcome for e in audits(runtime, "ticket.validate")] == ["suspected", "deleted"]


def test_6b_1_a_glitch_between_two_misses_clears_the_suspicion(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    ticketing.create(runtime, run_id, actor="olivia")
    world.fault(kind="status", status=404, count=1, path_contains="/Tickets/query")
    clock.advance(minutes=6)
    # A 404 on the query is an error, not an empty answer: nothing is concluded from it.
    ticketing.for_page(runtime, [run_id])
    link = current(runtime, run_id)
    assert link is not None and link.missing_since is None

    clock.advance(minutes=6)
    assert ticketing.validate(runtime, run_ids=[run_id]).checked == 1
    link = current(runtime, run_id)
    assert link is not None and link.missing_since is None and link.state == "active"


def test_6b_2_deleted_ticket_blocks_everything_but_relink_and_create_new(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    _deleted(runtime, world, run_id, clock)
    seq = last_seq(world)

    with pytest.raises(TicketActionRefused, match="deleted in Autotask"):
        ticketing.resolve(runtime, run_id, actor="olivia")
    with pytest.raises(TicketActionRefused, match="deleted in Autotask"):
        ticketing.open_ticket(runtime, run_id, actor="olivia")
    assert api_requests(world, seq) == []


def test_6b_2_create_new_supersedes_the_deleted_link_and_keeps_it_in_history(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    old_ticket = _deleted(runtime, world, run_id, clock)

    result = ticketing.create(runtime, run_id, actor="oscar")

    assert result.link.ticket_id != old_ticket
    new, old = links(runtime, run_id)
    assert (new.state, old.state) == (LinkState.ACTIVE.value, LinkState.SUPERSEDED.value)
    assert old.ticket_id == old_ticket and old.superseded_by_id == new.id
    assert old.deleted_at is not None
    assert len(emulator_tickets(world)) == 1
    assert audits(runtime, "ticket.create_new")[-1].outcome == "ok"


def test_6b_2_relink_to_another_ticket_after_deletion(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session], clock: Clock
) -> None:
    first, second = add_runs(db, 2)
    _deleted(runtime, world, first, clock)
    other = ticketing.create(runtime, second, actor="olivia").link

    ticketing.link_existing(runtime, first, other.ticket_number or "", actor="oscar")

    link = current(runtime, first)
    assert link is not None and (link.ticket_id, link.origin) == (other.ticket_id, "linked")
    assert len(links(runtime, first)) == 2
    assert audits(runtime, "ticket.relink")[-1].outcome == "ok"


def test_6b_3_periodic_validation_reads_open_links_in_one_query(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session], clock: Clock
) -> None:
    run_ids = add_runs(db, 3)
    ticket_ids = [ticketing.create(runtime, r, actor="o").link.ticket_id for r in run_ids]
    delete_ticket(world, ticket_ids[0] or 0)
    clock.advance(minutes=6)
    seq = last_seq(world)

    summary = ticketing.validate_open_links(runtime)

    assert summary.checked == 3 and len(summary.suspected) == 1
    assert len(api_requests(world, seq)) == 1


def test_6b_page_views_validate_only_when_due(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session], clock: Clock
) -> None:
    run_ids = add_runs(db, 3)
    for run in run_ids:
        ticketing.create(runtime, run, actor="o")
    seq = last_seq(world)
    ticketing.for_page(runtime, run_ids)
    assert api_requests(world, seq) == []  # read a moment ago: cached
    clock.advance(minutes=6)

    ticketing.for_page(runtime, run_ids)
    ticketing.for_page(runtime, run_ids)

    assert len(api_requests(world, seq)) == 1


# --- §6A.2: Link existing -------------------------------------------------------------------


def test_6a_2_link_existing_validates_the_number_and_stores_id_and_number(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session]
) -> None:
    first, second = add_runs(db, 2)
    made = ticketing.create(runtime, first, actor="olivia").link

    ticketing.link_existing(runtime, second, f"  {made.ticket_number} ", actor="oscar")

    link = current(runtime, second)
    assert link is not None and link.origin == LinkOrigin.LINKED.value
    assert (link.ticket_id, link.ticket_number) == (made.ticket_id, made.ticket_number)
    assert link.ticket_url and link.ticket_url.endswith(f"TicketID={made.ticket_id}")


def test_6a_2_unknown_ticket_number_is_refused(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    with pytest.raises(TicketInputInvalid, match="no ticket with number"):
        ticketing.link_existing(runtime, run_id, "T20990101.0001", actor="oscar")
    with pytest.raises(TicketInputInvalid):
        ticketing.link_existing(runtime, run_id, "<script>", actor="oscar")
    assert current(runtime, run_id) is None


# --- §6A.1, §6A.3, phase 6: modes -----------------------------------------------------------


def test_6a_1_disabled_integration_takes_manual_numbers_with_zero_requests(
    runtime: Runtime, world: AutotaskWorld, run_id: int, db: sessionmaker[Session]
) -> None:
    [linked_run] = add_runs(db, 1)
    ticketing.create(runtime, linked_run, actor="olivia")
    _settings(runtime, enabled=False)
    world.forget_requests()

    ticketing.set_manual_number(runtime, run_id, "INC-4711", actor="olivia")
    with pytest.raises(TicketActionRefused, match="disabled"):
        ticketing.create(runtime, run_id, actor="olivia")
    with pytest.raises(TicketActionRefused):
        ticketing.resolve(runtime, linked_run, actor="olivia")
    ticketing.for_page(runtime, [run_id, linked_run])
    ticketing.validate_open_links(runtime)
    ticketing.settle_pending(runtime)

    assert world.requests() == []
    view = _view(runtime, run_id)
    assert view.mode is IntegrationMode.DISABLED
    assert view.link is not None and view.link.ticket_number == "INC-4711"
    assert view.label == "Manual ticket number"
    linked = _view(runtime, linked_run)
    assert linked.link is not None and linked.link.ticket_id is not None  # still visible
    assert linked.actions == frozenset()


def test_6a_3_enabled_without_compatibility_refuses_manual_numbers(
    runtime: Runtime, run_id: int
) -> None:
    with pytest.raises(TicketActionRefused, match="Manual ticket numbers are off"):
        ticketing.set_manual_number(runtime, run_id, "INC-1", actor="olivia")


def test_6a_3_compatibility_mode_allows_manual_numbers_but_resolves_only_validated_links(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    _settings(runtime, allow_manual_ticket_numbers=True)
    ticketing.set_manual_number(runtime, run_id, "INC-1", actor="olivia")
    ticketing.set_manual_number(runtime, run_id, "INC-2", actor="olivia")  # corrected

    view = _view(runtime, run_id)
    assert view.mode is IntegrationMode.COMPATIBILITY
    assert view.actions == {Action.LINK_EXISTING, Action.MANUAL_NUMBER}
    seq = last_seq(world)
    with pytest.raises(TicketActionRefused):
        ticketing.resolve(runtime, run_id, actor="olivia")
    with pytest.raises(TicketActionRefused):
        ticketing.create(runtime, run_id, actor="olivia")
    assert api_requests(world, seq) == []
    assert [r.ticket_number for r in links(runtime, run_id)] == ["INC-2", "INC-1"]


def test_9_1_link_existing_turns_a_manual_number_into_a_validated_link(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session]
) -> None:
    first, second = add_runs(db, 2)
    made = ticketing.create(runtime, first, actor="olivia").link
    _settings(runtime, allow_manual_ticket_numbers=True)
    ticketing.set_manual_number(runtime, second, made.ticket_number or "", actor="olivia")

    ticketing.link_existing(runtime, second, made.ticket_number or "", actor="oscar")
    ticketing.resolve(runtime, second, actor="oscar")

    link = current(runtime, second)
    assert link is not None and link.origin == "linked" and link.state == "resolved"
    assert [r.origin for r in links(runtime, second)] == ["linked", "manual"]


def test_6a_1_existing_links_stay_visible_when_settings_change(
    runtime: Runtime, run_id: int
) -> None:
    ticketing.create(runtime, run_id, actor="olivia")
    _settings(runtime, enabled=False)
    _settings(runtime, enabled=True, allow_manual_ticket_numbers=True)

    view = _view(runtime, run_id)
    assert view.link is not None and view.link.state == "active"
    assert Action.RESOLVE in view.actions and Action.OPEN in view.actions


def test_open_returns_the_autotask_url_after_checking_the_ticket(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    made = ticketing.create(runtime, run_id, actor="olivia").link
    seq = last_seq(world)

    url = ticketing.open_ticket(runtime, run_id, actor="rita")

    assert url == made.ticket_url
    assert len(api_requests(world, seq)) == 1
    assert audits(runtime, "ticket.open")[-1].actor == "rita"
