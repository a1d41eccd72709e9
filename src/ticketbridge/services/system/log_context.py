"""What a log line and an audit event know about where they come from: the request (its id,
route template and caller) or the background job, and the PSA connection in use.

The web middleware opens one context per request, the worker one per job run. It is a mutable
object in a context variable, not one variable per field, because FastAPI runs dependencies
and routes in copies of the request's context: who signs in is learned in a dependency, and
only a change to a shared object reaches the route and the middleware. Work handed to another
thread carries the context along with :func:`contextvars.copy_context` (ticket actions).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

# Accepted from a caller's X-Request-ID: what proxies and tracing systems send (UUIDs, hex,
# base64url), nothing that could break a log line or a header.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


@dataclass
class LogContext:
    request_id: str = ""
    # The ASGI scope of the request: the router writes the matched route into it after this
    # context was opened, so the template is read from it when needed. A route of an included
    # router knows only its own part of the path: ``templates`` maps it (by id) to the whole.
    scope: Mapping[str, Any] | None = field(default=None, repr=False)
    templates: Mapping[int, str] = field(default_factory=dict, repr=False)
    user: str = ""
    job: str = ""
    connection: str = ""

    @property
    def route(self) -> str:
        route = self.scope.get("route") if self.scope is not None else None
        if route is None:
            return ""
        return self.templates.get(id(route)) or str(getattr(route, "path", ""))

    def fields(self) -> dict[str, str]:
        """The non-empty fields, as log lines carry them."""
        found = {
            "request_id": self.request_id,
            "route": self.route,
            "user": self.user,
            "job": self.job,
            "connection": self.connection,
        }
        return {k: v for k, v in found.items() if v}


_current: ContextVar[LogContext | None] = ContextVar("ticketbridge_log_context", default=None)


def current() -> LogContext | None:
    return _current.get()


def request_id() -> str | None:
    """The id of the request being answered, if any (kept on audit events)."""
    found = _current.get()
    return found.request_id or None if found is not None else None


def accept_request_id(offered: str | None) -> str:
    """The caller's id when it is sane (8 to 64 letters, digits and ``._:-``), else a new one."""
    if offered and _SANE_REQUEST_ID.match(offered):
        return offered
    return secrets.token_hex(16)


@contextmanager
def opened(context: LogContext) -> Iterator[LogContext]:
    """``context`` is the current one inside the block."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def set_user(name: str) -> None:
    found = _current.get()
    if found is not None:
        found.user = name


@contextmanager
def connection(name: str) -> Iterator[None]:
    """Name the PSA connection in use for the block (nested uses restore the outer one)."""
    found = _current.get()
    if found is None:
        yield
        return
    before, found.connection = found.connection, name
    try:
        yield
    finally:
        found.connection = before
