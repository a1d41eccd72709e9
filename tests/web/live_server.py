"""The app served by uvicorn on a loopback port, for tests where real HTTP matters (cookies as
a browser keeps them, Set-Cookie attributes, client addresses)."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from tests.factories import PASSWORD

STARTUP_TIMEOUT_S = 30.0


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Yield the base URL once the server answers; stop it afterwards. The socket listens before
    uvicorn starts, so the first request waits in the backlog rather than failing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        httpx.get(f"{base_url}/healthz", timeout=STARTUP_TIMEOUT_S).raise_for_status()
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)
        sock.close()


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(base_url: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """A browser-like client (its own cookie jar) signed in as ``username``."""
    client = httpx.Client(base_url=base_url, timeout=30)
    token = form_token(client.get("/login").text)
    answer = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert answer.status_code == 303, answer.text
    return client
