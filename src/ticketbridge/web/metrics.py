"""GET /metrics in the Prometheus text format (docs/operations.md, Metrics).

Where it is served, by settings:

- ``TICKETBRIDGE_METRICS_PORT`` set: on that port of ``TICKETBRIDGE_METRICS_HOST`` only, by a
  small app of its own (:func:`metrics_app`); the UI port has no /metrics (404).
- otherwise ``TICKETBRIDGE_METRICS_TOKEN`` set: on the UI port, to a bearer of the token.
- neither: nowhere (404). Metrics name customers' queues and the PSA's load; they are not
  public.

Wherever it is served, a set token is required (401 otherwise).
"""

from __future__ import annotations

import secrets

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.applications import Starlette
from starlette.routing import Route

from ticketbridge.connectors import metrics
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.system import metrics_gauges

PATH = "/metrics"


def _allowed(runtime: Runtime, authorization: str) -> bool:
    token = runtime.settings.metrics_token
    if token is None:
        return True  # only reachable on the metrics port: see the module docstring
    scheme, _, offered = authorization.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        offered.strip().encode(), token.get_secret_value().encode()
    )


def _render(runtime: Runtime) -> bytes:
    return metrics.exposition(
        metrics_gauges.collectors(runtime),
        multiprocess_dir=runtime.settings.metrics_multiproc_dir,
    )


async def answer(runtime: Runtime, request: Request) -> Response:
    if not _allowed(runtime, request.headers.get("authorization", "")):
        return Response(
            "a valid metrics token is required (Authorization: Bearer <token>)\n",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
            media_type="text/plain",
        )
    # The queue gauges read the database: off the event loop.
    body = await anyio.to_thread.run_sync(_render, runtime)
    return Response(body, media_type=metrics.CONTENT_TYPE_LATEST)


async def _scrape_main_app(request: Request) -> Response:
    # A module function, not a closure over the runtime: see create_app on FastAPI's caches.
    return await answer(request.app.state.ctx, request)


def install(app: FastAPI, runtime: Runtime) -> None:
    """Add /metrics to the main app when the settings serve it there."""
    settings = runtime.settings
    if settings.metrics_port is not None or settings.metrics_token is None:
        return
    app.add_api_route(PATH, _scrape_main_app, methods=["GET"], include_in_schema=False)


def metrics_app(runtime: Runtime) -> Starlette:
    """The app served on TICKETBRIDGE_METRICS_PORT: /metrics and nothing else."""

    async def scrape(request: Request) -> Response:
        return await answer(runtime, request)

    return Starlette(routes=[Route(PATH, scrape, methods=["GET"])])
