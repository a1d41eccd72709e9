"""Fixtures for alert tests: the product wired to the Autotask emulator, ready for alerts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.services.alerts.support import prepare_alerts
from tests.services.autotask_world import AutotaskWorld
from tests.services.tickets.support import Clock, prepare
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.settings import Settings


@dataclass(frozen=True)
class Prepared:
    runtime: Runtime
    customer_id: int  # "Acme Logistics", mapped to Brightwater Dental (102)
    source_id: int  # the alert source, CustomerID "100" mapped to the customer


@pytest.fixture
def world() -> Iterator[AutotaskWorld]:
    made = AutotaskWorld()
    yield made
    made.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def prepared(
    settings: Settings,
    engine: Engine,
    db: sessionmaker[Session],
    world: AutotaskWorld,
    clock: Clock,
) -> Prepared:
    runtime = world.attach(build_runtime(settings, engine=engine, clock=clock))
    customer_id = prepare(runtime, db)
    return Prepared(runtime, customer_id, prepare_alerts(world, runtime, customer_id))


@pytest.fixture
def runtime(prepared: Prepared) -> Runtime:
    return prepared.runtime
