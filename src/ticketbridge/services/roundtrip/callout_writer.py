"""One thread per process that receives the callouts arriving over HTTP, in batches.

A request hands its callout over and waits for its answer; the writer takes whatever has
arrived, up to ``MAX_BATCH``, receives it in one transaction (:mod:`callout_batch`) and
answers each request once that transaction is committed. Nothing waits for a batch to fill:
a lone callout goes at once, and under a burst the next batch is what arrived while the last
one committed, so the batches grow with the load and the commits per callout shrink. A batch
with a hint about a linked ticket calls ``on_hint`` (the prompt confirming read).

Under load (the last batch held more than one request) the writer waits a little, at most
``LINGER_SECONDS``, for the requests its last answers bring back: a client that got its answer
sends its next callout within about a millisecond, and a batch that takes them in as well costs
less per callout (a batch's queries and its commit are shared; on SQLite some 9 ms of CPU a
batch, so 0.6 ms a callout in batches of 16 against 0.3 ms in batches of 32). It stops waiting
as soon as as many have come as the last batch answered. PostgreSQL's ``commit_delay`` does the
same, and only when other transactions are active, for the same reason.

A request waits on an asyncio future of its event loop (:meth:`CalloutWriter.answer`): the
writer answers a batch's requests with one ``call_soon_threadsafe`` per loop, one wake-up of
the loop per batch instead of one per request.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable

from ticketbridge.services.roundtrip import callout_batch
from ticketbridge.services.roundtrip.prompt_fetch import HINTED
from ticketbridge.services.roundtrip.receipt import STORE_FAILED, Answer, Incoming
from ticketbridge.services.runtime import Runtime

log = logging.getLogger(__name__)
MAX_BATCH = 200
LINGER_SECONDS = 0.01
Call = tuple[str, Incoming, "asyncio.Future[Answer]"]


class CalloutWriter:
    def __init__(self, runtime: Runtime, on_hint: Callable[[], None] | None = None) -> None:
        self.runtime = runtime
        self.on_hint = on_hint
        self._queue: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def answer(self, name: str, incoming: Incoming) -> Answer:
        """The answer, once the callout was stored (and applied)."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        with self._lock:
            if self._thread is None:  # started on first use, and again after a stop
                self._thread = threading.Thread(target=self._run, name="tb-callouts", daemon=True)
                self._thread.start()
            self._queue.put((name, incoming, future))
        return await future

    def stop(self) -> None:
        """Answer what was handed over, then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        last = 1  # how many the last batch answered
        while True:
            waiting = self._queue.qsize()  # what came while the last batch was received
            first = self._queue.get()
            if first is None:
                return
            # After a batch of more than one: those it answered are coming back as well.
            batch, stopping = self._gather(first, waiting + last if last > 1 else 1)
            self._receive(batch)
            if stopping:
                return
            last = len(batch)

    def _gather(self, first: Call, expected: int) -> tuple[list[Call], bool]:
        """The next batch, and whether the writer was asked to stop: whatever has arrived, and
        until ``expected`` are in, what arrives within ``LINGER_SECONDS``."""
        batch = [first]
        enough = min(MAX_BATCH, expected)
        deadline = time.monotonic() + LINGER_SECONDS
        while len(batch) < MAX_BATCH:
            try:
                if len(batch) < enough and (left := deadline - time.monotonic()) > 0:
                    more = self._queue.get(timeout=left)
                else:
                    more = self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                return batch, True
            batch.append(more)
        return batch, False

    def _receive(self, batch: list[Call]) -> None:
        try:
            answers = callout_batch.receive_many(
                self.runtime, [(name, incoming) for name, incoming, _ in batch]
            )
        except Exception:  # a bug: nothing known to be stored, so Autotask should send again
            log.exception("callouts: a batch of %d could not be received", len(batch))
            answers = [STORE_FAILED] * len(batch)
        if self.on_hint is not None and any(a.outcome in HINTED for a in answers):
            self.on_hint()  # before the answers: the read is on its way once Autotask hears
        on_loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Answer], Answer]]] = {}
        for (_, _, future), answer in zip(batch, answers, strict=True):
            on_loops.setdefault(future.get_loop(), []).append((future, answer))
        for loop, answered in on_loops.items():
            try:
                loop.call_soon_threadsafe(_resolve, answered)
            except RuntimeError:  # the loop is closed: nobody waits for these answers
                log.warning("callouts: %d answers for a closed event loop", len(answered))


def _resolve(answered: list[tuple[asyncio.Future[Answer], Answer]]) -> None:
    """On the requests' loop: each waiting request gets its answer (one that gave up, say its
    client left, is cancelled already)."""
    for future, answer in answered:
        if not future.done():
            future.set_result(answer)
