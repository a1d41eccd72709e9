"""The ASGI application: JSON API, server-rendered pages and static files."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import anyio.to_thread
import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import Receive, Scope, Send

from ticketbridge import __version__
from ticketbridge.connectors import metrics
from ticketbridge.services.mail.prompt_poll import PromptPoll
from ticketbridge.services.roundtrip.callout_writer import CalloutWriter
from ticketbridge.services.roundtrip.prompt_fetch import PromptFetch
from ticketbridge.services.runtime import Runtime, build_runtime
from ticketbridge.services.service_desk import process as desk_process
from ticketbridge.services.tickets import ticketing
from ticketbridge.settings import Settings, get_settings
from ticketbridge.storage.models import utcnow
from ticketbridge.web import api, errors, graph_hooks, hooks, limits, sync_hooks
from ticketbridge.web import metrics as metrics_route
from ticketbridge.web.observe import Observe
from ticketbridge.web.security_headers import SecurityHeaders
from ticketbridge.web.ui import routes as ui_routes
from ticketbridge.web.ui.templating import make_templates

STATIC_DIR = Path(__file__).parent / "ui" / "static"
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"


def session_cookie_name(settings: Settings) -> str:
    """Browsers keep cookies per host, not per port: two demos on one machine, one cookie name,
    and signing in to one would sign the other out. A demo's cookie is named after its var dir
    (one demo per var dir); a real deployment keeps the plain name."""
    if not settings.demo_mode:
        return "ticketbridge_session"
    tag = hashlib.sha256(str(settings.var_dir.resolve()).encode()).hexdigest()[:12]
    return f"ticketbridge_demo_{tag}"


class TicketbridgeApp(FastAPI):
    """The app, with callouts answered ahead of everything (web/hooks.py): ahead of every
    middleware and of FastAPI's own layers (its telemetry check, error middleware and body
    limit), which a request passes through before the first middleware. Autotask sends a
    callout per ticket change and up to 10 copies; the receiver does what those layers would
    for it (a plain 500 for a bug, the security headers, the request id, the HTTP metrics)."""

    callouts: hooks.CalloutReceiver | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.callouts is not None and self.callouts.takes(scope):
            await self.callouts(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


# The app's own endpoints are module functions, not closures over the app: FastAPI keeps every
# endpoint it has classified in module-level caches (4,096 each), and a closure there would keep
# its whole app alive after the app is gone (every app a test suite builds, some 8 MB each).


async def _health() -> dict[str, str]:
    # On the event loop, not a request thread: it answers while every thread is busy.
    return {"status": "ok"}


async def _favicon() -> FileResponse:
    # Browsers ask for it on every site whatever the pages link to (and pages link the SVG).
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon")


def _api_docs(request: Request) -> HTMLResponse:
    # Served from our own files: the UI must work without reaching any CDN, and the page
    # starts Swagger UI from a script file, since the CSP allows no inline script.
    page: HTMLResponse = request.app.state.templates.TemplateResponse(request, "api_docs.html", {})
    return page


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utcnow,
    background: Callable[[Runtime], object] | None = None,
) -> FastAPI:
    """Build the application. `background`, when given, starts in-process work at start-up and
    returns an object with `stop()` (see ticketbridge.worker.runner)."""
    ctx = build_runtime(settings or get_settings(), engine=engine, clock=clock)

    actions = ticketing.ActionPool(
        ctx.settings.ticket_action_threads, ctx.settings.ticket_action_wait_seconds
    )
    prompt_fetch = PromptFetch(ctx)  # the read a hint asks for, right after it
    callouts = CalloutWriter(ctx, on_hint=prompt_fetch.kick)
    # The poll a Graph notification asks for; desk mail it stored becomes tickets right after.
    prompt_poll = PromptPoll(ctx, after=lambda runtime, _: desk_process.process_pending(runtime))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Request threads, each holding at most one database connection: the pool is sized
        # from the same setting (Settings.database_pool_size).
        anyio.to_thread.current_default_thread_limiter().total_tokens = ctx.settings.web_threads
        worker = background(ctx) if background else None
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()  # type: ignore[attr-defined]
            actions.shutdown()
            callouts.stop()
            prompt_fetch.stop()
            prompt_poll.stop()
            metrics.process_ended(ctx.settings.metrics_multiproc_dir)  # serve --workers N

    app = TicketbridgeApp(
        title="ticketbridge",
        version=__version__,
        description="Backup and monitoring signals to PSA tickets, exactly once.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.ticket_actions = actions
    app.state.prompt_fetch = prompt_fetch
    app.state.prompt_poll = prompt_poll
    app.state.templates = make_templates()
    app.add_middleware(limits.RequestLimits)  # added first: runs inside the session middleware
    app.add_middleware(
        SessionMiddleware,
        secret_key=ctx.secret_key,
        session_cookie=session_cookie_name(ctx.settings),
        max_age=ctx.settings.session_max_age_seconds,
        same_site="lax",
        https_only=ctx.settings.cookie_secure,
    )
    app.add_middleware(SecurityHeaders, https_only=ctx.settings.cookie_secure)
    app.add_middleware(Observe)  # outermost: request id, log context, HTTP metrics
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/api/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    errors.install(app)

    # Before the routers: FastAPI matches a request against the routes in order, and an
    # included router's routes one by one (some 10 us each); /healthz after the ~150 routes
    # of the API and the pages spent most of its CPU (1.7 ms a request) finding itself.
    app.add_api_route("/healthz", _health, methods=["GET"], include_in_schema=False)
    app.add_api_route("/favicon.ico", _favicon, methods=["GET"], include_in_schema=False)
    app.include_router(api.router)
    app.include_router(hooks.router)  # /hooks: callouts and webhooks, no session
    app.include_router(graph_hooks.router)  # /hooks/graph: mail change notifications
    app.include_router(sync_hooks.router)  # /hooks/<kind>/<connection>: syncs run early
    app.include_router(ui_routes.router)

    app.add_api_route("/api/docs", _api_docs, methods=["GET"], include_in_schema=False)

    metrics_route.install(app, ctx)  # /metrics, when served on this port (web/metrics.py)

    app.callouts = hooks.CalloutReceiver(writer=callouts, https_only=ctx.settings.cookie_secure)
    return app
