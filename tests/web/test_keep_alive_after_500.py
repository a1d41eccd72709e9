"""A bug answers 500 and the keep-alive connection carries on (web/errors.py: CatchBugs).

Served by uvicorn on a loopback port: the dropped connection was the server's doing, after
Starlette re-raised the exception it had already answered. The failing route is added here,
for this test only.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.testclient import TestClient

STARTUP_TIMEOUT_S = 30.0


class Boom(RuntimeError):
    pass


@contextmanager
def _served(app: FastAPI) -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="critical", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=STARTUP_TIMEOUT_S).raise_for_status()
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)
        sock.close()


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    def boom() -> None:
        raise Boom("a bug, for this test only")

    app.add_api_route("/api/v1/test-only/boom", boom, methods=["GET"])
    app.add_api_route("/test-only/boom", boom, methods=["GET"])
    return app


@pytest.mark.parametrize("path", ["/api/v1/test-only/boom", "/test-only/boom"])
def test_a_500_keeps_the_keep_alive_connection_open_for_the_next_request(
    failing_app: FastAPI, path: str
) -> None:
    with _served(failing_app) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", path)
            failed = connection.getresponse()
            body = failed.read()
            assert failed.status == 500
            assert b"internal error" in body and b"a bug, for this test only" not in body
            assert (failed.getheader("connection") or "").lower() != "close"
            used = connection.sock
            assert used is not None

            connection.request("GET", "/healthz")
            after = connection.getresponse()
            assert (after.status, after.read()) == (200, b'{"status":"ok"}')
            assert connection.sock is used  # the same connection, not a new one
        finally:
            connection.close()


def test_a_500_is_logged_with_its_traceback(
    failing_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(failing_app) as client:  # raises nothing: the error stops at CatchBugs
        response = client.get("/api/v1/test-only/boom")
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "internal error; it has been logged"
    [record] = [r for r in caplog.records if "unhandled error" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is Boom
