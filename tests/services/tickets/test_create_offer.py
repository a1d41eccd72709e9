"""Which runs are offered Create, the preview of what Create sends, and Link existing across
companies (issue 11, item 3), against the emulator."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW, add_runs
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import (
    BACKUP_QUEUE,
    BRIGHTWATER,
    api_requests,
    audits,
    emulator_tickets,
    last_seq,
    links,
)
from ticketbridge.core.statuses import RunStatus
from ticketbridge.core.ticket_links import SUCCESS_NEEDS_SETTING, Action, LinkOrigin
from ticketbridge.services.connections import mapping
from ticketbridge.services.connections import settings as integration_settings
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets import ticketing
from ticketbridge.services.tickets.store import TicketActionRefused, TicketCreationBlocked
from ticketbridge.storage.models import Customer

ACME_INC = 101  # "Acme Logistics Inc." in the emulator's demo tenant


def _settings(runtime: Runtime, **changes: object) -> None:
    with runtime.session_factory() as session:
        integration_settings.save(
            session, runtime.secret_box, changes, actor="t", now=NOW, kind="autotask"
        )
        session.commit()


def _view(runtime: Runtime, run_id: int) -> ticketing.TicketView:
    with runtime.session_factory() as session:
        return ticketing.view(session, run_id)


def _customer_id(runtime: Runtime, name: str) -> int:
    with runtime.session_factory() as session:
        found = session.scalar(select(Customer.id).where(Customer.name == name))
        assert found is not None
        return found


# --- Success runs need the setting ----------------------------------------------------------


def test_a_success_run_is_not_offered_create_and_a_click_is_refused_without_a_request(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session]
) -> None:
    [run_id] = add_runs(db, 1, status=RunStatus.SUCCESS)
    view = _view(runtime, run_id)
    assert Action.CREATE not in view.actions and Action.LINK_EXISTING in view.actions
    assert view.disabled == {}  # nothing to fix, so nothing shown
    since = last_seq(world)

    with pytest.raises(TicketActionRefused) as refused:
        ticketing.create(runtime, run_id, actor="olivia")

    assert refused.value.message == SUCCESS_NEEDS_SETTING
    assert refused.value.status == 409
    assert links(runtime, run_id) == [] and api_requests(world, since) == []
    [event] = audits(runtime, "ticket.create")
    assert event.outcome == "refused" and event.details["code"] == "success_run"


def test_a_success_run_is_offered_create_when_settings_allow_it(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session]
) -> None:
    [run_id] = add_runs(db, 1, status=RunStatus.SUCCESS)
    _settings(runtime, allow_success_tickets=True)

    assert Action.CREATE in _view(runtime, run_id).actions
    result = ticketing.create(runtime, run_id, actor="olivia")

    assert result.link.ticket_id is not None and len(emulator_tickets(world)) == 1


# --- unmapped or invalid customers: disabled with the reason ---------------------------------


def test_an_unmapped_customer_shows_create_disabled_with_the_reason_and_the_mapping_link(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session]
) -> None:
    [run_id] = add_runs(db, 1, customer="Unmapped Ltd")
    customer_id = _customer_id(runtime, "Unmapped Ltd")

    view = _view(runtime, run_id)
    shown = ticketing.preview(runtime, run_id)

    assert Action.CREATE not in view.actions
    assert view.disabled == {
        Action.CREATE: "Customer 'Unmapped Ltd' is not mapped to an Autotask company."
    }
    assert view.mapping_url == f"/customers/{customer_id}/psa"
    assert shown.refused == view.disabled[Action.CREATE] and shown.code == "mapping_missing"
    assert shown.mapping_url == view.mapping_url and not shown.can_create
    assert shown.title is not None  # what the ticket would say is still shown
    with pytest.raises(TicketCreationBlocked):  # the API's 422, as before
        ticketing.create(runtime, run_id, actor="olivia")


def test_an_invalid_mapping_shows_create_disabled_with_autotasks_reason(
    runtime: Runtime, world: AutotaskWorld, db: sessionmaker[Session]
) -> None:
    [run_id] = add_runs(db, 1)
    world.deactivate_company(BRIGHTWATER)
    mapping.validate(runtime, actor="test")

    view = _view(runtime, run_id)

    assert Action.CREATE not in view.actions
    assert "deactivated" in view.disabled[Action.CREATE]
    assert ticketing.preview(runtime, run_id).code == "mapping_invalid"


# --- the preview ------------------------------------------------------------------------------


def test_the_preview_is_what_the_create_sends_and_reserves_and_sends_nothing(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    ticketing.preview(runtime, run_id)  # the Tickets metadata is cached from here on
    since = last_seq(world)

    shown = ticketing.preview(runtime, run_id)

    assert api_requests(world, since) == []
    assert links(runtime, run_id) == [] and shown.can_create and shown.refused is None
    assert shown.company is not None and shown.company.id == BRIGHTWATER
    assert shown.company.label == "Brightwater Dental"
    assert shown.queue is not None and shown.queue.id == BACKUP_QUEUE
    assert shown.priority is not None and shown.priority.id == 1  # High, for an error run
    assert shown.priority.label == "High"
    ticketing.create(runtime, run_id, actor="olivia")
    [sent] = emulator_tickets(world)
    assert sent["title"] == shown.title
    assert sent["description"] == shown.description
    assert sent["externalID"] == shown.external_id
    assert (sent["companyID"], sent["queueID"], sent["priority"]) == (
        shown.company.id,
        shown.queue.id,
        shown.priority.id,
    )
    assert shown.status is not None and sent["status"] == shown.status.id


def test_the_preview_of_a_run_with_a_ticket_says_so(runtime: Runtime, run_id: int) -> None:
    ticketing.create(runtime, run_id, actor="olivia")

    shown = ticketing.preview(runtime, run_id)

    assert shown.refused == "This run already has a ticket." and shown.code == "state"


# --- Link existing across companies ------------------------------------------------------------


def _brightwater_ticket(world: AutotaskWorld) -> dict[str, object]:
    store_ = world.transport.app.state.emulator.store  # type: ignore[attr-defined]
    return next(t for t in store_.tables["tickets"].values() if t["companyID"] == BRIGHTWATER)


@pytest.fixture
def acme_run(runtime: Runtime, run_id: int) -> int:
    """A run of Acme Logistics, mapped to Acme Logistics Inc. (not Brightwater)."""
    mapping.map_customer(runtime, _customer_id(runtime, "Acme Logistics"), ACME_INC, actor="t")
    return run_id


def test_link_existing_refuses_a_ticket_of_another_company_naming_both(
    runtime: Runtime, world: AutotaskWorld, acme_run: int
) -> None:
    theirs = _brightwater_ticket(world)

    with pytest.raises(TicketActionRefused) as refused:
        ticketing.link_existing(runtime, acme_run, str(theirs["ticketNumber"]), actor="oscar")

    message = refused.value.message
    assert f"Ticket {theirs['ticketNumber']} belongs to Brightwater Dental (company 102)" in message
    assert "not to Acme Logistics Inc. (company 101)" in message
    assert refused.value.details["code"] == "company_mismatch"
    assert links(runtime, acme_run) == []
    [event] = audits(runtime, "ticket.link_existing")
    assert event.outcome == "refused"
    assert event.details["ticket_company"] == {"id": 102, "name": "Brightwater Dental"}
    assert event.details["customer_company"]["id"] == 101


def test_link_existing_with_the_mismatch_confirmed_links_and_audits_both_companies(
    runtime: Runtime, world: AutotaskWorld, acme_run: int
) -> None:
    theirs = _brightwater_ticket(world)

    result = ticketing.link_existing(
        runtime, acme_run, str(theirs["ticketNumber"]), actor="oscar", confirm_company_mismatch=True
    )

    assert result.link.ticket_id == theirs["id"] and result.link.origin == LinkOrigin.LINKED
    assert "belongs to Brightwater Dental" in result.message
    [event] = audits(runtime, "ticket.link_existing")
    assert event.actor == "oscar" and event.outcome == "company_mismatch_confirmed"
    assert event.details["ticket_company"] == {"id": 102, "name": "Brightwater Dental"}
    assert event.details["customer_company"] == {
        "customer": "Acme Logistics",
        "id": 101,
        "name": "Acme Logistics Inc.",
    }


def test_link_existing_of_the_customers_own_company_needs_no_confirmation(
    runtime: Runtime, world: AutotaskWorld, run_id: int
) -> None:
    ours = _brightwater_ticket(world)  # the runs' customer is mapped to Brightwater here

    ticketing.link_existing(runtime, run_id, str(ours["ticketNumber"]), actor="oscar")

    [event] = audits(runtime, "ticket.link_existing")
    assert event.outcome == "ok" and event.details["ticket_company"]["id"] == BRIGHTWATER
