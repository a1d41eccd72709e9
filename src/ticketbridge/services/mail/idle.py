"""IMAP IDLE inside `ticketbridge serve`: mail announced by the server is polled at once instead
of at the source's next periodic poll.

One watcher thread per enabled imap source, started with `serve` (sources are read at start-up,
like the SMTP receivers). A watcher loops:

1. re-read the source (a disabled or deleted source ends the watcher) and its watermark;
2. ask the server for IDLE; a server without it leaves the source to the periodic poll and the
   watcher ends;
3. IDLE for at most `cycle_seconds` (the connection is renewed each cycle, within RFC 2177's
   29 minutes, and config changes are picked up);
4. when mail was announced, run services.mail_polling.poll, which takes the source's lease: a
   watcher and the periodic poll never read a source at once. If another poller holds the lease,
   the watcher waits `busy_retry_seconds` and looks again, as that poller may have started before
   the new mail arrived.

An error (connection refused, password refused, a failed poll) is written to the source's
`last_error`; the watcher then backs off (doubling up to `backoff_max_seconds`) and retries,
it never dies of one. The periodic poll keeps running for these sources, so a lost IDLE notice
costs at most one poll interval. `stop()` sets an event the IDLE looks at twice a second; a poll
already running finishes its batch first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from ticketbridge.connectors.errors import ConnectorError
from ticketbridge.services.mail import polling as mail_polling
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import MailSource
from ticketbridge.storage.secrets import SecretUnreadable

log = logging.getLogger(__name__)

# What a watcher reports to its observer (tests wait on these instead of sleeping).
IDLING = "idling"  # the server is idling: mail delivered from now on will be announced
POLLED = "polled"  # a poll ran after an announcement
BUSY = "busy"  # another poller held the source's lease
ERROR = "error"  # an error was recorded on the source; backing off
NO_IDLE = "no_idle"  # the server has no IDLE; the watcher ends
GONE = "gone"  # the source was disabled or deleted; the watcher ends
STOPPED = "stopped"  # the thread is ending

Observer = Callable[[int, str], None]
ConnectorFactory = Callable[[MailSource], Any]


@dataclass(frozen=True)
class IdlePolicy:
    cycle_seconds: float = 600.0
    busy_retry_seconds: float = 5.0
    backoff_first_seconds: float = 5.0
    backoff_max_seconds: float = 300.0
    join_seconds: float = 10.0

    def backoff(self, failures: int) -> float:
        return min(self.backoff_first_seconds * 2 ** max(failures - 1, 0), self.backoff_max_seconds)


class IdleWatcher:
    """Watches one imap source with IDLE on its own thread; `stop()` ends it."""

    def __init__(
        self,
        runtime: Runtime,
        source_id: int,
        *,
        policy: IdlePolicy | None = None,
        connector_factory: ConnectorFactory | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.runtime = runtime
        self.source_id = source_id
        self.policy = policy or IdlePolicy()
        self._factory = connector_factory
        self._observer = observer
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"tb-imap-idle-{source_id}", daemon=True
        )

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> IdleWatcher:
        self._thread.start()
        return self

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self.request_stop()
        if self._thread.ident is not None:
            self._thread.join(self.policy.join_seconds)
            if self._thread.is_alive():
                log.warning("IMAP IDLE watcher of source %s is still busy", self.source_id)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                outcome, error = self._cycle()
                if outcome in (NO_IDLE, GONE):
                    self._emit(outcome)
                    return
                if error:
                    failures += 1
                    self._emit(ERROR)
                    self._stop.wait(self.policy.backoff(failures))
                    continue
                failures = 0
                if outcome == BUSY:
                    self._emit(BUSY)
                    self._stop.wait(self.policy.busy_retry_seconds)
        finally:
            self._emit(STOPPED)

    def _cycle(self) -> tuple[str, str]:
        """One IDLE and, when mail was announced, one poll: (outcome, error recorded or "")."""
        try:
            return self._wait_then_poll()
        except (ConnectorError, SecretUnreadable, mail_sources.SourceError) as exc:
            return ERROR, self._record(str(exc))
        except Exception as exc:  # a bug or a database failure: shown on the source, not lost
            log.exception("IMAP IDLE watcher of source %s failed", self.source_id)
            return ERROR, self._record(
                f"internal error while waiting for mail: {type(exc).__name__}"
            )

    def _wait_then_poll(self) -> tuple[str, str]:
        with self.runtime.session_factory() as session:
            source = session.get(MailSource, self.source_id)
            if source is None or not source.enabled:
                return GONE, ""
            watermark = dict(source.watermark) if source.watermark else None
            connector = self._connector(source)
        try:
            if not connector.supports_idle():
                log.info("mail source %s: no IMAP IDLE, polling only", self.source_id)
                return NO_IDLE, ""
            announced = connector.wait_for_mail(
                watermark,
                self.policy.cycle_seconds,
                on_idle=lambda: self._emit(IDLING),
                cancel=self._stop,
            )
        finally:
            connector.close()
        if not announced or self._stop.is_set():
            return IDLING, ""
        result = mail_polling.poll(self.runtime, self.source_id, connector_factory=self._factory)
        if not result.polled:
            return BUSY, ""
        self._emit(POLLED)
        return POLLED, result.error  # the poll recorded its own error on the source

    def _connector(self, source: MailSource) -> Any:
        if self._factory is not None:
            return self._factory(source)
        return mail_sources.connector_for(
            source, self.runtime.secret_box, factory=self.runtime.session_factory
        )

    def _record(self, message: str) -> str:
        if self._stop.is_set():
            return ""  # shutting down: a connection closed under us is no error of the source
        message = (message or "IMAP IDLE failed")[:2000]
        log.warning("IMAP IDLE on mail source %s failed: %s", self.source_id, message)
        with session_scope(self.runtime.session_factory) as session:
            session.execute(
                update(MailSource)
                .where(MailSource.id == self.source_id)
                .values(last_error=message)
                .execution_options(synchronize_session=False)
            )
        return message

    def _emit(self, event: str) -> None:
        if self._observer is not None:
            self._observer(self.source_id, event)


class IdleWatchers:
    """The watchers of one `serve` process."""

    def __init__(self, watchers: list[IdleWatcher]) -> None:
        self.watchers = watchers

    def stop(self) -> None:
        for watcher in self.watchers:  # all at once, then wait for each
            watcher.request_stop()
        for watcher in self.watchers:
            watcher.stop()


def start_watchers(runtime: Runtime, **options: Any) -> IdleWatchers:
    """A started watcher for every enabled imap source; `options` go to each IdleWatcher."""
    with runtime.session_factory() as session:
        ids = list(
            session.scalars(
                select(MailSource.id)
                .where(MailSource.kind == "imap", MailSource.enabled.is_(True))
                .order_by(MailSource.id)
            )
        )
    return IdleWatchers([IdleWatcher(runtime, i, **options).start() for i in ids])


class _Stack:
    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts

    def stop(self) -> None:
        for part in reversed(self.parts):
            part.stop()


def with_watchers(
    inner: Callable[[Runtime], object] | None, **options: Any
) -> Callable[[Runtime], object]:
    """Wrap `serve`'s background start-up so the IDLE watchers start and stop with it."""

    def start(runtime: Runtime) -> object:
        parts: list[Any] = [inner(runtime)] if inner is not None else []
        parts.append(start_watchers(runtime, **options))
        return _Stack(parts)

    return start
