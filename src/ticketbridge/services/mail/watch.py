"""`ticketbridge mailbox watch`: incoming mail handled in the foreground.

The same watchers as `serve` where `serve` has them (IMAP IDLE: services/mail/idle.py), and
for a Microsoft 365 source a poller that reads the delta every ``poll_interval_seconds`` (what
`serve`'s periodic poll does for it). Each finished poll wakes `Watch.handled`, which reports
the mail stored since, then makes the service desk's tickets and comments of those that are
desk mail (services/service_desk/process.py), as `serve`'s worker would. A source whose
poll fails (a refused sign-in, an unreachable server) is told once, with the sentence kept on
the source, and again when it recovers; the watcher keeps trying.

Everything a poll does goes through services/mail/polling.py, so its lease keeps a watch, a
`serve` and a `worker` from reading one mailbox at once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from ticketbridge.services.mail import idle as mail_idle
from ticketbridge.services.mail import polling as mail_polling
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.service_desk import process as desk_process
from ticketbridge.services.service_desk.intake import DESK_STATE
from ticketbridge.storage.models import (
    MailMessage,
    MailSource,
    ServiceDeskConversation,
    ServiceDeskMail,
)

log = logging.getLogger(__name__)
Wake = tuple[int, bool]  # a source polled; True: the poll failed (its error is on the source)


class GraphPoller:
    """Polls one source at its interval on its own thread until `stop()`."""

    def __init__(self, runtime: Runtime, source_id: int, interval: float, wake: queue.Queue[Wake]):
        self.runtime = runtime
        self.source_id = source_id
        self.interval = interval
        self._wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"tb-graph-poll-{source_id}", daemon=True
        )

    def start(self) -> GraphPoller:
        self._thread.start()
        return self

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self.request_stop()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            result = mail_polling.poll(self.runtime, self.source_id)
            self._wake.put((self.source_id, bool(result.error)))
            self._stop.wait(self.interval)


@dataclass(frozen=True)
class Line:
    """One handled mail, as the command prints it; with ``mail_id`` 0, the source's own state
    (``error`` with its sentence, or ``recovered``)."""

    source: str
    mail_id: int
    sender: str
    subject: str
    outcome: str  # the mail's state, or what the service desk made of it
    detail: str = ""


@dataclass(frozen=True)
class Watched:
    id: int
    name: str
    kind: str
    interval: float


def choose(runtime: Runtime, names: Sequence[str]) -> list[Watched]:
    """The named sources (default: every enabled polled one)."""
    with runtime.session_factory() as session:
        if names:
            rows = [mail_sources.find_source(session, name) for name in names]
            for row in rows:
                if row.kind not in mail_sources.POLLED:
                    raise mail_sources.SourceError(
                        "kind", f"mail source {row.name!r} is an {row.kind} source: not watched"
                    )
        else:
            rows = list(
                session.scalars(
                    select(MailSource)
                    .where(MailSource.enabled.is_(True), MailSource.kind.in_(mail_sources.POLLED))
                    .order_by(MailSource.name)
                )
            )
        return [
            Watched(
                row.id,
                row.name,
                row.kind,
                float((row.config or {}).get("poll_interval_seconds", 60)),
            )
            for row in rows
        ]


class Watch:
    def __init__(self, runtime: Runtime, sources: Sequence[Watched]) -> None:
        self.runtime = runtime
        self.sources = {s.id: s for s in sources}
        self._wake: queue.Queue[Wake] = queue.Queue()
        self._errors: dict[int, str] = {}  # the last error told per source, told once
        self._parts: list[GraphPoller | mail_idle.IdleWatcher] = []
        with runtime.session_factory() as session:
            self._seen = int(session.scalar(select(func.max(MailMessage.id))) or 0)

    def start(self) -> Watch:
        for source in self.sources.values():
            if source.kind == "imap":
                self._parts.append(
                    mail_idle.IdleWatcher(
                        self.runtime, source.id, observer=self._on_idle_event
                    ).start()
                )
            else:
                self._parts.append(
                    GraphPoller(self.runtime, source.id, source.interval, self._wake).start()
                )
        return self

    def _on_idle_event(self, source_id: int, event: str) -> None:
        if event in (mail_idle.POLLED, mail_idle.ERROR):
            self._wake.put((source_id, event == mail_idle.ERROR))

    def stop(self) -> None:
        for part in self._parts:
            part.request_stop()
        for part in self._parts:
            part.stop()

    def handled(self, timeout: float) -> list[Line]:
        """The mail handled since the last call, after waiting up to ``timeout`` for a poll;
        a source's error once when it starts (outcome ``error``) and once when it ends."""
        try:
            woken = [self._wake.get(timeout=timeout)]
        except queue.Empty:
            return []
        while not self._wake.empty():
            woken.append(self._wake.get_nowait())
        return self._errors_told(dict(woken)) + self._mail_handled()

    def _errors_told(self, woken: dict[int, bool]) -> list[Line]:
        lines = []
        for source_id, failed in woken.items():
            error = ""
            if failed:
                with self.runtime.session_factory() as session:
                    row = session.get(MailSource, source_id)
                    error = (row.last_error if row is not None else "") or "failed"
            if error != self._errors.get(source_id, ""):
                name = self.sources[source_id].name
                outcome, detail = ("error", error) if error else ("recovered", "")
                lines.append(Line(name, 0, "", "", outcome, detail))
                self._errors[source_id] = error
        return lines

    def _mail_handled(self) -> list[Line]:
        with self.runtime.session_factory() as session:
            mails = list(
                session.scalars(
                    select(MailMessage)
                    .where(MailMessage.id > self._seen, MailMessage.source_id.in_(self.sources))
                    .order_by(MailMessage.id)
                )
            )
            found = [
                (m.id, self.sources[m.source_id].name, m.sender, m.subject, m.state)
                for m in mails
                if m.source_id is not None
            ]
        if mails:
            self._seen = max(m.id for m in mails)
        desk = {mail_id for mail_id, *_, state in found if state == DESK_STATE}
        made = {h.mail_id: h for h in desk_process.process_pending(self.runtime)} if desk else {}
        # A desk mail stored after the listing above is handled by that round too, and one
        # may have been handled by another worker first: their lines say what was recorded.
        made |= self._recorded(desk - made.keys())
        lines = []
        for mail_id, name, sender, subject, state in found:
            handled = made.get(mail_id)
            if handled is None:
                lines.append(Line(name, mail_id, sender, subject, state))
            else:
                detail = " ".join(x for x in (handled.ticket_key or "", handled.detail) if x)
                lines.append(Line(name, mail_id, sender, subject, handled.outcome, detail))
        return lines

    def _recorded(self, mail_ids: set[int]) -> dict[int, desk_process.Handled]:
        if not mail_ids:
            return {}
        with self.runtime.session_factory() as session:
            rows = session.execute(
                select(
                    ServiceDeskMail.mail_id,
                    ServiceDeskMail.outcome,
                    ServiceDeskMail.detail,
                    ServiceDeskConversation.ticket_key,
                )
                .outerjoin(
                    ServiceDeskConversation,
                    ServiceDeskConversation.id == ServiceDeskMail.conversation_id,
                )
                .where(ServiceDeskMail.mail_id.in_(mail_ids))
            ).all()
        return {
            mail_id: desk_process.Handled(mail_id, outcome, detail, key)
            for mail_id, outcome, detail, key in rows
            if mail_id is not None
        }
