"""The SMTP receiver inside `ticketbridge serve`: one listener per enabled smtp source.

Each accepted message is stored through services.mail_intake before the sender gets 250; if
storing fails the callback raises and the sender is told 451 to retry. Sources are read at
start-up: enabling, disabling or changing an smtp source takes effect at the next start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from ticketbridge.connectors.mail.smtp import SmtpConfig, SmtpReceiver
from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import MailSource

log = logging.getLogger(__name__)


def store_callback(runtime: Runtime, source_id: int) -> Callable[[bytes, str, list[str]], None]:
    def on_message(raw: bytes, _mail_from: str, _rcpt_tos: list[str]) -> None:
        with session_scope(runtime.session_factory) as session:
            accepted = mail_intake.accept(
                session,
                raw,
                now=runtime.clock(),
                max_bytes=runtime.settings.mail_max_bytes,
                source_id=source_id,
            )
            source = session.get(MailSource, source_id)
            if source is not None:
                source.fetched_count += 1
                source.stored_count += int(accepted.created)
                source.duplicate_count += int(not accepted.created)
                source.last_success_at = runtime.clock()

    return on_message


def start_receivers(runtime: Runtime) -> list[SmtpReceiver]:
    """Start a receiver for every enabled smtp source; a source that cannot listen is recorded."""
    with runtime.session_factory() as session:
        sources = list(
            session.scalars(
                select(MailSource).where(MailSource.kind == "smtp", MailSource.enabled.is_(True))
            )
        )
    started = []
    for source in sources:
        try:
            receiver = SmtpReceiver(
                SmtpConfig.model_validate(source.config or {}),
                store_callback(runtime, source.id),
            )
            receiver.start()
        except Exception as exc:  # a bad port or config must not stop the web UI
            log.error("SMTP source %s not started: %s", source.name, exc)
            with session_scope(runtime.session_factory) as session:
                row = session.get(MailSource, source.id)
                if row is not None:
                    row.last_error = f"not started: {exc}"[:2000]
            continue
        log.info("SMTP source %s listening on port %s", source.name, receiver.port)
        started.append(receiver)
    return started


class _Together:
    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts

    def stop(self) -> None:
        for part in reversed(self.parts):
            part.stop()


def with_receivers(
    inner: Callable[[Runtime], object] | None,
) -> Callable[[Runtime], object]:
    """Wrap `serve`'s background start-up so the SMTP receivers start and stop with it."""

    def start(runtime: Runtime) -> object:
        parts: list[Any] = [inner(runtime)] if inner is not None else []
        parts.extend(start_receivers(runtime))
        return _Together(parts)

    return start
