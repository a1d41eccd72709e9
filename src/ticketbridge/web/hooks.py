"""Inbound Autotask hooks under /hooks: extension callouts and ticket webhooks.

No session or token: a callout proves itself with HTTP basic credentials (its endpoint's user
name and password), a webhook with ``X-Hook-Signature``. Every request to a configured
endpoint is stored before it is checked (services/roundtrip/receipt.py); the answer is 200
when stored (also for a ticket we do not know: nothing to retry), 401 for wrong credentials or
signature, 400 for a body that is not a callout, 404 for an endpoint that does not exist, and
503 only when the request could not be stored, so that Autotask sends it again.

Callouts, which Autotask sends once per ticket change and again up to 10 times, take a lean
path: ``CalloutReceiver`` answers them before the app's middlewares (sessions, request limits)
and hands them to the process's callout writer, which stores and applies them in
batches, one transaction each (services/roundtrip/callout_writer.py). It keeps the same body
cap as every /hooks route (``limits.HOOK_MAX_BYTES``), and, as web/observe.py gives every
other request, an ``X-Request-ID`` (the caller's when sane) and a line in the HTTP metrics
under the route template ``/hooks/autotask/callouts/{name}``. Webhooks go through the app, their
services on a worker thread: the event loop only reads the body.
"""

from __future__ import annotations

import re
import time
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketbridge.services.roundtrip import Answer, Incoming, webhooks
from ticketbridge.services.roundtrip.callout_writer import CalloutWriter
from ticketbridge.services.roundtrip.prompt_fetch import HINTED, PromptFetch
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import log_context
from ticketbridge.web import observe
from ticketbridge.web.limits import HOOK_MAX_BYTES
from ticketbridge.web.security_headers import SecurityHeaders

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
    """Pure ASGI middleware, outermost: ``/hooks/autotask/callouts/<name>`` (GET or POST) is
    answered here, with the headers every answer carries (web/security_headers.py);
    everything else passes to the app."""

    def __init__(self, app: ASGIApp, *, writer: CalloutWriter, https_only: bool) -> None:
        self.app = app
        self.writer = writer
        self.answer = SecurityHeaders(self._callout, https_only=https_only)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(CALLOUTS):
            await self._observed(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _observed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The answer with its request id, counted in the HTTP metrics (web/observe.py does
        the same for every other request, after this receiver)."""
        offered = next((v for k, v in scope["headers"] if k == REQUEST_ID), None)
        request_id = log_context.accept_request_id(offered.decode("latin-1") if offered else None)
        status = 500  # what the client gets when the answer fails before it starts
        done = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, done
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"].append((REQUEST_ID, request_id.encode("latin-1")))
            elif not message.get("more_body", False) and not done:
                done = True  # counted before the client has it all, as observe.py does
                observe.counted(scope["method"], CALLOUT_ROUTE, status, started)
            await send(message)

        started = time.perf_counter()
        try:
            await self.answer(scope, receive, send_with_id)
        finally:
            if not done:
                observe.counted(scope["method"], CALLOUT_ROUTE, status, started)

    async def _callout(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = scope["path"][len(CALLOUTS) :]
        if not CALLOUT_NAME.fullmatch(name):
            await _plain(send, Answer(404, "no such endpoint"))
            return
        if scope["method"] not in ("GET", "POST"):
            await _plain(send, Answer(405, "GET or POST", headers={"Allow": "GET, POST"}))
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _body(receive, headers.get("content-length"))
        if body is None:
            too_large = f"a callout is at most {HOOK_MAX_BYTES} bytes"
            await _plain(send, Answer(413, too_large, headers={"Connection": "close"}))
            return
        query = scope.get("query_string", b"").decode("latin-1")
        incoming = Incoming(scope["method"], query, headers, body)
        answer = await self.writer.answer(name, incoming)
        await _plain(send, answer)


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


async def _plain(send: Send, answer: Answer) -> None:
    body = (answer.message + "\n").encode("utf-8")
    headers = [PLAIN, (b"content-length", str(len(body)).encode())]
    headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
