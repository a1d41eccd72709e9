"""msal's HTTP client (graph_tokens.token_session) against a server that ends a kept-alive
connection just as the next request goes out on it, as a server whose keep-alive equals the
device code poll interval does: the request is sent again on a fresh connection, once."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from ticketbridge.connectors.mail.graph_tokens import token_session

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class DroppingServer:
    """Answers the first request on each connection, then reads the next one on it and
    closes the connection without an answer. Counts the requests it read."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/token"
        self.requests_read = 0
        self._lock = threading.Lock()

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            threading.Thread(target=self._converse, args=(connection,), daemon=True).start()

    def _converse(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as reader:
            for turn in range(2):
                if not self._read_request(reader):
                    return
                if turn == 0:
                    connection.sendall(ANSWER)

    def _read_request(self, reader: io.BufferedReader) -> bool:
        length = 0
        while True:
            line = reader.readline()
            if not line:
                return False
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        reader.read(length)
        with self._lock:
            self.requests_read += 1
        return True


@pytest.fixture
def server() -> Iterator[DroppingServer]:
    found = DroppingServer()
    thread = threading.Thread(target=found.serve, daemon=True)
    thread.start()
    yield found
    found.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (closing alone does not)
    found.listener.close()
    thread.join(timeout=5)


def test_a_poll_on_a_dropped_kept_alive_connection_goes_again_on_a_fresh_one(
    server: DroppingServer,
) -> None:
    session = token_session()
    first = session.post(server.url, data={"grant_type": "device_code"}, timeout=5)
    second = session.post(server.url, data={"grant_type": "device_code"}, timeout=5)

    assert first.status_code == second.status_code == 200
    assert server.requests_read == 3  # the second poll read twice: dropped, then answered


def test_a_session_without_the_retry_loses_that_poll(server: DroppingServer) -> None:
    session = requests.Session()
    session.post(server.url, data={"grant_type": "device_code"}, timeout=5)

    with pytest.raises(requests.ConnectionError):
        session.post(server.url, data={"grant_type": "device_code"}, timeout=5)
