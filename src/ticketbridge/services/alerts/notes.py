"""Internal notes that tell a ticket its alert came again, rate-limited (docs/alerts.md).

Every repeat of an alert that joined or created a ticket is an occurrence that no note has
named yet. At most once per interval (core.alert_dedup.NOTE_INTERVAL), one internal note names
them all. Before it is sent the ticket is read: complete or deleted, the alert ends there and
its unnamed occurrences become a new alert, correlated afresh.
"""

from __future__ import annotations

from ticketbridge.connectors.errors import RemoteNotFound
from ticketbridge.core.alert_dedup import NOTE_INTERVAL, Occurrence, join_note, note_due
from ticketbridge.core.psa_governor import Priority
from ticketbridge.services.alerts import store
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.tickets.psa import connect, roundtrip_connection


def send_notes(runtime: Runtime, alert_id: int, *, priority: Priority = Priority.BACKGROUND) -> int:
    """One internal note on the alert's ticket naming every occurrence not named yet, when
    the rate limit allows. A ticket found complete or deleted ends the alert first; its
    pending occurrences become a new alert. Returns the notes sent (0 or 1)."""
    now = runtime.clock()
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        pending = store.unnoted(session, alert_id)
        if alert.state not in store.WITH_TICKET or not pending or alert.ticket_id is None:
            return 0
        if not note_due(alert.last_note_at, now, NOTE_INTERVAL):
            return 0
        source = store.get_source(session, alert.source_id)
        text = join_note(
            source.name,
            store.keys_of(alert).dedup,
            [Occurrence(o.seen_at, o.subject) for o in pending],
        )
        ticket_id, number, ids = alert.ticket_id, alert.ticket_number, [o.id for o in pending]
        with connect(
            runtime, session, roundtrip_connection(session), priority=priority
        ) as autotask:
            try:
                ticket = autotask.connector.get_tickets([ticket_id]).get(ticket_id)
                if ticket is None or ticket.is_completed:
                    return _end(runtime, alert_id, number, deleted=ticket is None)
                note_id = autotask.connector.add_note(ticket_id, text, internal=True)
            except RemoteNotFound:
                return _end(runtime, alert_id, number, deleted=True)
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        for occurrence in store.unnoted(session, alert_id):
            if occurrence.id in ids:
                occurrence.noted_at = now
        alert.last_note_at = now
        session.commit()
    store.audit_event(
        runtime,
        "system",
        "note",
        alert_id,
        "ok",
        ticket_id=ticket_id,
        note_id=note_id,
        occurrences=len(ids),
    )
    return 1


def _end(runtime: Runtime, alert_id: int, number: str | None, *, deleted: bool) -> int:
    what = "was deleted in Autotask" if deleted else "is complete"
    with runtime.session_factory() as session:
        alert = store.get(session, alert_id)
        successor = store.close(
            session, alert, f"Ticket {number} {what}; later repeats start a new alert.",
            now=runtime.clock(),
        )  # fmt: skip
        session.commit()
        follow = successor.id if successor is not None else None
    store.audit_event(
        runtime, "system", "close", alert_id, "deleted" if deleted else "complete", successor=follow
    )
    return 0
