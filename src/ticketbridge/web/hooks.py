"""Inbound Autotask hooks under /hooks: extension callouts and ticket webhooks.

No session or token: a callout proves itself with HTTP basic credentials (its endpoint's user
name and password), a webhook with ``X-Hook-Signature``. Every request to a configured
endpoint is stored before it is checked (services/roundtrip/receipt.py); the answer is 200
when stored (also for a ticket we do not know: nothing to retry), 401 for wrong credentials or
signature, 400 for a body that is not a callout, 404 for an endpoint that does not exist, and
503 only when the request could not be stored, so that Autotask sends it again.

The services run on a worker thread: the event loop only reads the body.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse

from ticketbridge.services.roundtrip import Answer, Incoming, callouts, webhooks
from ticketbridge.services.runtime import Runtime

router = APIRouter(prefix="/hooks/autotask", include_in_schema=False)
CalloutName = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9-]+$")]
RegistrationId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _incoming(request: Request) -> Incoming:
    body = await request.body()
    return Incoming.of(request.method, request.url.query, request.headers, body)


def _answer(answer: Answer) -> PlainTextResponse:
    return PlainTextResponse(answer.message + "\n", answer.status, headers=answer.headers)


def _ctx(request: Request) -> Runtime:
    ctx: Runtime = request.app.state.ctx
    return ctx


@router.api_route("/callouts/{name}", methods=["GET", "POST"])
async def callout(request: Request, name: CalloutName) -> PlainTextResponse:
    incoming = await _incoming(request)
    answer = await anyio.to_thread.run_sync(callouts.receive, _ctx(request), name, incoming)
    return _answer(answer)


@router.post("/webhooks/{registration_id}")
async def webhook(request: Request, registration_id: RegistrationId) -> PlainTextResponse:
    incoming = await _incoming(request)
    answer = await anyio.to_thread.run_sync(
        webhooks.receive, _ctx(request), registration_id, incoming
    )
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
