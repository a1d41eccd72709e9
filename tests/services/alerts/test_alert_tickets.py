"""De-duplication against open Autotask tickets, joined-alert notes, and ticket creation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.services.alerts.conftest import Prepared
from tests.services.alerts.mails import alert_mail
from tests.services.alerts.support import (
    ALERT_UDF,
    BRIGHTWATER,
    COBALT,
    TICKET_UDF,
    add_ticket,
    alerts,
    audit_actions,
    complete_ticket,
    deliver,
    notes_of,
    occurrences,
    only_alert,
    process,
    ticket_row,
    tickets_with,
)
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import Clock
from ticketbridge.core.alert_dedup import NOTE_INTERVAL
from ticketbridge.services.alerts import sources
from ticketbridge.services.alerts.actions import AlertAction, act
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets.store import TicketActionRefused
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import Alert

# --- de-duplication --------------------------------------------------------------------------


def test_alert_joins_the_open_ticket_of_its_company_by_alert_id(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    ticket = add_ticket(world, BRIGHTWATER, alert="8932")
    deliver(runtime, alert_mail())

    process(runtime)

    alert = only_alert(runtime)
    assert (alert.state, alert.ticket_id, alert.ticket_number) == (
        "joined", ticket["id"], ticket["ticketNumber"],
    )  # fmt: skip
    [note] = notes_of(world, ticket["id"])
    assert "Alert ID '8932' received once; joined this ticket." in note["description"]
    assert note["publish"] == 2  # internal, never "All Autotask Users"


def test_same_alert_id_in_another_company_is_a_new_alert(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    elsewhere = add_ticket(world, COBALT, alert="8932")
    deliver(runtime, alert_mail())

    process(runtime)

    alert = only_alert(runtime)
    assert alert.state == "waiting" and alert.ticket_id is None
    assert notes_of(world, elsewhere["id"]) == []


def test_without_an_alert_id_the_ticket_id_joins_within_the_company(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    add_ticket(world, COBALT, ticket="T-5")
    mine = add_ticket(world, BRIGHTWATER, ticket="T-5")
    add_ticket(world, BRIGHTWATER, alert="T-5")  # the Alert ID field holds it: no match
    deliver(runtime, alert_mail(alert=None, ticket="T-5"))

    process(runtime)

    alert = only_alert(runtime)
    assert (alert.state, alert.ticket_id) == ("joined", mine["id"])


def test_a_complete_ticket_is_not_joined(runtime: Runtime, world: AutotaskWorld) -> None:
    done = add_ticket(world, BRIGHTWATER, alert="8932")
    complete_ticket(world, done["id"])
    deliver(runtime, alert_mail())

    process(runtime)

    assert only_alert(runtime).state == "waiting"


def test_repeats_of_a_joined_alert_get_rate_limited_notes(
    runtime: Runtime, world: AutotaskWorld, clock: Clock
) -> None:
    ticket = add_ticket(world, BRIGHTWATER, alert="8932")
    deliver(runtime, alert_mail(1))
    process(runtime)
    for n in range(2, 5):
        clock.advance(minutes=2)
        deliver(runtime, alert_mail(n, subject=f"Disk space low, again #{n}"))
        process(runtime)
    assert len(notes_of(world, ticket["id"])) == 1  # within the interval: one note so far

    clock.advance(seconds=NOTE_INTERVAL.total_seconds())
    process(runtime)
    process(runtime)

    notes = notes_of(world, ticket["id"])
    assert len(notes) == 2
    assert "received 3 times" in notes[1]["description"]
    assert "again #4" in notes[1]["description"]
    alert = only_alert(runtime)
    assert alert.count == 4 and alert.state == "joined"
    assert all(o.noted_at is not None for o in occurrences(runtime, alert.id))


def test_repeat_after_the_ticket_was_completed_starts_a_new_alert(
    runtime: Runtime, world: AutotaskWorld, clock: Clock
) -> None:
    ticket = add_ticket(world, BRIGHTWATER, alert="8932")
    deliver(runtime, alert_mail(1))
    process(runtime)
    complete_ticket(world, ticket["id"])
    clock.advance(hours=1)

    deliver(runtime, alert_mail(2))
    process(runtime)
    process(runtime)

    first, second = alerts(runtime)
    assert (first.state, first.count, first.open_key) == ("closed", 1, None)
    assert "is complete" in first.reason
    assert (second.state, second.count) == ("waiting", 1)
    assert len(notes_of(world, ticket["id"])) == 1


# --- tickets ---------------------------------------------------------------------------------


def test_operator_creates_the_ticket_with_alert_udfs_and_device(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    deliver(runtime, alert_mail(ticket="T-77"))
    process(runtime)
    alert = only_alert(runtime)

    outcome = act(runtime, alert.id, AlertAction.CREATE, actor="op")

    [row] = tickets_with(world, ALERT_UDF, "8932")
    assert outcome.state == "ticketed" and outcome.ticket_id == row["id"]
    assert row["userDefinedFields"][TICKET_UDF] == "T-77"
    assert row["companyID"] == BRIGHTWATER and row["configurationItemID"] == alert.ci_id
    assert row["externalID"] == f"alert-{alert.id}@ticketbridge-example-com"
    assert row["priority"] == 1  # the Error priority: an RMM raised it
    assert "below 5 % free" in row["description"]
    assert "ticketbridge-ref: alert-" in row["description"]
    with pytest.raises(TicketActionRefused, match="already has ticket"):
        act(runtime, alert.id, AlertAction.CREATE, actor="op")
    assert len(tickets_with(world, ALERT_UDF, "8932")) == 1


def test_the_next_alert_with_the_same_id_is_counted_on_the_ticketed_one(
    runtime: Runtime, world: AutotaskWorld, clock: Clock
) -> None:
    deliver(runtime, alert_mail(1))
    process(runtime)
    outcome = act(runtime, only_alert(runtime).id, AlertAction.CREATE, actor="op")
    clock.advance(minutes=1)

    deliver(runtime, alert_mail(2))
    process(runtime)

    alert = only_alert(runtime)
    assert (alert.state, alert.count) == ("ticketed", 2)
    assert notes_of(world, outcome.ticket_id or 0) == []  # the ticket is a minute old
    clock.advance(seconds=NOTE_INTERVAL.total_seconds())
    process(runtime)
    [note] = notes_of(world, outcome.ticket_id or 0)
    assert "received once" in note["description"]


def test_automatic_rule_creates_the_ticket_without_an_operator(
    runtime: Runtime, world: AutotaskWorld, prepared: Prepared
) -> None:
    with session_scope(runtime.session_factory) as session:
        sources.update_source(session, prepared.source_id, actor="admin", create_rule="automatic")
    deliver(runtime, alert_mail())

    process(runtime)

    alert = only_alert(runtime)
    assert alert.state == "ticketed"
    assert [r["id"] for r in tickets_with(world, ALERT_UDF, "8932")] == [alert.ticket_id]


def test_create_whose_answer_is_lost_is_found_by_its_reference(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    deliver(runtime, alert_mail())
    process(runtime)
    alert_id = only_alert(runtime).id
    world.fault(kind="drop", methods=["POST"], path_contains="/Tickets", when="after_commit")

    outcome = act(runtime, alert_id, AlertAction.CREATE, actor="op")

    assert outcome.state == "ticketed"
    assert len(tickets_with(world, ALERT_UDF, "8932")) == 1
    with runtime.session_factory() as session:
        assert ("alert.create", "recovered") in audit_actions(session)


def test_operator_joins_by_ticket_number_of_the_same_company_only(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    elsewhere = add_ticket(world, COBALT)
    mine = add_ticket(world, BRIGHTWATER)
    deliver(runtime, alert_mail())
    process(runtime)
    alert_id = only_alert(runtime).id

    with pytest.raises(Exception, match="another company"):
        act(
            runtime, alert_id, AlertAction.JOIN, actor="op", ticket_number=elsewhere["ticketNumber"]
        )
    outcome = act(
        runtime, alert_id, AlertAction.JOIN, actor="op", ticket_number=mine["ticketNumber"]
    )

    assert (outcome.state, outcome.ticket_id) == ("joined", mine["id"])
    assert len(notes_of(world, mine["id"])) == 1


def test_joining_by_ticket_number_writes_the_alerts_udfs_onto_the_ticket(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    mine = add_ticket(world, BRIGHTWATER)
    deliver(runtime, alert_mail(alert="8932", ticket="RMM-77"))
    process(runtime)
    alert_id = only_alert(runtime).id

    act(runtime, alert_id, AlertAction.JOIN, actor="op", ticket_number=mine["ticketNumber"])

    # As a ticket created for the alert would: its next occurrences find this ticket.
    assert [t["id"] for t in tickets_with(world, ALERT_UDF, "8932")] == [mine["id"]]
    assert [t["id"] for t in tickets_with(world, TICKET_UDF, "RMM-77")] == [mine["id"]]


def test_ignored_alert_keeps_counting_its_repeats_quietly(runtime: Runtime) -> None:
    deliver(runtime, alert_mail(1))
    process(runtime)
    act(runtime, only_alert(runtime).id, AlertAction.IGNORE, actor="op")

    deliver(runtime, alert_mail(2))
    process(runtime)

    alert = only_alert(runtime)
    assert (alert.state, alert.count, alert.decided_by) == ("ignored", 2, "op")


def test_no_stored_row_or_audit_holds_the_credentials(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    from tests.services.alerts.mails import SECRETS

    add_ticket(world, BRIGHTWATER, alert="8932")
    deliver(runtime, alert_mail(1))
    process(runtime)
    deliver(runtime, alert_mail(2, alert="9000"))
    process(runtime)
    act(runtime, alerts(runtime)[-1].id, AlertAction.CREATE, actor="op")

    with runtime.session_factory() as session:
        dump = repr([vars(a) for a in session.scalars(select(Alert))])
        dump += repr(audit_actions(session))
    dump += repr(world.requests()) + repr(world.transport.app.state.emulator.store.tables)  # type: ignore[attr-defined]
    assert not any(secret in dump for secret in SECRETS)
    assert ticket_row(world, alerts(runtime)[-1].ticket_id or 0) is not None


def test_a_second_click_is_told_a_ticket_is_being_created(runtime: Runtime) -> None:
    from ticketbridge.services.alerts import ticketing
    from ticketbridge.services.tickets.store import TicketBeingCreated

    deliver(runtime, alert_mail())
    process(runtime)
    alert_id = only_alert(runtime).id

    ticketing.reserve(runtime, alert_id, actor="op")  # the first click, not settled yet

    with pytest.raises(TicketBeingCreated):
        act(runtime, alert_id, AlertAction.CREATE, actor="other op")


def test_unknown_outcome_is_settled_by_the_job_with_one_ticket(
    runtime: Runtime, world: AutotaskWorld
) -> None:
    from ticketbridge.services.tickets.store import TicketBeingCreated

    deliver(runtime, alert_mail())
    process(runtime)
    alert_id = only_alert(runtime).id
    world.fault(kind="drop", methods=["POST"], path_contains="/Tickets", when="after_commit")
    world.fault(status=500, count=20, methods=["POST"], path_contains="/Tickets/query")

    with pytest.raises(TicketBeingCreated, match="did not say"):
        act(runtime, alert_id, AlertAction.CREATE, actor="op")
    assert only_alert(runtime).create_phase == "unknown"
    world.admin("DELETE", "faults")

    process(runtime)

    alert = only_alert(runtime)
    assert alert.state == "ticketed"
    assert [r["id"] for r in tickets_with(world, ALERT_UDF, "8932")] == [alert.ticket_id]
