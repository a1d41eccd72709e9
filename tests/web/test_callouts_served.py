"""Callouts through a real uvicorn: the lean receiver and the group-commit writer behind it.

The emulator makes the callouts; they are captured, copied 10 times and shuffled as Autotask's
retries would arrive, and sent by concurrent clients so that the writer takes them in batches.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import add_runs
from tests.services.roundtrip.support import HookWorld, hook_requests, make_callout, new_ticket
from tests.services.tickets.support import Clock, current, prepare
from tests.web.serving import serve
from ticketbridge.core.ticket_links import LinkState
from ticketbridge.services.roundtrip import apply
from ticketbridge.services.runtime import Runtime
from ticketbridge.settings import Settings
from ticketbridge.web.app import create_app

COMPLETE, IN_PROGRESS = 5, 8


@pytest.fixture(autouse=True)
def fresh_status_lists() -> Iterator[None]:
    apply.forget_status_lists()
    yield
    apply.forget_status_lists()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(clock: Clock) -> Iterator[HookWorld]:
    made = HookWorld(clock)
    made.relay.target = None  # record the emulator's callouts; the tests send them
    yield made
    made.close()


@pytest.fixture
def app(settings: Settings, engine: Engine, clock: Clock) -> FastAPI:
    return create_app(settings, engine=engine, clock=clock)


@pytest.fixture
def base(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def runtime(app: FastAPI, db: sessionmaker[Session], world: HookWorld) -> Runtime:
    made: Runtime = app.state.ctx
    world.attach(made)
    prepare(made, db)
    return made


def send(base: str, captured: httpx.Request) -> httpx.Response:
    path = captured.url.raw_path.decode()
    headers = {k: v for k, v in captured.headers.items() if k.lower() != "host"}
    return httpx.request(
        captured.method, base + path, headers=headers, content=captured.content, timeout=30
    )


def send_all(base: str, requests: list[httpx.Request]) -> list[int]:
    with ThreadPoolExecutor(8) as pool:
        return [r.status_code for r in pool.map(lambda r: send(base, r), requests)]


def one_change(
    runtime: Runtime, world: HookWorld, clock: Clock, db: sessionmaker[Session]
) -> tuple[int, httpx.Request]:
    """A run with a ticket completed a minute later: the run and the callout of that change."""
    [run_id] = add_runs(db, 1)
    ticket_id = new_ticket(runtime, run_id)
    make_callout(runtime, world)
    clock.advance(minutes=1)
    world.set_status(ticket_id, COMPLETE)
    world.deliver()
    [callout] = world.relay.requests
    return run_id, callout


@contextmanager
def refusing_hook_rows(engine: Engine, times: int | None = None) -> Iterator[list[int | None]]:
    """The database refuses to store hook requests (``times`` times, else every time);
    yields what is left of ``times``."""
    left = [times]

    def refuse(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO HOOK_REQUESTS") and left[0] != 0:
            left[0] = None if left[0] is None else left[0] - 1
            raise OperationalError(statement, {}, Exception("disk full"))

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield left
    finally:
        event.remove(engine, "before_cursor_execute", refuse)


def test_ten_shuffled_copies_of_each_change_sent_at_once_are_applied_once(
    runtime: Runtime, world: HookWorld, clock: Clock, db: sessionmaker[Session], base: str
) -> None:
    run_ids = add_runs(db, 4)
    tickets = [new_ticket(runtime, run_id) for run_id in run_ids]
    make_callout(runtime, world)
    clock.advance(minutes=2)
    for ticket_id in tickets:
        world.set_status(ticket_id, COMPLETE)
    world.deliver()
    copies = [r for r in world.relay.requests for _ in range(10)]
    random.Random(5).shuffle(copies)

    assert set(send_all(base, copies)) == {200}

    outcomes = [r.outcome for r in hook_requests(runtime, "callout")]
    answer = send(base, copies[0])  # one more copy: what an answer says
    assert (answer.status_code, answer.text) == (200, "duplicate\n")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert sorted(outcomes) == ["applied"] * 4 + ["duplicate"] * 36
    for run_id in run_ids:
        link = current(runtime, run_id)
        assert link is not None and link.state == LinkState.RESOLVED.value


def test_copies_of_several_changes_end_in_the_newest_state(
    runtime: Runtime, world: HookWorld, clock: Clock, db: sessionmaker[Session], base: str
) -> None:
    [run_id] = add_runs(db, 1)
    ticket_id = new_ticket(runtime, run_id)
    make_callout(runtime, world)
    for status in (IN_PROGRESS, COMPLETE):
        clock.advance(minutes=2)
        world.set_status(ticket_id, status)
        world.deliver()
    copies = [r for r in world.relay.requests for _ in range(10)]
    random.Random(9).shuffle(copies)

    assert set(send_all(base, copies)) == {200}

    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value
    assert link.last_status_label == "Complete" and link.last_activity_at == clock.now
    applied = [r for r in hook_requests(runtime, "callout") if r.outcome == "applied"]
    assert 1 <= len(applied) <= 2  # the older change applies only if it came first


def test_an_older_callout_after_a_newer_one_changes_nothing(
    runtime: Runtime, world: HookWorld, clock: Clock, db: sessionmaker[Session], base: str
) -> None:
    [run_id] = add_runs(db, 1)
    ticket_id = new_ticket(runtime, run_id)
    make_callout(runtime, world)
    for status in (IN_PROGRESS, COMPLETE):
        clock.advance(minutes=1)
        world.set_status(ticket_id, status)
        world.deliver()
    older, newer = world.relay.requests[-2:]

    assert send(base, newer).status_code == 200
    assert send(base, older).status_code == 200

    assert [r.outcome for r in hook_requests(runtime, "callout")] == ["applied", "stale"]
    link = current(runtime, run_id)
    assert link is not None and link.last_status_label == "Complete"


def test_a_callout_that_cannot_be_stored_is_answered_503_so_autotask_sends_it_again(
    runtime: Runtime,
    world: HookWorld,
    clock: Clock,
    db: sessionmaker[Session],
    engine: Engine,
    base: str,
) -> None:
    run_id, callout = one_change(runtime, world, clock, db)

    with refusing_hook_rows(engine):
        refused = send(base, callout)

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "60"
    assert hook_requests(runtime, "callout") == []
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.ACTIVE.value

    # Autotask's retry, once the database takes writes again, is applied.
    assert send(base, callout).status_code == 200
    link = current(runtime, run_id)
    assert link is not None and link.state == LinkState.RESOLVED.value


def http_counted(method: str, status: int) -> float:
    labels = {"method": method, "route": "/hooks/autotask/callouts/{name}", "status": str(status)}
    return REGISTRY.get_sample_value("ticketbridge_http_requests_total", labels) or 0.0


def test_callouts_get_a_request_id_and_a_line_in_the_http_metrics_by_template(
    runtime: Runtime, world: HookWorld, clock: Clock, db: sessionmaker[Session], base: str
) -> None:
    _, callout = one_change(runtime, world, clock, db)
    before = {(m, s): http_counted(m, s) for m, s in [("POST", 200), ("PUT", 405)]}

    kept = callout.headers.copy()
    kept["X-Request-ID"] = "lb-callout-0001"
    answers = [
        send(
            base, httpx.Request(callout.method, callout.url, headers=kept, content=callout.content)
        ),
        send(base, callout),
        httpx.put(base + "/hooks/autotask/callouts/autotask", content=b"id=1", timeout=30),
    ]

    assert [a.status_code for a in answers] == [200, 200, 405]
    assert answers[0].headers["x-request-id"] == "lb-callout-0001"
    generated = [a.headers["x-request-id"] for a in answers[1:]]
    assert all(len(found) == 32 for found in generated) and generated[0] != generated[1]
    assert http_counted("POST", 200) - before[("POST", 200)] == 2
    assert http_counted("PUT", 405) - before[("PUT", 405)] == 1
    duration = {"method": "POST", "route": "/hooks/autotask/callouts/{name}"}
    assert (
        REGISTRY.get_sample_value("ticketbridge_http_request_duration_seconds_count", duration) or 0
    ) >= 2


def hooks_counted() -> dict[str, float]:
    """``ticketbridge_hooks_received_total`` of callouts so far, by outcome."""
    return {
        sample.labels["outcome"]: sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == "ticketbridge_hooks_received_total"
        and sample.labels["channel"] == "callout"
    }


def grown(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}


@pytest.mark.parametrize("refusals", [1, 2], ids=["stored-alone", "not-stored"])
def test_a_callout_whose_batch_fails_to_commit_is_counted_once_by_its_final_outcome(
    runtime: Runtime,
    world: HookWorld,
    clock: Clock,
    db: sessionmaker[Session],
    engine: Engine,
    base: str,
    refusals: int,
) -> None:
    _, callout = one_change(runtime, world, clock, db)
    before = hooks_counted()

    # The batch's insert fails, then (with 2) the insert of the request alone.
    with refusing_hook_rows(engine, times=refusals) as left:
        answer = send(base, callout)

    assert left == [0]
    if refusals == 1:
        assert answer.status_code == 200 and "could not be applied" in answer.text
        assert [r.outcome for r in hook_requests(runtime, "callout")] == ["failed"]
        assert grown(before, hooks_counted()) == {"failed": 1}
    else:
        assert answer.status_code == 503
        assert grown(before, hooks_counted()) == {"not_stored": 1}


def test_the_receiver_refuses_what_is_not_a_callout_before_storing_it(
    runtime: Runtime, world: HookWorld, base: str
) -> None:
    make_callout(runtime, world)
    url = base + "/hooks/autotask/callouts/autotask"
    too_large = httpx.post(url, content=b"x" * (256 * 1024 + 1), timeout=30)
    assert too_large.status_code == 413
    assert httpx.put(url, content=b"id=1", timeout=30).status_code == 405
    assert httpx.post(base + "/hooks/autotask/callouts/a%20b", timeout=30).status_code == 404
    assert httpx.get(base + "/hooks/autotask/callouts/", timeout=30).status_code == 404
    assert hook_requests(runtime) == []
