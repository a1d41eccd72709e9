"""The ASGI side of the emulator: reading a request (within limits), answering it.

Kept apart from :mod:`app` so that the tenant's logic never sees ASGI messages: a request
becomes a :class:`wire.Call`, a :class:`wire.Reply` becomes the response.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.types import Receive, Scope, Send

from .errors import (
    INTERNAL_ERROR_TEXT,
    ApiError,
    DropConnection,
    EmulatedConnectionDrop,
    app_error,
)
from .urls import http_url_problem
from .wire import Call, Reply

if TYPE_CHECKING:
    from .app import Emulator

# Larger than the largest real body: a 6 MiB attachment is 8 MiB of base64 in its JSON.
MAX_BODY_BYTES = 10 * 1024 * 1024
log = logging.getLogger(__name__)


def public_base_url(value: str) -> str:
    problem = http_url_problem(value)
    parts = urlsplit(value) if problem is None else None
    if parts is None or parts.query or parts.fragment:
        raise ValueError(f"public_url must be an absolute http(s) URL, got {value!r}")
    return value.rstrip("/")


class AsgiEndpoint:
    def __init__(self, emulator: Emulator, max_body_bytes: int) -> None:
        self.emulator = emulator
        self.max_body_bytes = max_body_bytes

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The request body, or None when it is larger than allowed (read no further)."""
        for name, value in scope["headers"]:
            if name.lower() == b"content-length":
                declared = value.decode("latin-1").strip()
                if not declared.isascii() or not declared.isdigit():
                    return None
                if int(declared) > self.max_body_bytes:
                    return None
        chunks = []
        size = 0
        more = True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await self._body(scope, receive)
        call = _call(scope, body or b"", self.emulator.public_url)
        try:
            if body is None:
                raise app_error(
                    f"Request body too large: at most {self.max_body_bytes} bytes.", status=413
                )
            reply = await self.emulator.handle(call)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body, exc.headers)
        except DropConnection:
            # Start the response, then fail: a real server closes the socket mid-response;
            # in-process clients re-raise the exception below.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1024")],
                }
            )
            raise EmulatedConnectionDrop(
                "connection dropped by fault injection",
                request=httpx.Request(call.method, call.base_url + call.path),
            ) from None
        except Exception:
            # A bug, not bad input: logged, answered in the API's shape, nothing given away.
            log.exception("Autotask emulator failed on %s %s", call.method, call.path)
            reply = Reply(500, {"errors": [INTERNAL_ERROR_TEXT]})
        await _respond(send, reply)


async def _respond(send: Send, reply: Reply) -> None:
    body = reply.encode()
    headers = [
        (b"content-type", reply.content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
    if isinstance(reply.body, str) and not reply.body.startswith("{"):
        headers[0] = (b"content-type", b"text/html")
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _server_url(scope: Scope) -> str:
    """Where this server is reached, from the socket it accepted on (the ASGI ``server``)."""
    scheme = scope.get("scheme", "http")
    server = scope.get("server")
    if not server or server[1] is None:  # a Unix socket, or a server that does not say
        return f"{scheme}://localhost"
    host, port = str(server[0]), int(server[1])
    if ":" in host:
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" if port == default else f"{scheme}://{host}:{port}"


def _call(scope: Scope, body: bytes, public_url: str | None) -> Call:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    root = scope.get("root_path", "")
    path = scope["path"]
    if root and path.startswith(root):
        path = path[len(root) :]
    # Never the Host header: whoever sends one must not choose the URLs others are given.
    base = public_url or f"{_server_url(scope)}{root}".rstrip("/")
    raw_query = scope.get("query_string", b"").decode("latin-1")
    query = dict(parse_qsl(raw_query, keep_blank_values=True))
    segments = [s for s in path.split("/") if s]
    # The length limit is on the URL the client sent, so it counts the client's host.
    sent = f"{scope.get('scheme', 'http')}://{headers.get('host') or urlsplit(base).netloc}{root}"
    return Call(
        scope["method"].upper(),
        path,
        segments,
        query,
        headers,
        body,
        base,
        url_length=len(sent) + len(path) + len(raw_query) + 1,
    )
