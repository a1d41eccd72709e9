"""A fast synchronous in-process transport for sync httpx clients.

Starlette's ``TestClient`` runs the app in a portal thread and hops threads several times per
request, which caps it at a few hundred requests per second on small machines. This transport
runs the ASGI app on a private event loop in the caller's thread instead, so the emulator is
never the bottleneck of a benchmark. It does not run the lifespan (nothing in the emulator needs
it unless ``auto_deliver`` is on) and cannot be used from inside a running event loop: async code
uses ``httpx.AsyncClient(transport=httpx.ASGITransport(app))``.

    client = httpx.Client(transport=InProcessTransport(app), base_url="http://emulator")

App exceptions (for instance :class:`EmulatedConnectionDrop`) propagate to the caller, as they
do with ``TestClient`` and ``httpx.ASGITransport``.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
from starlette.types import ASGIApp, Message


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, app: ASGIApp, *, root_path: str = "") -> None:
        self.app = app
        self.root_path = root_path
        self._loop = asyncio.new_event_loop()
        # One private loop serves every caller; threads (concurrency tests) take turns on it.
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        url = request.url
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": self.root_path,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": ("127.0.0.1", 50000),
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
        }
        sent = False
        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        with self._lock:
            self._loop.run_until_complete(self.app(scope, receive, send))
        return httpx.Response(status, headers=headers, content=b"".join(chunks), request=request)

    def close(self) -> None:
        with self._lock:
            if not self._loop.is_closed():
                self._loop.close()
