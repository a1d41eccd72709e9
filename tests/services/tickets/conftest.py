"""Fixtures for ticket tests: the product wired to the Autotask emulator, ready to ticket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_runs
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import Clock, prepare
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings


@pytest.fixture
def world() -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    yield made
    made.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runtime(
    settings: Settings,
    engine: Engine,
    db: sessionmaker[Session],
    world: AutotaskWorld,
    clock: Clock,
) -> Runtime:
    made = world.attach(build_runtime(settings, engine=engine, clock=clock))
    prepare(made, db)
    return made


@pytest.fixture
def run_id(db: sessionmaker[Session], runtime: Runtime) -> int:
    [made] = add_runs(db, 1)
    return made
