"""Change webhooks that start syncs early: ``POST /hooks/<kind>/<connection id or name>`` for
each kind with the ``sync_hooks`` capability (Jira). No session or token: the post proves
itself with its signature under the connection's secret (services/sync/hooks.py). The body
is read whole (the /hooks cap of web/limits.py holds it small), then stored and checked on a
worker thread; the answer is 200, 400, 401, 404 or 503 (not stored: sent again) as the
service says, plain text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse

from ticketbridge.connectors import registry
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.sync import hooks

router = APIRouter(include_in_schema=False)
ConnectionRef = Annotated[str, Path(min_length=1, max_length=100)]


def _receiver(kind: str) -> Callable[[Request, str], Awaitable[PlainTextResponse]]:
    async def receive(request: Request, connection: ConnectionRef) -> PlainTextResponse:
        body = await request.body()
        ctx: Runtime = request.app.state.ctx
        headers = dict(request.headers.items())
        answer = await anyio.to_thread.run_sync(hooks.receive, ctx, kind, connection, body, headers)
        return PlainTextResponse(answer.message + "\n", answer.status, headers=answer.headers)

    return receive


for _kind in registry.kinds_with("sync_hooks"):
    router.add_api_route(
        f"{hooks.HOOKS_PATH}/{_kind}/{{connection}}", _receiver(_kind), methods=["POST"]
    )
