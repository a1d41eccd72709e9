"""Every HTTP request gets an id, a log context and a line in the metrics.

The id is the caller's ``X-Request-ID`` when it is sane (services/log_context.py), else a new
one; the answer carries it back in ``X-Request-ID``, log lines in ``request_id`` and audit
events in their ``request_id`` column. The metrics count requests by route template, never by
raw path (``/jobs/{job_id}``, not ``/jobs/7``), so that ids do not multiply the series; a path
no route matches counts as ``unmatched``.

Pure ASGI middleware, outermost: it times the whole answer, streamed bodies included, and
counts it as its last body chunk is handed on.
Callouts are answered before it, by web/hooks.py's receiver, which gives them the same header
and the same metrics (:func:`counted`) under their template ``/hooks/autotask/callouts/{name}``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticketbridge.connectors import metrics
from ticketbridge.services.system import log_context
from ticketbridge.services.system.log_context import LogContext

# Anything else a client sends as a method is one label value, not one each.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HEADER = "X-Request-ID"
_RAW_HEADER = HEADER.lower().encode("latin-1")  # as ASGI gives and takes header names


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: Mapping[int, str] | None = None

    def templates(self, scope: Scope) -> Mapping[int, str]:
        """Each route's whole path template, prefixes of included routers and mounts in it;
        made at the first request, when every route is in place."""
        if self._templates is None:
            self._templates = {
                id(found.original_route): found.path_format
                for found in iter_route_contexts(scope["app"].routes)
                if found.path_format
            }
        return self._templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next((v for k, v in scope["headers"] if k == _RAW_HEADER), None)
        request_id = log_context.accept_request_id(offered.decode("latin-1") if offered else None)
        context = LogContext(request_id=request_id, scope=scope, templates=self.templates(scope))
        status = 500  # what the client gets when the app fails before answering
        done = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, done
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [p for p in message.get("headers", ()) if p[0].lower() != _RAW_HEADER]
                headers.append((_RAW_HEADER, request_id.encode("latin-1")))
                message["headers"] = headers
            elif not message.get("more_body", False) and not done:
                # Counted before the last of the body goes out: a client holding a whole
                # answer finds it in the next scrape, whichever process answers that.
                done = True
                counted(scope["method"], context.route or "unmatched", status, started)
            await send(message)

        started = time.perf_counter()
        try:
            with log_context.opened(context):
                await self.app(scope, receive, send_with_id)
        finally:
            if not done:  # no answer, or its body never ended
                counted(scope["method"], context.route or "unmatched", status, started)


# Each (method, route, status) series of the HTTP metrics, looked up once: ``labels()`` checks
# and joins its arguments on every call. Bounded: methods are folded (_METHODS), routes are
# templates, statuses three digits.
_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def counted(method: str, route: str, status: int, started: float) -> None:
    """One answered request in the HTTP metrics; ``started`` is its ``time.perf_counter()``."""
    method = method if method in _METHODS else "other"
    series = _series.get((method, route, status))
    if series is None:
        series = _series[(method, route, status)] = (
            metrics.HTTP_REQUESTS.labels(method, route, str(status)),
            metrics.HTTP_DURATION.labels(method, route),
        )
    requests, duration = series
    requests.inc()
    duration.observe(time.perf_counter() - started)
