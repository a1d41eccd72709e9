"""Microsoft Graph change notifications at /hooks/graph/notifications/{source_id}: no session
or token; each subscription proves itself with its ``clientState`` (services/mail/
subscriptions.py).

- ``?validationToken=…`` (Graph checking the URL while a subscription is created): the token,
  URL-decoded, as a text/plain 200, for a source with a subscription being set up; a token
  longer than Graph's is refused (400) rather than echoed.
- A notification collection: stored, then checked; 202 and a poll of the source now, 401 for a
  wrong ``clientState`` (nothing polled), 400 for a body that is not one, 404 for a source
  without a subscription.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse

from ticketbridge.services.mail import subscriptions
from ticketbridge.services.mail.prompt_poll import PromptPoll
from ticketbridge.services.roundtrip import Incoming
from ticketbridge.services.runtime import Runtime

router = APIRouter(prefix="/hooks/graph", include_in_schema=False)
SourceId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_TOKEN_LENGTH = 1024  # Graph's tokens are about 100 characters


@router.post("/notifications/{source_id}")
async def notification(request: Request, source_id: SourceId) -> PlainTextResponse:
    ctx: Runtime = request.app.state.ctx
    token = request.query_params.get("validationToken")
    if token is not None:
        if len(token) > MAX_TOKEN_LENGTH:
            return PlainTextResponse("validation token too long\n", 400)
        known = await anyio.to_thread.run_sync(subscriptions.expects_validation, ctx, source_id)
        if not known:
            return PlainTextResponse("no such endpoint\n", 404)
        return PlainTextResponse(token, 200)
    body = await request.body()
    incoming = Incoming.of(request.method, request.url.query, request.headers, body)
    answer = await anyio.to_thread.run_sync(subscriptions.receive, ctx, source_id, incoming)
    if answer.outcome == "applied":
        prompt: PromptPoll = request.app.state.prompt_poll
        prompt.kick(source_id)
    return PlainTextResponse(answer.message + "\n", answer.status, headers=answer.headers)
