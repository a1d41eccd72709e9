"""Round-trip service fixtures: the product and the emulator on one clock, hooks delivered
straight into the services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_runs
from tests.services.roundtrip.support import HookWorld, new_ticket, to_services
from tests.services.tickets.support import Clock, prepare
from ticketbridge.services.roundtrip import apply
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(clock: Clock) -> Iterator[HookWorld]:
    made = HookWorld(clock)
    yield made
    made.close()


@pytest.fixture
def runtime(
    settings: Settings, engine: Engine, db: sessionmaker[Session], world: HookWorld, clock: Clock
) -> Runtime:
    made = world.attach(build_runtime(settings, engine=engine, clock=clock))
    prepare(made, db)
    world.relay.target = to_services(made)
    return made


@pytest.fixture
def run_id(db: sessionmaker[Session], runtime: Runtime) -> int:
    [made] = add_runs(db, 1)
    return made


@pytest.fixture
def ticket_id(runtime: Runtime, run_id: int) -> int:
    return new_ticket(runtime, run_id)


@pytest.fixture(autouse=True)
def fresh_status_lists() -> Iterator[None]:
    """The status picklist is cached per database for 30 s; each test loads its own."""
    apply.forget_status_lists()
    yield
    apply.forget_status_lists()
