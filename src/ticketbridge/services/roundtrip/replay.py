"""Replay a stored hook request: handle its stored body again, as if it had just arrived.

For a request that failed (a bug since fixed, a database hiccup), that was unreadable before a
fix, or arrived before its ticket was linked. Replaying is safe: observations apply only when
newer, so a request applied before changes nothing again. A request refused for its
credentials or signature is never replayed (a replay must not get past the check it failed),
a sync's change webhook is checked again under its connection's current secret, and a
callout is read with its endpoint's current format and filter. Audited as ``roundtrip.replay``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ticketbridge.services.roundtrip import callouts, config, hook_log, webhooks
from ticketbridge.services.roundtrip.config import RoundtripInputError, RoundtripNotFound
from ticketbridge.services.roundtrip.receipt import Answer, Incoming
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.sync import hooks as sync_hooks
from ticketbridge.services.system import audit
from ticketbridge.storage.models import HookRequest, WebhookRegistration


def replay(runtime: Runtime, request_id: int, *, actor: str) -> HookRequest:
    now = runtime.clock()
    with runtime.session_factory() as session:
        row = hook_log.get(session, request_id)
        if row is None:
            raise RoundtripNotFound(f"request {request_id} does not exist")
        if row.outcome == "rejected":
            raise RoundtripInputError(
                {"request": "a request refused for its credentials or signature is not replayed"}
            )
        before = row.outcome
        incoming = Incoming.of(row.method, row.query, row.headers, row.body)
        answer = _handle(runtime, session, row, incoming, now)
        row.replays = (row.replays or 0) + 1
        row.replayed_at = now
        audit.record(
            session,
            actor=actor,
            action="roundtrip.replay",
            subject=f"hook request {row.id}",
            outcome=row.outcome,
            details={
                "request": row.id,
                "channel": row.channel,
                "endpoint": row.endpoint,
                "before": before,
                "after": row.outcome,
                "answer": answer.status,
            },
        )
        session.commit()
        return row


def _handle(
    runtime: Runtime, session: Session, row: HookRequest, incoming: Incoming, now: datetime
) -> Answer:
    if row.channel not in hook_log.CHANNELS:
        # A mail change notification (channel graph) was only a hint: the poll reads the mail.
        raise RoundtripInputError(
            {"request": "only Autotask callouts and webhooks and sync webhooks replay"}
        )
    if row.channel == hook_log.SYNC:
        return sync_hooks.replay(runtime, session, row, now)
    if row.channel == "callout":
        endpoint = config.callout_by_name(session, row.endpoint)
        if endpoint is None:
            raise RoundtripInputError({"request": f"callout {row.endpoint} is not configured"})
        return callouts.apply_request(session, row, endpoint, incoming, now)
    registration = (
        session.get(WebhookRegistration, int(row.endpoint)) if row.endpoint.isdigit() else None
    )
    if registration is None:
        raise RoundtripInputError({"request": f"webhook {row.endpoint} is not registered"})
    if row.channel == "deactivation":
        return webhooks.record_deactivation(session, row, registration, now)
    return webhooks.apply_event(session, row, incoming.body, now)
