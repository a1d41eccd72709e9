"""Ticket webhooks: register one in Autotask, follow its readiness, receive its events and its
deactivation.

**Register** (admin action): a registration row with a fresh secret key is committed first,
then Autotask is asked (no database connection held meanwhile) to create a TicketWebhook with
our webhook and deactivation URLs and the key, subscribed to ``status`` and
``lastActivityDate`` (both also sent with every event), update and delete events, and our own
API user excluded so that our writes do not echo back. The outcome (ready, not ready, or the
error) is written in a new short transaction and audited.

**Receive**: stored first; ``X-Hook-Signature`` must be the HMAC-SHA1 of the exact body under
the key (constant-time compare), else 401 and nothing applied. Update events carrying status
and last activity are applied at once like a callout; every event asks for the confirming
read, which also notices a deleted ticket (the suspected/confirmed rule). A ticket event also
asks the syncs reading the connection for an early run (services/sync/hooks.py).

**Deactivation**: Autotask turns a webhook off after repeated failed deliveries and posts a
signed notice to the deactivation URL; the registration is marked deactivated and shown. The
poll also reads each webhook's ``isActive``/``isReady``, so a missed notice is noticed too.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.connectors.errors import ConnectorError, RemoteNotFound
from ticketbridge.connectors.psa.capabilities import RemoteWebhook, RequestCount
from ticketbridge.core.callouts import CalloutUnreadable
from ticketbridge.core.psa_governor import Priority
from ticketbridge.core.ticket_links import LinkOrigin
from ticketbridge.core.ticket_observations import Observation, Source
from ticketbridge.core.ticket_webhooks import WebhookEvent, parse_event, signature_valid
from ticketbridge.services.roundtrip import apply, config, hook_log
from ticketbridge.services.roundtrip.config import RoundtripInputError, RoundtripNotFound
from ticketbridge.services.roundtrip.receipt import Answer, Incoming, handle
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.sync import hooks as sync_hooks
from ticketbridge.services.system import audit
from ticketbridge.services.tickets.psa import connect, roundtrip_connection
from ticketbridge.services.tickets.store import TicketError
from ticketbridge.storage.models import HookRequest, TicketLinkRow, WebhookRegistration
from ticketbridge.storage.secrets import SecretUnreadable

NAME = "ticketbridge round trip"
LIVE_STATES = ("registering", "ready", "not_ready", "failed", "deactivated")


@dataclass(frozen=True)
class WebhookView:
    row: WebhookRegistration
    last_received_at: datetime | None


def _secret(runtime: Runtime, row: WebhookRegistration) -> str | None:
    try:
        return runtime.secret_box.decrypt(row.secret_encrypted)
    except SecretUnreadable:
        return None


def _error(row: WebhookRegistration, message: str, now: datetime) -> None:
    row.last_error = message[:500]
    row.last_error_at = now


def register(
    runtime: Runtime, *, actor: str, excluded_resource_id: int | None = None
) -> WebhookRegistration:
    """Register a ticket webhook; the registration as it ended (``failed`` with the error)."""
    now = runtime.clock()
    key = secrets.token_urlsafe(40)[:64]
    with runtime.session_factory() as session:
        base = config.base_url(session)
        if not base:
            raise RoundtripInputError(
                {"base_url": "set the ticketbridge base URL in the Autotask settings first"}
            )
        row = WebhookRegistration(
            name=NAME,
            webhook_url="",
            deactivation_url="",
            secret_encrypted=runtime.secret_box.encrypt(key),
            state="registering",
            created_by=actor,
            created_at=now,
        )
        session.add(row)
        session.flush()
        row.webhook_url, row.deactivation_url = config.webhook_urls(base, row.id)
        created = session.scalar(
            select(TicketLinkRow.ticket_id)
            .where(
                TicketLinkRow.origin == LinkOrigin.CREATED.value,
                TicketLinkRow.ticket_id.is_not(None),
            )
            .limit(1)
        )
        registration_id = row.id
        session.commit()
        counter = RequestCount()
        try:
            with connect(
                runtime, session, roundtrip_connection(session), priority=Priority.ROUNDTRIP
            ) as autotask:
                remote = registry.roundtrip(autotask.connector.kind)
                own = excluded_resource_id or remote.find_own_resource(
                    autotask.connector, created, counter
                )
                made = remote.register_webhook(
                    autotask.connector,
                    name=f"{NAME} {registration_id}",
                    webhook_url=row.webhook_url,
                    deactivation_url=row.deactivation_url,
                    secret_key=key,
                    excluded_resource_id=own,
                )
        except (ConnectorError, TicketError) as exc:
            session.rollback()
            return _failed(runtime, registration_id, actor, exc.message)
    with runtime.session_factory() as session:
        row = _get(session, registration_id)
        row.remote_id, row.guid = made.id, made.guid
        row.state = "ready" if made.ready and made.active else "not_ready"
        row.excluded_resource_id = own
        row.registered_at = row.checked_at = runtime.clock()
        if own is not None:
            config.state(session).own_resource_id = own
        else:
            _error(row, "our API user's resource was not found: our own changes will echo", now)
        _audit(session, actor, "register", row)
        session.commit()
        return row


def _failed(
    runtime: Runtime, registration_id: int, actor: str, message: str
) -> WebhookRegistration:
    with runtime.session_factory() as session:
        row = _get(session, registration_id)
        row.state = "failed"
        _error(row, message, runtime.clock())
        _audit(session, actor, "register", row, outcome="failed")
        session.commit()
        return row


def _get(session: Session, registration_id: int) -> WebhookRegistration:
    row = session.get(WebhookRegistration, registration_id)
    if row is None:
        raise RoundtripNotFound(f"webhook registration {registration_id} does not exist")
    return row


def refresh(runtime: Runtime) -> int:
    """Read each registered webhook's state in Autotask (one request each); how many."""
    with runtime.session_factory() as session:
        rows = list(
            session.scalars(
                select(WebhookRegistration).where(
                    WebhookRegistration.remote_id.is_not(None),
                    WebhookRegistration.state.in_(("ready", "not_ready", "deactivated")),
                )
            )
        )
        if not rows:
            return 0
        seen: dict[int, RemoteWebhook | None] = {}
        errors: dict[int, str] = {}
        with connect(
            runtime, session, roundtrip_connection(session), priority=Priority.ROUNDTRIP
        ) as autotask:
            remote = registry.roundtrip(autotask.connector.kind)
            for row in rows:
                try:
                    seen[row.id] = remote.get_webhook(autotask.connector, int(row.remote_id or 0))
                except RemoteNotFound:
                    seen[row.id] = None
                except ConnectorError as exc:
                    errors[row.id] = exc.message
    now = runtime.clock()
    with runtime.session_factory() as session:
        for registration_id, found in seen.items():
            row = _get(session, registration_id)
            row.checked_at = now
            if found is None:
                row.state = "removed"
                _error(row, "the webhook no longer exists in Autotask", now)
            elif not found.active:
                if row.state != "deactivated":
                    row.deactivated_at = row.deactivated_at or now
                    _audit(session, apply.ACTOR, "deactivated", row)
                row.state = "deactivated"
            else:
                row.state = "ready" if found.ready else "not_ready"
                row.deactivated_at = None
        for registration_id, message in errors.items():
            _error(_get(session, registration_id), message, now)
        session.commit()
    return len(seen)


def remove(runtime: Runtime, registration_id: int, *, actor: str) -> WebhookRegistration:
    """Delete the webhook in Autotask and stop accepting its events."""
    with runtime.session_factory() as session:
        row = _get(session, registration_id)
        remote_id = row.remote_id
        if remote_id is not None:
            try:
                with connect(
                    runtime, session, roundtrip_connection(session), priority=Priority.OPERATOR
                ) as autotask:
                    remote = registry.roundtrip(autotask.connector.kind)
                    remote.delete_webhook(autotask.connector, int(remote_id))
            except ConnectorError as exc:
                session.rollback()
                row = _get(session, registration_id)
                _error(row, exc.message, runtime.clock())
                _audit(session, actor, "remove", row, outcome="failed")
                session.commit()
                raise
        row = _get(session, registration_id)
        row.state = "removed"
        _audit(session, actor, "remove", row)
        session.commit()
        return row


def views(session: Session) -> list[WebhookView]:
    rows = list(session.scalars(select(WebhookRegistration).order_by(WebhookRegistration.id)))
    return [
        WebhookView(
            row,
            session.scalar(
                select(func.max(HookRequest.received_at)).where(
                    HookRequest.channel == "webhook", HookRequest.endpoint == str(row.id)
                )
            ),
        )
        for row in rows
    ]


# --- receiving -----------------------------------------------------------------------------


def _find(registration_id: int) -> Callable[[Session], WebhookRegistration | None]:
    def find(session: Session) -> WebhookRegistration | None:
        row = session.get(WebhookRegistration, registration_id)
        return row if row is not None and row.state in LIVE_STATES else None

    return find


def receive(runtime: Runtime, registration_id: int, incoming: Incoming) -> Answer:
    def process(
        session: Session, row: HookRequest, registration: WebhookRegistration, now: datetime
    ) -> Answer:
        if not _signed(runtime, registration, incoming):
            hook_log.finish(row, "rejected", error="X-Hook-Signature does not match the body")
            return Answer(401, "signature mismatch", "rejected")
        return apply_event(session, row, incoming.body, now)

    return handle(
        runtime,
        channel="webhook",
        endpoint=str(registration_id),
        incoming=incoming,
        find=_find(registration_id),
        process=process,
    )


def deactivated(runtime: Runtime, registration_id: int, incoming: Incoming) -> Answer:
    def process(
        session: Session, row: HookRequest, registration: WebhookRegistration, now: datetime
    ) -> Answer:
        if not _signed(runtime, registration, incoming):
            hook_log.finish(row, "rejected", error="X-Hook-Signature does not match the body")
            return Answer(401, "signature mismatch", "rejected")
        return record_deactivation(session, row, registration, now)

    return handle(
        runtime,
        channel="deactivation",
        endpoint=str(registration_id),
        incoming=incoming,
        find=_find(registration_id),
        process=process,
    )


def _signed(runtime: Runtime, registration: WebhookRegistration, incoming: Incoming) -> bool:
    key = _secret(runtime, registration)
    return key is not None and signature_valid(
        key, incoming.body, incoming.header("x-hook-signature")
    )


def record_deactivation(
    session: Session, row: HookRequest, registration: WebhookRegistration, now: datetime
) -> Answer:
    registration.state = "deactivated"
    registration.deactivated_at = registration.deactivated_at or now
    _error(registration, "Autotask deactivated the webhook (repeated failed deliveries)", now)
    _audit(session, apply.ACTOR, "deactivated", registration)
    hook_log.finish(row, "recorded")
    return Answer(200, "recorded", "recorded")


def apply_event(session: Session, row: HookRequest, body: bytes, now: datetime) -> Answer:
    try:
        event = parse_event(body)
    except CalloutUnreadable as exc:
        hook_log.finish(row, "unreadable", error=exc.message)
        return Answer(400, exc.message, "unreadable")
    parsed = _describe(event)
    if not event.is_ticket or event.entity_id is None or event.action == "deactivated":
        hook_log.finish(row, "ignored", parsed=parsed)
        return Answer(200, "ignored", "ignored")
    # The change also brings forward the runs of the syncs reading this connection.
    sync_hooks.request_runs(session, roundtrip_connection(session), now)
    lists = apply.status_lists(session)
    observation = Observation(
        ticket_id=event.entity_id,
        source=Source.WEBHOOK,
        last_activity=event.last_activity if event.action != "delete" else None,
        status_id=event.status_id,
        status_label=lists.label_of(event.status_id),
        completed_by=f"resource {event.person_id}" if event.person_id is not None else None,
    )
    result = apply.apply(
        session,
        observation,
        now=now,
        lists=lists,
        announced=event.last_activity or event.event_time,
    )
    hook_log.finish(row, result.outcome, ticket_id=event.entity_id, parsed=parsed)
    return Answer(200, result.outcome, result.outcome)


def _describe(event: WebhookEvent) -> dict[str, object]:
    return {
        "action": event.action,
        "entity_type": event.entity_type,
        "ticket_id": event.entity_id,
        "status": event.fields.get("status"),
        "last_activity": event.last_activity.isoformat() if event.last_activity else None,
        "event_time": event.event_time.isoformat() if event.event_time else None,
        "sequence": event.sequence,
        "person_id": event.person_id,
    }


def _audit(
    session: Session, actor: str, verb: str, row: WebhookRegistration, outcome: str = "ok"
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"roundtrip.webhook.{verb}",
        subject=f"webhook {row.id}",
        outcome=outcome,
        details={
            "registration": row.id,
            "remote_id": row.remote_id,
            "state": row.state,
            "webhook_url": row.webhook_url,
            "excluded_resource_id": row.excluded_resource_id,
            "error": row.last_error,
        },
    )
