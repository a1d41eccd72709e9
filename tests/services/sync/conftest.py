"""Sync service fixtures: the product and both emulators on one clock, connected."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.services.sync.support import Clock, SyncWorld, company, connect, make_sync
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(clock: Clock) -> Iterator[SyncWorld]:
    made = SyncWorld(clock)
    yield made
    made.close()


@pytest.fixture
def runtime(
    settings: Settings, engine: Engine, db: sessionmaker[Session], world: SyncWorld, clock: Clock
) -> Runtime:
    return world.attach(build_runtime(settings, engine=engine, clock=clock))


@pytest.fixture
def connections(runtime: Runtime) -> tuple[int, int]:
    return connect(runtime)


@pytest.fixture
def acme(runtime: Runtime, connections: tuple[int, int]) -> int:
    return company(runtime, connections[0], "Acme")


@pytest.fixture
def sync_id(runtime: Runtime, acme: int) -> int:
    return make_sync(runtime, acme)


@dataclass(frozen=True)
class Paired:
    """A sync between Autotask (A, Acme) and Jira (B, the OPS project), ready to run."""

    runtime: Runtime
    a: int
    b: int
    acme: int
    sync_id: int
    clock: Clock
    world: SyncWorld
    db: sessionmaker[Session]


@pytest.fixture
def paired(
    runtime: Runtime,
    connections: tuple[int, int],
    acme: int,
    sync_id: int,
    clock: Clock,
    world: SyncWorld,
    db: sessionmaker[Session],
) -> Paired:
    return Paired(runtime, *connections, acme, sync_id, clock, world, db)
