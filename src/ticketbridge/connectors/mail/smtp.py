"""An SMTP receiver (aiosmtpd) for products that can send their reports straight to us.

It accepts mail for configured recipients only (550 otherwise), refuses messages above the size
limit (552, at ``MAIL FROM ... SIZE=`` when the client announces the size, else after DATA), and
hands every accepted message, byte for byte, to an injected ``on_message(raw, mail_from,
rcpt_tos)`` callback, which stores it (services/ingest). If the callback fails, the sender gets
451 and retries later: a mail is acknowledged only once it is stored.

The server runs its own event loop in a background thread, so `start` and `stop` can be called
from synchronous code (the CLI's ``serve``, tests). It does not relay, authenticate or offer
STARTTLS: bind it to loopback or an internal network, behind the MTA that faces the internet.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ticketbridge.connectors.errors import ConnectorConfigError

log = logging.getLogger(__name__)

OnMessage = Callable[[bytes, str, list[str]], None]
_START_TIMEOUT = 10.0


class SmtpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    # 0 asks the system for a free port (tests); `SmtpReceiver.port` says which one.
    port: int = Field(default=2525, ge=0, le=65535)
    max_message_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # "intake@example.com" (one address), "@example.com" (a whole domain) or "*" (anything).
    accepted_recipients: list[str] = Field(min_length=1)
    hostname: str | None = None
    timeout_seconds: float = Field(default=300.0, gt=0)

    @field_validator("accepted_recipients")
    @classmethod
    def _normalise(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip().lower() for v in values if v.strip()]
        for value in cleaned:
            if value != "*" and "@" not in value:
                raise ValueError(f"{value!r} is neither an address, an @domain nor *")
        if not cleaned:
            raise ValueError("at least one accepted recipient is needed")
        return cleaned


def recipient_accepted(address: str, accepted: list[str]) -> bool:
    """Whether `address` matches one of the (normalised) accepted patterns."""
    address = address.strip().strip("<>").lower()
    if "@" not in address:
        return False
    domain = "@" + address.rsplit("@", 1)[1]
    return any(rule in ("*", address, domain) for rule in accepted)


class _Handler:
    def __init__(self, config: SmtpConfig, on_message: OnMessage) -> None:
        self.config = config
        self.on_message = on_message

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not recipient_accepted(address, self.config.accepted_recipients):
            return "550 5.1.1 Recipient address not accepted here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content if isinstance(envelope.content, bytes) else b""
        mail_from = envelope.mail_from or ""
        rcpt_tos = list(envelope.rcpt_tos)
        loop = asyncio.get_running_loop()
        try:
            # Storing touches the database: keep it off the event loop.
            await loop.run_in_executor(None, self.on_message, bytes(raw), mail_from, rcpt_tos)
        except Exception:
            log.exception("storing a mail received over SMTP failed; the sender will retry")
            return "451 4.3.0 Could not store the message; try again later"
        return "250 2.0.0 Message accepted"


class SmtpReceiver:
    """Start with `start()`, stop with `stop()`; also a context manager."""

    Config = SmtpConfig

    def __init__(self, config: SmtpConfig, on_message: OnMessage) -> None:
        self.config = config
        self._handler = _Handler(config, on_message)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the SMTP receiver is not running")
        return self._port

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        ready = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._serve, args=(ready, failure), name="smtp-receiver", daemon=True
        )
        thread.start()
        if not ready.wait(_START_TIMEOUT):
            raise ConnectorConfigError("The SMTP receiver did not start in time.")
        if failure:
            thread.join()
            where = f"{self.config.host}:{self.config.port}"
            raise ConnectorConfigError(
                f"The SMTP receiver cannot listen on {where} ({failure[0]})."
            ) from failure[0]
        self._thread = thread

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_START_TIMEOUT)
        self._thread = None
        self._port = None

    def __enter__(self) -> SmtpReceiver:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        cfg = self.config

        def protocol() -> SMTP:
            return SMTP(
                self._handler,
                data_size_limit=cfg.max_message_bytes,
                enable_SMTPUTF8=True,
                hostname=cfg.hostname,
                ident="ticketbridge ESMTP",
                timeout=cfg.timeout_seconds,
                loop=loop,
            )

        try:
            server = loop.run_until_complete(loop.create_server(protocol, cfg.host, cfg.port))
        except OSError as exc:
            failure.append(exc)
            loop.close()
            ready.set()
            return
        self._port = int(server.sockets[0].getsockname()[1])
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            _cancel_pending(loop)
            loop.run_until_complete(server.wait_closed())
            loop.close()


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    # Open client sessions are tasks of this loop; end them instead of leaking them.
    pending: set[asyncio.Task[Any]] = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
