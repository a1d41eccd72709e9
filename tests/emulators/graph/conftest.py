"""Fixtures for the Graph emulator suite: the sandbox served over TLS on a loopback port with a
CA the tests make and trust, and plain loopback servers for notification receivers."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from ticketbridge.emulators.graph import DEMO_TENANT_ID, GraphState, create_app
from ticketbridge.emulators.graph.tls import TlsFiles, self_signed

STARTUP_SECONDS = 20.0


class _Server(uvicorn.Server):
    """uvicorn that says when it listens, so a test waits on an event, not a clock."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()


@contextmanager
def serve_on_loopback(app: Any, tls: TlsFiles | None = None) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    options: dict[str, Any] = {}
    if tls is not None:
        options = {"ssl_certfile": str(tls.cert), "ssl_keyfile": str(tls.key)}
    server = _Server(uvicorn.Config(app, log_level="warning", lifespan="off", **options))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        if not server.ready.wait(STARTUP_SECONDS):
            raise RuntimeError("uvicorn did not start")
        scheme = "https" if tls is not None else "http"
        yield f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        # Forced: a client that keeps its TLS connection open (msal's requests session) would
        # hold a graceful shutdown for asyncio's 30-second TLS close timeout.
        server.should_exit = server.force_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    files, _ = self_signed(Path(tmp_path_factory.mktemp("graph-tls")))
    return files


@dataclass
class Sandbox:
    url: str
    ca: str
    state: GraphState
    admin: httpx.Client

    @property
    def authority(self) -> str:
        return f"{self.url}/{DEMO_TENANT_ID}"


@pytest.fixture
def sandbox(tls_files: TlsFiles) -> Iterator[Sandbox]:
    """What `ticketbridge emulate graph --self-signed` serves: issued tokens only."""
    app = create_app(tokens=(), seed="empty")
    with serve_on_loopback(app, tls_files) as url:
        trusted = ssl.create_default_context(cafile=str(tls_files.ca))
        with httpx.Client(base_url=url, verify=trusted) as admin:
            yield Sandbox(url, str(tls_files.ca), app.state.graph, admin)
