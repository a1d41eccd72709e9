from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import NOW
from tests.services.autotask_world import AutotaskWorld, add_customers, configure
from ticketbridge.core.mapping_status import (
    INVALID_DELETED,
    INVALID_INACCESSIBLE,
    INVALID_INACTIVE,
    MappingStatus,
    creation_blocker,
)
from ticketbridge.services.connections import active as active_connection
from ticketbridge.services.connections import checks as integration_checks
from ticketbridge.services.connections import mapping, named, suggestions
from ticketbridge.services.connections.active import IntegrationDisabled
from ticketbridge.services.connections.mapping import MappingError
from ticketbridge.services.runs import catalog
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings
from ticketbridge.storage.models import AuditEvent, CompanyMappingRow

BRIGHTWATER = 102  # "Brightwater Dental" in the demo tenant


@pytest.fixture
def world() -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    yield made
    made.close()


@pytest.fixture
def runtime(
    settings: Settings, engine: Engine, db: sessionmaker[Session], world: AutotaskWorld
) -> Runtime:
    made = world.attach(build_runtime(settings, engine=engine, clock=lambda: NOW))
    configure(made)
    return made


def _stored(runtime: Runtime, customer_id: int) -> mapping.CompanyMapping:
    with runtime.session_factory() as session:
        return mapping.mapping_for_customer(session, customer_id)


def _audits(runtime: Runtime, action: str) -> list[AuditEvent]:
    with runtime.session_factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_unmapped_customer_is_missing(runtime: Runtime, db: sessionmaker[Session]) -> None:
    [customer] = add_customers(db, "Brightwater Dental")

    assert _stored(runtime, customer).status is MappingStatus.MISSING


def test_mapping_stores_the_company_id_and_its_name(
    runtime: Runtime, db: sessionmaker[Session]
) -> None:
    [customer] = add_customers(db, "Brightwater")

    made = mapping.map_customer(runtime, customer, BRIGHTWATER, actor="alice")

    stored = _stored(runtime, customer)
    assert stored == made
    assert (stored.company_id, stored.cached_name, stored.status) == (
        BRIGHTWATER,
        "Brightwater Dental",
        MappingStatus.OK,
    )
    [event] = _audits(runtime, "autotask.mapping.map")
    assert event.details["company_id"] == BRIGHTWATER


def test_mapping_to_an_unknown_or_inactive_company_is_refused(
    runtime: Runtime, db: sessionmaker[Session]
) -> None:
    [customer] = add_customers(db, "Old Oak")

    with pytest.raises(MappingError, match="no company"):
        mapping.map_customer(runtime, customer, 987654, actor="alice")
    with pytest.raises(MappingError, match="inactive"):
        mapping.map_customer(runtime, customer, 113, actor="alice")

    assert _stored(runtime, customer).status is MappingStatus.MISSING


def test_a_rename_keeps_the_mapping_and_shows_both_names_until_acknowledged(
    runtime: Runtime, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    [customer] = add_customers(db, "Brightwater Dental")
    mapping.map_customer(runtime, customer, BRIGHTWATER, actor="alice")
    world.rename_company(BRIGHTWATER, "Brightwater Dental Group")

    summary = mapping.validate(runtime, actor="alice")

    renamed = _stored(runtime, customer)
    assert summary.changed == [customer]
    assert renamed.status is MappingStatus.RENAMED
    assert renamed.company_id == BRIGHTWATER
    assert (renamed.previous_name, renamed.cached_name) == (
        "Brightwater Dental",
        "Brightwater Dental Group",
    )
    assert creation_blocker(renamed, "Brightwater Dental") is None
    with runtime.session_factory() as session:
        mapping.acknowledge_rename(session, customer, actor="alice")
        session.commit()
    acknowledged = _stored(runtime, customer)
    assert acknowledged.status is MappingStatus.OK
    assert acknowledged.previous_name is None
    assert acknowledged.cached_name == "Brightwater Dental Group"


def test_deactivation_and_deletion_make_the_mapping_invalid_with_their_reason(
    runtime: Runtime, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    deactivated, deleted = add_customers(db, "Brightwater Dental", "Cobalt Engineering")
    mapping.map_customer(runtime, deactivated, BRIGHTWATER, actor="alice")
    mapping.map_customer(runtime, deleted, 103, actor="alice")
    world.deactivate_company(BRIGHTWATER)
    world.delete_company(103)

    summary = mapping.validate(runtime, actor="alice")

    assert summary.statuses == {"ok": 0, "renamed": 0, "invalid": 2}
    assert _stored(runtime, deactivated).invalid_reason == INVALID_INACTIVE
    gone = _stored(runtime, deleted)
    assert (gone.status, gone.invalid_reason, gone.company_id) == (
        MappingStatus.INVALID,
        INVALID_DELETED,
        103,
    )
    assert creation_blocker(gone, "Cobalt Engineering") is not None


def test_a_company_the_api_user_may_not_read_makes_the_mapping_invalid(
    runtime: Runtime, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    [customer] = add_customers(db, "Brightwater Dental")
    mapping.map_customer(runtime, customer, BRIGHTWATER, actor="alice")
    world.fault(kind="status", status=403, path_contains="Companies/query")

    mapping.validate(runtime, actor="alice")

    assert _stored(runtime, customer).invalid_reason == INVALID_INACCESSIBLE


def test_check_customer_validates_one_mapping_before_a_ticket_action(
    runtime: Runtime, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    mapped, unmapped = add_customers(db, "Brightwater Dental", "Juniper Accounting")
    mapping.map_customer(runtime, mapped, BRIGHTWATER, actor="alice")
    world.delete_company(BRIGHTWATER)
    world.forget_requests()

    with (
        runtime.session_factory() as session,
        active_connection.active(runtime, session) as autotask,
    ):
        fresh = mapping.check_customer(session, autotask.connector, mapped, NOW)
        none = mapping.check_customer(session, autotask.connector, unmapped, NOW)
        session.commit()

    assert fresh.status is MappingStatus.INVALID
    assert none.status is MappingStatus.MISSING
    assert len(world.requests()) == 1


def test_unmapping_removes_the_mapping_without_asking_autotask(
    runtime: Runtime, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    [customer] = add_customers(db, "Brightwater Dental")
    mapping.map_customer(runtime, customer, BRIGHTWATER, actor="alice")
    world.forget_requests()

    with runtime.session_factory() as session:
        mapping.unmap_customer(session, customer, actor="alice")
        session.commit()

    assert _stored(runtime, customer).status is MappingStatus.MISSING
    assert world.requests() == []
    assert len(_audits(runtime, "autotask.mapping.unmap")) == 1


def test_deleting_a_customer_removes_its_mapping(
    runtime: Runtime, db: sessionmaker[Session]
) -> None:
    [customer] = add_customers(db, "Brightwater Dental")
    mapping.map_customer(runtime, customer, BRIGHTWATER, actor="alice")

    with runtime.session_factory() as session:
        catalog.delete_customer(session, customer, actor="alice")
        session.commit()
        assert session.scalars(select(CompanyMappingRow)).all() == []


def test_validating_a_thousand_mappings_costs_at_most_three_requests_and_one_audit_event(
    runtime: Runtime, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    customers = add_customers(db, *(f"Customer {i:04d}" for i in range(1000)))
    mapping.map_customer(runtime, customers[0], BRIGHTWATER, actor="alice")
    mapping.map_customer(runtime, customers[1], 103, actor="alice")
    with runtime.session_factory() as session:
        connection = named.first_of_kind(session, "autotask")
        assert connection is not None
        for index, customer in enumerate(customers[2:]):
            session.add(
                CompanyMappingRow(
                    connection_id=connection.id,
                    customer_id=customer,
                    company_id=500_000 + index,
                    company_name=f"Gone {index}",
                )
            )
        session.commit()
    world.forget_requests()

    summary = mapping.validate(runtime, actor="system")

    assert len(world.requests()) <= 3  # zone lookup + one query per 500 companies
    assert summary.checked == 1000
    assert summary.statuses == {"ok": 2, "renamed": 0, "invalid": 998}
    [event] = _audits(runtime, "autotask.mappings.validate")
    assert event.details["checked"] == 1000


def test_suggestions_match_normalised_names_and_map_nothing_on_their_own(
    runtime: Runtime, db: sessionmaker[Session]
) -> None:
    granite, brightwater, juniper = add_customers(
        db, "Granite Legal LLP", "Brightwater Dental", "Juniper Accounting"
    )

    found = suggestions.suggestions(runtime)

    assert [(s.customer_id, s.company_id) for s in found] == [(brightwater, 102), (granite, 107)]
    assert _stored(runtime, granite).status is MappingStatus.MISSING
    mapping.map_customer(runtime, granite, found[1].company_id, actor="alice")  # the confirmation
    assert [s.customer_id for s in suggestions.suggestions(runtime)] == [brightwater]
    assert juniper not in {s.customer_id for s in found}


def test_company_search_pages_and_shows_the_active_flag(runtime: Runtime) -> None:
    first = mapping.search_companies(runtime, "o", page_size=3)
    second = mapping.search_companies(runtime, "o", page_size=3, cursor=first.next_cursor)

    assert len(first.items) == 3 and first.next_cursor is not None
    assert {c.id for c in first.items}.isdisjoint({c.id for c in second.items})
    old_oak = mapping.search_companies(runtime, "old oak").items
    assert [(c.id, c.active) for c in old_oak] == [(113, False)]


def test_nightly_validation_does_nothing_while_disabled(
    runtime: Runtime, db: sessionmaker[Session], world: AutotaskWorld
) -> None:
    [customer] = add_customers(db, "Brightwater Dental")
    mapping.map_customer(runtime, customer, BRIGHTWATER, actor="alice")
    configure(runtime, enabled=False)
    world.forget_requests()

    assert mapping.nightly(runtime) == []
    with pytest.raises(IntegrationDisabled):
        mapping.search_companies(runtime, "acme")

    assert world.requests() == []
    assert integration_checks is not None
