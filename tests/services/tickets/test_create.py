"""Create Autotask ticket, exactly once (design §3.3, §4, §5, §5A, §7.3), against the emulator."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, add_runs
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import (
    BACKUP_QUEUE,
    BRIGHTWATER,
    Clock,
    api_requests,
    audits,
    current,
    emulator_tickets,
    last_seq,
    links,
)
from ticketbridge.core.ticket_content import find_reference
from ticketbridge.core.ticket_links import LinkOrigin, LinkState
from ticketbridge.services.connections import named
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import create as ticket_create
from ticketbridge.services.tickets import recovery as ticket_recovery
from ticketbridge.services.tickets import store
from ticketbridge.services.tickets.store import (
    PsaFailed,
    PsaUnavailable,
    TicketActionRefused,
    TicketBeingCreated,
    TicketCreationBlocked,
)

REFERENCE_PREFIX = "run-"


def test_4_2_create_links_one_ticket_with_id_number_and_url(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    result = ticket_create.create(runtime, run_id, actor="olivia")

    [ticket] = emulator_tickets(world)
    link = current(runtime, run_id)
    assert link is not None and link.id == result.link.id
    assert (link.state, link.origin) == (LinkState.ACTIVE.value, LinkOrigin.CREATED.value)
    assert link.ticket_id == ticket["id"] and link.ticket_number == ticket["ticketNumber"]
    assert link.ticket_url is not None and link.ticket_url.endswith(f"TicketID={ticket['id']}")
    assert (link.created_by, link.created_at) == ("olivia", NOW)
    assert (link.last_status_id, link.last_status_label) == (1, "New")
    [event] = audits(runtime, "ticket.create")
    assert (event.actor, event.outcome, event.details["ticket_id"]) == (
        "olivia",
        "ok",
        ticket["id"],
    )


def test_4_3_ticket_carries_content_fields_and_the_idempotency_marker(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    ticket_create.create(runtime, run_id, actor="olivia")

    [ticket] = emulator_tickets(world)
    reference = f"run-{run_id}@ticketbridge.example.com".replace(".", "-")
    assert ticket["externalID"] == reference
    assert find_reference(ticket["description"]) == reference
    assert ticket["title"] == "[ticketbridge] Acme Logistics - Acme VM Backup - Error"
    assert f"/jobs/1/runs/{run_id}" in ticket["description"]
    assert (ticket["companyID"], ticket["queueID"], ticket["status"]) == (
        BRIGHTWATER,
        BACKUP_QUEUE,
        1,
    )
    assert ticket["priority"] == 1  # the Error priority for an error run
    assert ticket.get("issueType") is None  # §7.3: left to the ticket owner


def test_4_2_second_create_is_refused_without_a_request(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    ticket_create.create(runtime, run_id, actor="olivia")
    seq = last_seq(world)

    with pytest.raises(TicketActionRefused, match="already has a ticket"):
        ticket_create.create(runtime, run_id, actor="oscar")

    assert api_requests(world, seq) == []
    assert len(emulator_tickets(world)) == 1
    assert audits(runtime, "ticket.create")[-1].outcome == "refused"


def test_4_2_a_reservation_in_progress_answers_being_created(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    with runtime.session_factory() as session:
        row = store.new_row(
            ticket_create.rules.reserve(run_id, "oscar", NOW),
            named.get(session, None),
            reference="run-x",
            attempted_at=NOW,
        )
        assert store.insert_current(session, row)

    with pytest.raises(TicketBeingCreated, match="being created"):
        ticket_create.create(runtime, run_id, actor="olivia")
    assert emulator_tickets(world) == []


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "drop", "when": "after_commit"},
        {"kind": "status", "status": 500, "when": "after_commit"},
    ],
    ids=["timeout-after-commit", "500-after-commit"],
)
def test_4_2_committed_but_unanswered_create_is_found_by_its_marker_not_repeated(
    runtime: Runtime, world: AutotaskWorld, run_id: int, fault: dict[str, object]
) -> None:
    seq = last_seq(world)
    world.fault(**fault, methods=["POST"], path_contains="/Tickets")

    ticket_create.create(runtime, run_id, actor="olivia")

    [ticket] = emulator_tickets(world)
    link = current(runtime, run_id)
    assert link is not None and link.ticket_id == ticket["id"]
    sent = api_requests(world, seq)
    assert sum(1 for r in sent if r.endswith("/Tickets") and r.startswith("POST")) == 1
    assert any(r.endswith("/Tickets/query") for r in sent)
    assert audits(runtime, "ticket.create")[-1].outcome == "recovered"


def test_4_2_lost_create_is_sent_again_only_after_the_quiet_period(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    world.fault(kind="drop", when="before_commit", methods=["POST"], path_contains="/Tickets")

    result = ticket_create.create(runtime, run_id, actor="olivia")

    assert "not confirmed" in result.message
    link = current(runtime, run_id)
    assert link is not None and (link.state, link.create_phase) == ("creating", "unknown")
    clock.advance(minutes=4)
    with pytest.raises(TicketBeingCreated, match="waiting for Autotask to answer"):
        ticket_create.create(runtime, run_id, actor="oscar")  # searches, sends nothing
    assert ticket_recovery.settle_pending(runtime) == 0
    assert emulator_tickets(world) == []
    clock.advance(minutes=1)

    assert ticket_recovery.settle_pending(runtime) == 1

    [ticket] = emulator_tickets(world)
    link = current(runtime, run_id)
    assert link is not None and (link.state, link.ticket_id) == ("active", ticket["id"])
    assert link.create_attempts == 2


def test_4_2_create_gives_the_run_back_after_the_last_unconfirmed_attempt(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    world.fault(
        kind="drop", when="before_commit", count=3, methods=["POST"], path_contains="/Tickets"
    )
    ticket_create.create(runtime, run_id, actor="olivia")
    for _ in range(2):
        clock.advance(minutes=5)
        ticket_recovery.settle_pending(runtime)
    clock.advance(minutes=5)

    assert ticket_recovery.settle_pending(runtime) == 1

    assert current(runtime, run_id) is None
    [old] = links(runtime, run_id)
    assert (old.state, old.create_attempts) == ("superseded", 3)
    assert "none was created" in (old.last_error or "")
    ticket_create.create(runtime, run_id, actor="olivia")  # the operator may try again
    assert len(emulator_tickets(world)) == 1


def test_4_2_plain_503_is_retried_by_the_connector_without_duplicates(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    world.fault(
        kind="status", status=503, retry_after=0, methods=["POST"], path_contains="/Tickets"
    )

    ticket_create.create(runtime, run_id, actor="olivia")

    assert len(emulator_tickets(world)) == 1


def test_4_2_create_refused_unprocessed_stays_queued_and_is_sent_by_the_job(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    world.fault(
        kind="status", status=429, retry_after=600, methods=["POST"], path_contains="/Tickets"
    )  # longer than the connector waits inside one call

    result = ticket_create.create(runtime, run_id, actor="olivia")

    assert result.link.create_phase == "queued" and "busy" in result.message
    assert emulator_tickets(world) == []
    assert ticket_recovery.settle_pending(runtime) == 0  # not before the retry delay
    clock.advance(minutes=1)
    assert ticket_recovery.settle_pending(runtime) == 1
    [ticket] = emulator_tickets(world)
    link = current(runtime, run_id)
    assert link is not None and link.ticket_id == ticket["id"]


def test_4_2_definite_refusal_releases_the_reservation_as_history(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    world.fault(
        kind="status", status=500, body={"errors": ["Company is inactive."]},
        methods=["POST"], path_contains="/Tickets",
    )  # fmt: skip

    with pytest.raises(PsaFailed, match="rejected"):
        ticket_create.create(runtime, run_id, actor="olivia")

    assert current(runtime, run_id) is None
    [old] = links(runtime, run_id)
    assert old.state == LinkState.SUPERSEDED.value and "inactive" in (old.last_error or "")
    event = audits(runtime, "ticket.create")[-1]
    assert event.outcome == "failed" and event.details["attempts"][0]["status_code"] == 500
    ticket_create.create(runtime, run_id, actor="olivia")  # the operator may simply try again
    assert len(emulator_tickets(world)) == 1


def test_4_2_unanswered_search_keeps_the_reservation_until_autotask_answers(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    world.fault(kind="drop", when="after_commit", methods=["POST"], path_contains="/Tickets")
    world.fault(kind="status", status=503, retry_after=0, count=10, path_contains="/Tickets/query")

    assert "keeps checking" in ticket_create.create(runtime, run_id, actor="olivia").message

    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.CREATING.value
    with pytest.raises(PsaUnavailable, match="could not be searched"):
        ticket_create.create(runtime, run_id, actor="oscar")
    world.admin("DELETE", "faults")
    clock.advance(minutes=1)  # found by the next search, long before the quiet period ends
    assert ticket_recovery.settle_pending(runtime) == 1
    [ticket] = emulator_tickets(world)
    link = current(runtime, run_id)
    assert link is not None and (link.state, link.ticket_id) == ("active", ticket["id"])
    assert audits(runtime, "ticket.create")[-1].outcome == "recovered"


def test_4_2_crash_after_autotask_commit_is_recovered_by_the_next_attempt(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    # Autotask committed the ticket, then the process died before storing it.
    ticket_create.create(runtime, run_id, actor="olivia")
    [ticket] = emulator_tickets(world)
    with runtime.session_factory() as session:
        row = store.current(session, run_id)
        assert row is not None
        row.state, row.ticket_id, row.ticket_number = "creating", None, None
        row.create_phase = "sending"
        session.commit()
    seq = last_seq(world)
    clock.advance(minutes=1)
    with pytest.raises(TicketBeingCreated):  # a create may still be in flight: left alone
        ticket_create.create(runtime, run_id, actor="oscar")
    assert api_requests(world, seq) == []
    clock.advance(minutes=6)

    result = ticket_create.create(runtime, run_id, actor="oscar")

    assert result.link.ticket_id == ticket["id"]
    assert len(emulator_tickets(world)) == 1


def test_4_2_reservation_whose_create_never_left_is_sent_by_the_job(
    runtime: Runtime, world: AutotaskWorld, run_id: int, clock: Clock
) -> None:
    # The process died after reserving, before sending anything.
    reservation = ticket_create.reserve(runtime, run_id, actor="oscar")
    assert ticket_recovery.settle_pending(runtime) == 1

    [ticket] = emulator_tickets(world)
    link = current(runtime, run_id)
    assert link is not None and link.id == reservation.link_id
    assert (link.state, link.ticket_id, link.create_attempts) == ("active", ticket["id"], 1)


def test_3_3_unmapped_customer_blocks_creation_with_the_reason(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session]
) -> None:
    [other] = add_runs(db, 1, customer="Unmapped Ltd")

    with pytest.raises(TicketCreationBlocked, match="not mapped"):
        ticket_create.create(runtime, other, actor="olivia")

    assert current(runtime, other) is None and emulator_tickets(world) == []
    assert audits(runtime, "ticket.create")[-1].outcome == "blocked"


def test_3_3_create_records_the_mapping_it_checked_in_its_own_event(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    world.rename_company(BRIGHTWATER, "Brightwater Dental Group")

    ticket_create.create(runtime, run_id, actor="olivia")

    [event] = audits(runtime, "ticket.create")
    assert event.details["mapping"] == {
        "company_id": BRIGHTWATER,
        "company_name": "Brightwater Dental Group",
        "status": "renamed",
    }
    assert audits(runtime, "autotask.mappings.validate") == []


def test_3_3_invalid_mapping_blocks_creation_renamed_does_not(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session]
) -> None:
    first, second = add_runs(db, 2)
    world.rename_company(BRIGHTWATER, "Brightwater Dental Group")
    ticket_create.create(runtime, first, actor="olivia")

    world.deactivate_company(BRIGHTWATER)
    with pytest.raises(TicketCreationBlocked, match="deactivated"):
        ticket_create.create(runtime, second, actor="olivia")
    assert len(emulator_tickets(world)) == 1
    blocked = audits(runtime, "ticket.create")[-1]
    assert (blocked.outcome, blocked.details["mapping"]["status"]) == ("blocked", "invalid")


def test_7_3_missing_default_blocks_creation(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    from ticketbridge.services.connections import settings as integration_settings

    with runtime.session_factory() as session:
        integration_settings.save(
            session,
            runtime.secret_box,
            {"default_queue_id": None},
            actor="t",
            now=NOW,
            kind="autotask",
        )
        session.commit()
    with pytest.raises(TicketCreationBlocked, match="queue"):
        ticket_create.create(runtime, run_id, actor="olivia")


def test_4_2_create_costs_three_requests_once_zone_and_metadata_are_cached(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session]
) -> None:
    first, second = add_runs(db, 2)
    ticket_create.create(runtime, first, actor="olivia")
    seq = last_seq(world)

    ticket_create.create(runtime, second, actor="olivia")

    sent = api_requests(world, seq)
    assert len(sent) <= 3, sent
