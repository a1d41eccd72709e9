"""Inbound Autotask hooks under /hooks: extension callouts and ticket webhooks.

No session or token: a callout proves itself with HTTP basic credentials (its endpoint's user
name and password), a webhook with ``X-Hook-Signature``. Every request to a configured
endpoint is stored before it is checked (services/roundtrip/receipt.py); the answer is 200
when stored (also for a ticket we do not know: nothing to retry), 401 for wrong credentials or
signature, 400 for a body that is not a callout, 404 for an endpoint that does not exist, and
503 only when the request could not be stored, so that Autotask sends it again.

Callouts, which Autotask sends once per ticket change and again up to 10 times, take a lean
path: ``CalloutReceiver`` answers them ahead of the app (FastAPI's own layers and every
middleware: sessions, request limits) and hands them to the process's callout writer, which
stores and applies them in batches, one transaction each (services/roundtrip/callout_writer.py).
It keeps the same body cap as every /hooks route (``limits.HOOK_MAX_BYTES``), the security
headers, and, as web/observe.py gives every other request, an ``X-Request-ID`` (the caller's
when sane) and a line in the HTTP metrics under the route template
``/hooks/autotask/callouts/{name}``. Webhooks go through the app, their
services on a worker thread: the event loop only reads the body.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from ticketbridge.services.roundtrip import Answer, Incoming, webhooks
from ticketbridge.services.roundtrip.callout_writer import CalloutWriter
from ticketbridge.services.roundtrip.prompt_fetch import HINTED, PromptFetch
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import log_context
from ticketbridge.web import observe
from ticketbridge.web.limits import HOOK_MAX_BYTES
from ticketbridge.web.security_headers import SecurityHeaders

log = logging.getLogger(__name__)
router = APIRouter(prefix="/hooks/autotask", include_in_schema=False)
CALLOUTS = "/hooks/autotask/callouts/"
CALLOUT_NAME = re.compile(r"[A-Za-z0-9-]{1,50}")
PLAIN = (b"content-type", b"text/plain; charset=utf-8")
CALLOUT_ROUTE = CALLOUTS + "{name}"  # the HTTP metrics' route label of every callout
REQUEST_ID = observe.HEADER.lower().encode("latin-1")
RegistrationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _incoming(request: Request) -> Incoming:
    body = await request.body()
    return Incoming.of(request.method, request.url.query, request.headers, body)


def _answer(answer: Answer) -> PlainTextResponse:
    return PlainTextResponse(answer.message + "\n", answer.status, headers=answer.headers)


def _ctx(request: Request) -> Runtime:
    ctx: Runtime = request.app.state.ctx
    return ctx


@router.post("/webhooks/{registration_id}")
async def webhook(request: Request, registration_id: RegistrationId) -> PlainTextResponse:
    incoming = await _incoming(request)
    answer = await anyio.to_thread.run_sync(
        webhooks.receive, _ctx(request), registration_id, incoming
    )
    if answer.outcome in HINTED:
        prompt: PromptFetch = request.app.state.prompt_fetch
        prompt.kick()
    return _answer(answer)


@router.post("/webhooks/{registration_id}/deactivated")
async def webhook_deactivated(
    request: Request, registration_id: RegistrationId
) -> PlainTextResponse:
    incoming = await _incoming(request)
    answer = await anyio.to_thread.run_sync(
        webhooks.deactivated, _ctx(request), registration_id, incoming
    )
    return _answer(answer)


class CalloutReceiver:
    """``/hooks/autotask/callouts/<name>`` (GET or POST), answered ahead of the app: the app
    (web/app.py) hands a request here when :meth:`takes` it, before FastAPI's own layers and
    every middleware. Each answer carries the headers every answer carries
    (web/security_headers.py), an ``X-Request-ID`` and a line in the HTTP metrics, as
    web/observe.py gives every other request."""

    def __init__(self, *, writer: CalloutWriter, https_only: bool) -> None:
        self.writer = writer
        # Made once: the same for every answer (an answer's own headers never name them).
        self.security = tuple(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in SecurityHeaders.for_answers(https_only=https_only)
        )

    @staticmethod
    def takes(scope: Scope) -> bool:
        return scope["type"] == "http" and str(scope.get("path", "")).startswith(CALLOUTS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        offered = next((v for k, v in scope["headers"] if k == REQUEST_ID), None)
        request_id = log_context.accept_request_id(offered.decode("latin-1") if offered else None)
        started = time.perf_counter()
        answered: list[int] = []  # the status, once the answer went out whole
        try:
            answer = await self._callout(scope, receive)
            await self._send(send, answer, request_id, answered, started, scope["method"])
        except Exception:
            # What ServerErrorMiddleware does for the app: a plain 500 when nothing was sent.
            log.exception("callouts: the request could not be answered")
            if not answered:
                failed = Answer(500, "Internal Server Error")
                await self._send(send, failed, request_id, answered, started, scope["method"])
        finally:
            if not answered:  # no answer went out (the client left): counted as the app does
                observe.counted(scope["method"], CALLOUT_ROUTE, 500, started)

    async def _callout(self, scope: Scope, receive: Receive) -> Answer:
        name = scope["path"][len(CALLOUTS) :]
        if not CALLOUT_NAME.fullmatch(name):
            return Answer(404, "no such endpoint")
        if scope["method"] not in ("GET", "POST"):
            return Answer(405, "GET or POST", headers={"Allow": "GET, POST"})
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _body(receive, headers.get("content-length"))
        if body is None:
            too_large = f"a callout is at most {HOOK_MAX_BYTES} bytes"
            return Answer(413, too_large, headers={"Connection": "close"})
        query = scope.get("query_string", b"").decode("latin-1")
        incoming = Incoming(scope["method"], query, headers, body)
        return await self.writer.answer(name, incoming)

    async def _send(
        self,
        send: Send,
        answer: Answer,
        request_id: str,
        answered: list[int],
        started: float,
        method: str,
    ) -> None:
        body = (answer.message + "\n").encode("utf-8")
        headers = [PLAIN, (b"content-length", str(len(body)).encode())]
        headers += [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()
        ]
        headers += self.security
        headers.append((REQUEST_ID, request_id.encode("latin-1")))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        # Counted before the client has it all, as observe.py does: a client holding the
        # answer finds it in the next scrape.
        answered.append(answer.status)
        observe.counted(method, CALLOUT_ROUTE, answer.status, started)
        await send({"type": "http.response.body", "body": body})


async def _body(receive: Receive, length: str | None) -> bytes | None:
    """The body, or None when it is longer than a callout can be (refused before reading when
    it says so up front)."""
    if length is not None and (not length.isdigit() or int(length) > HOOK_MAX_BYTES):
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)  # the client left: nothing will read the answer
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > HOOK_MAX_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
