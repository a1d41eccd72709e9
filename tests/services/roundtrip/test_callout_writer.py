"""The callout writer: requests on an event loop handed over, received in batches, and answered
on their loop; the hints of a batch's tickets read once and kept per ticket."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.services.roundtrip.support import hook_requests, make_callout
from tests.services.tickets.support import Clock
from ticketbridge.services.roundtrip import Incoming, callout_batch
from ticketbridge.services.roundtrip.callout_writer import CalloutWriter
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.models import TicketHint

COMPLETE, IN_PROGRESS = 5, 8


def _unsigned(body: bytes) -> Incoming:
    """A callout without credentials: stored, answered 401."""
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return Incoming("POST", "", headers, body)


def test_a_batch_answers_every_waiting_request_on_its_loop_even_when_one_gave_up(
    runtime: Runtime, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_callout(runtime, world)
    first_batch_started, release = threading.Event(), threading.Event()
    real = callout_batch.receive_many
    batches: list[int] = []

    def held_first(runtime: Runtime, calls: Any) -> Any:
        batches.append(len(calls))
        if len(batches) == 1:  # the others pile up meanwhile: the next batch is all of them
            first_batch_started.set()
            release.wait(timeout=30)
        return real(runtime, calls)

    monkeypatch.setattr(callout_batch, "receive_many", held_first)
    writer = CalloutWriter(runtime)

    async def scenario() -> tuple[int, list[int]]:
        first = asyncio.create_task(writer.answer("autotask", _unsigned(b"id=1")))
        while not first_batch_started.is_set():  # the writer holds the first batch
            await asyncio.sleep(0)
        gave_up = asyncio.create_task(writer.answer("autotask", _unsigned(b"id=2")))
        others = [
            asyncio.create_task(writer.answer("autotask", _unsigned(f"id={n}".encode())))
            for n in range(3, 6)
        ]
        await asyncio.sleep(0)  # each task has handed its request over
        gave_up.cancel()
        release.set()
        # Bounded: without their answers the test would otherwise wait for ever.
        answers = await asyncio.wait_for(asyncio.gather(*others), timeout=60)
        return (await first).status, [a.status for a in answers]

    try:
        first_status, statuses = asyncio.run(scenario())
    finally:
        release.set()
        writer.stop()
    assert first_status == 401 and statuses == [401, 401, 401]
    assert batches == [1, 4]  # the one that gave up was in the batch with the others
    assert len(hook_requests(runtime, "callout")) == 5  # its request is stored all the same


def test_copies_in_one_batch_record_one_hint_and_the_next_batch_updates_it(
    runtime: Runtime, world: Any, clock: Clock, run_id: int, ticket_id: int
) -> None:
    make_callout(runtime, world)
    sent: list[Incoming] = []

    def keep(request: httpx.Request) -> httpx.Response:
        sent.append(
            Incoming.of(
                request.method, request.url.query.decode(), request.headers, request.content
            )
        )
        return httpx.Response(200)

    world.relay.target = keep
    world.deliver()  # the create's own callout, kept aside
    sent.clear()
    clock.advance(minutes=1)
    world.set_status(ticket_id, IN_PROGRESS)
    world.deliver()
    [change] = sent

    answers = callout_batch.receive_many(runtime, [("autotask", change)] * 5)
    assert [a.outcome for a in answers] == ["applied"] + ["duplicate"] * 4
    with runtime.session_factory() as session:
        [hint] = session.scalars(select(TicketHint).where(TicketHint.ticket_id == ticket_id))
        assert hint.hints == 1 and hint.fetch_due_at is not None
        first_announced = hint.announced_activity

    sent.clear()
    clock.advance(minutes=1)
    world.set_status(ticket_id, COMPLETE)
    world.deliver()
    [closing] = sent
    answers = callout_batch.receive_many(runtime, [("autotask", closing)] * 3)
    assert [a.outcome for a in answers] == ["applied", "duplicate", "duplicate"]
    with runtime.session_factory() as session:
        [hint] = session.scalars(select(TicketHint).where(TicketHint.ticket_id == ticket_id))
        assert hint.hints == 2
        assert first_announced is not None and hint.announced_activity is not None
        assert hint.announced_activity > first_announced
