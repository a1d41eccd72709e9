"""The app served by uvicorn on a loopback port, for tests where the event loop and the
connection matter (an in-process TestClient reads whole bodies and hides a blocked loop)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

STARTUP_SECONDS = 20.0


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """``app`` served in a thread; its base URL. The socket listens before the server starts,
    so early requests wait in the backlog; the bounded wait for ``started`` only turns a failed
    start-up into an error instead of a hung test."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("uvicorn did not start")
        thread.join(timeout=0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


class Body:
    """A request body streamed from a generator, never held in memory: ``prefix``, ``fill``
    in 1 MiB chunks, then ``suffix``, ``size`` bytes in all, counting what the client got to
    hand to the connection before it was answered."""

    CHUNK = 1024 * 1024

    def __init__(
        self, size: int, *, prefix: bytes = b"", suffix: bytes = b"", fill: bytes = b"x"
    ) -> None:
        self.size = size
        self.prefix = prefix
        self.suffix = suffix
        self.chunk = fill * self.CHUNK
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        if self.prefix:
            self.sent += len(self.prefix)
            yield self.prefix
        end = self.size - len(self.suffix)
        while self.sent < end:
            piece = self.chunk[: min(self.CHUNK, end - self.sent)]
            self.sent += len(piece)
            yield piece
        if self.suffix:
            self.sent += len(self.suffix)
            yield self.suffix


def large_html_mail(size: int, *, message_id: str = "large-report@acme.example") -> bytes:
    """A backup report in HTML of about ``size`` bytes: a table with one row per object, as
    products that list every file or mailbox send them. Lines stay short (the intake refuses a
    line over 1 MiB), so it is stored and parsed like any mail."""
    head = (
        "From: Backup <backup@acme.example>\r\nTo: intake@msp.example\r\n"
        f"Subject: [Warning] Backup job Files\r\nMessage-ID: <{message_id}>\r\n"
        "Date: Mon, 02 Jun 2025 22:10:00 +0200\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        "<html><body><h1>Backup job Files finished with warnings</h1>\r\n<table>\r\n"
    ).encode()
    rows = []
    total = len(head)
    n = 0
    while total < size:
        row = (
            f"<tr><td>\\\\FS01\\share\\projects\\{n:08d}\\report.docx</td>"
            f'<td style="color:#b60">Warning</td><td>File was skipped: in use</td></tr>\r\n'
        ).encode()
        rows.append(row)
        total += len(row)
        n += 1
    return head + b"".join(rows) + b"</table></body></html>\r\n"
