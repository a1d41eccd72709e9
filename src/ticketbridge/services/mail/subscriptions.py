"""Change notifications of mail sources (Microsoft Graph): mail arriving is polled at once, not
at the source's next poll interval. The delta poll stays the truth; a notification is a hint.

With a public URL set (``TICKETBRIDGE_PUBLIC_URL``), every enabled source of a kind that offers
subscriptions (`SUBSCRIPTION_CLASSES`) gets one, pointed at
``{public_url}/hooks/graph/notifications/{source_id}``:

- `maintain` (the worker's ``mail.subscriptions``, every five minutes) creates what is missing,
  renews a subscription with less than `RENEW_BEFORE` left (a renewal the server no longer
  knows is created again), and ends the subscriptions of disabled sources, of a changed public
  URL, or of all sources once the URL is unset. A failed creation is tried again after
  `RETRY_AFTER`, its reason kept on the row.
- `end` ends a source's subscription at the server; the web layer calls it before a source is
  deleted, while its credentials still exist.
- `receive` takes a notification: the stored ``clientState`` is a random secret made for each
  subscription, encrypted at rest and compared in constant time; a mismatch is refused (401)
  and nothing is polled. The request is stored first (hook_requests, channel ``graph``) with the
  secret cut out of its body. Lifecycle events (``subscriptionRemoved``,
  ``reauthorizationRequired``, ``missed``) have the next `maintain` create or renew, and
  poll now as well, since mail may have been missed.

No database connection is held while the server answers.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ticketbridge.connectors.errors import ConnectorError, RemoteNotFound
from ticketbridge.services.mail import sources as mail_sources
from ticketbridge.services.roundtrip import hook_log, receipt
from ticketbridge.services.roundtrip.receipt import Answer, Incoming
from ticketbridge.services.runtime import Runtime
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import MailSource, MailSubscription
from ticketbridge.storage.secrets import SecretUnreadable

log = logging.getLogger(__name__)

# kind -> "module:Class" with subscribe(url, client_state, expires_at), renew, unsubscribe.
SUBSCRIPTION_CLASSES: dict[str, str] = {
    "graph": "ticketbridge.connectors.mail.graph_subscribe:GraphSubscriptions",
}
HOOK_PATH = "/hooks/graph/notifications"
CHANNEL = "graph"
# Under the 10,080 minutes Graph allows a mail subscription, and under the 4,230 it once did;
# renewed a day ahead, so a worker down for hours never lets one lapse.
LIFETIME = timedelta(minutes=4200)
RENEW_BEFORE = timedelta(hours=24)
RETRY_AFTER = timedelta(minutes=15)
POLL_EVENTS = frozenset({"subscriptionRemoved", "reauthorizationRequired", "missed"})
_HIDDEN = b"[client state]"


@dataclass(frozen=True)
class Maintained:
    source_id: int
    action: str  # created | renewed | ended | failed
    error: str = ""


@dataclass(frozen=True)
class SubscriptionView:
    """What the mail sources page says of a source's change notifications."""

    expires_at: datetime | None  # None: not subscribed (yet)
    last_error: str
    last_notified_at: datetime | None


def views(session: Session) -> dict[int, SubscriptionView]:
    return {
        row.source_id: SubscriptionView(
            row.expires_at if row.remote_id else None, row.last_error, row.last_notified_at
        )
        for row in session.scalars(select(MailSubscription))
    }


def notification_url(public_url: str, source_id: int) -> str:
    return f"{public_url.rstrip('/')}{HOOK_PATH}/{source_id}"


def maintain(runtime: Runtime, **options: Any) -> list[Maintained]:
    """Create, renew and end subscriptions as the sources and the public URL now ask."""
    public = runtime.settings.public_url.strip()
    now = runtime.clock()
    with runtime.session_factory() as session:
        rows = {row.source_id: row for row in session.scalars(select(MailSubscription))}
        wanted = (
            list(
                session.scalars(
                    select(MailSource.id).where(
                        MailSource.enabled.is_(True),
                        MailSource.kind.in_(list(SUBSCRIPTION_CLASSES)),
                    )
                )
            )
            if public
            else []
        )
        session.expunge_all()
    done: list[Maintained] = []
    for source_id, held in rows.items():
        if source_id not in wanted or held.notification_url != notification_url(public, source_id):
            end(runtime, source_id, **options)
            done.append(Maintained(source_id, "ended"))
    for source_id in wanted:
        url = notification_url(public, source_id)
        row = rows.get(source_id)
        if row is not None and row.notification_url != url:
            row = None  # ended above
        if row is None or row.remote_id is None:
            if row is not None and row.last_error and _recent(row.last_attempt_at, now):
                continue  # a failed creation is not tried every five minutes
            done.append(_create(runtime, source_id, url, options))
        elif row.expires_at is None or row.expires_at - now <= RENEW_BEFORE:
            done.append(_renew(runtime, row, options))
    return done


def _recent(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment + RETRY_AFTER > now


def _connector(runtime: Runtime, source_id: int, options: dict[str, Any]) -> Any:
    with runtime.session_factory() as session:
        source = mail_sources.get_source(session, source_id)
        return mail_sources.connector_for(
            source,
            runtime.secret_box,
            factory=runtime.session_factory,
            classes=SUBSCRIPTION_CLASSES,
            **options,
        )


def _create(runtime: Runtime, source_id: int, url: str, options: dict[str, Any]) -> Maintained:
    client_state = secrets.token_urlsafe(32)  # Graph allows 128 characters
    now = runtime.clock()
    # Written first, so a notification arriving before Graph's answer finds its secret.
    with session_scope(runtime.session_factory) as session:
        row = _row(session, source_id)
        if row is None:
            row = MailSubscription(source_id=source_id, last_error="", created_at=now)
            session.add(row)
        row.client_state = runtime.secret_box.encrypt(client_state)
        row.notification_url, row.remote_id, row.expires_at = url, None, None
        row.last_attempt_at, row.created_at = now, now
    try:
        connector = _connector(runtime, source_id, options)
        try:
            made = connector.subscribe(url, client_state, now + LIFETIME)
        finally:
            connector.close()
    except (ConnectorError, SecretUnreadable, mail_sources.SourceError) as exc:
        return _failed(runtime, source_id, str(exc))
    with session_scope(runtime.session_factory) as session:
        row = _row(session, source_id)
        if row is not None:
            row.remote_id, row.expires_at, row.last_error = made.remote_id, made.expires_at, ""
    log.info("mail source %s: subscribed until %s", source_id, made.expires_at)
    return Maintained(source_id, "created")


def _renew(runtime: Runtime, row: MailSubscription, options: dict[str, Any]) -> Maintained:
    now = runtime.clock()
    assert row.remote_id is not None
    try:
        connector = _connector(runtime, row.source_id, options)
        try:
            expires = connector.renew(row.remote_id, now + LIFETIME)
        finally:
            connector.close()
    except RemoteNotFound:
        # Graph dropped it (expired, or removed): a new one, with a new secret.
        return _create(runtime, row.source_id, row.notification_url, options)
    except (ConnectorError, SecretUnreadable, mail_sources.SourceError) as exc:
        return _failed(runtime, row.source_id, str(exc))
    with session_scope(runtime.session_factory) as session:
        fresh = _row(session, row.source_id)
        if fresh is not None:
            fresh.expires_at, fresh.renewed_at, fresh.last_error = expires, now, ""
            fresh.last_attempt_at = now
    return Maintained(row.source_id, "renewed")


def _failed(runtime: Runtime, source_id: int, message: str) -> Maintained:
    message = message[:2000] or "the subscription failed"
    log.warning("mail source %s: change notifications: %s", source_id, message)
    with session_scope(runtime.session_factory) as session:
        row = _row(session, source_id)
        if row is not None:
            row.last_error, row.last_attempt_at = message, runtime.clock()
    return Maintained(source_id, "failed", message)


def end(runtime: Runtime, source_id: int, **options: Any) -> None:
    """End the source's subscription at the server, then forget it."""
    with runtime.session_factory() as session:
        unsubscribe = ending(runtime, session, source_id, **options)
    unsubscribe()
    with session_scope(runtime.session_factory) as session:
        row = _row(session, source_id)
        if row is not None:
            session.delete(row)


def ending(
    runtime: Runtime, session: Session, source_id: int, **options: Any
) -> Callable[[], None]:
    """What ends the source's subscription at the server: built now, while the source and its
    credentials exist (the web layer deletes the source next), and called once the caller
    committed, with no database connection held. A server that cannot be reached leaves the
    subscription to expire on its own (within `LIFETIME`); its notifications then find no
    subscription here and are answered 404."""
    row = _row(session, source_id)
    source = session.get(MailSource, source_id)
    if row is None or not row.remote_id or source is None:
        return lambda: None
    remote_id = row.remote_id
    try:
        connector = mail_sources.connector_for(
            source,
            runtime.secret_box,
            factory=runtime.session_factory,
            classes=SUBSCRIPTION_CLASSES,
            **options,
        )
    except (SecretUnreadable, mail_sources.SourceError) as exc:
        log.warning("mail source %s: subscription left to expire: %s", source_id, exc)
        return lambda: None

    def unsubscribe() -> None:
        try:
            connector.unsubscribe(remote_id)
        except ConnectorError as exc:
            log.warning("mail source %s: subscription left to expire: %s", source_id, exc)
        finally:
            connector.close()

    return unsubscribe


def expects_validation(runtime: Runtime, source_id: int) -> bool:
    """Whether a validation request for this source may be answered: one is being set up."""
    with runtime.session_factory() as session:
        return _row(session, source_id) is not None


def receive(runtime: Runtime, source_id: int, incoming: Incoming) -> Answer:
    """A notification post, stored then checked; outcome ``applied`` asks for a poll now."""
    with runtime.session_factory() as session:
        row = _row(session, source_id)
        encrypted = row.client_state if row is not None else None
    if encrypted is None:
        return receipt.NOT_FOUND
    try:
        secret = runtime.secret_box.decrypt(encrypted)
    except SecretUnreadable:
        return Answer(503, "the subscription's secret cannot be read", "failed")
    kept = Incoming(
        incoming.method,
        incoming.query,
        incoming.headers,
        incoming.body.replace(secret.encode(), _HIDDEN),
    )

    def find(session: Session) -> MailSubscription | None:
        return _row(session, source_id)

    def process(
        session: Session, request: Any, subscription: MailSubscription, now: datetime
    ) -> Answer:
        return _check(request, subscription, incoming.body, secret, now)

    return receipt.handle(
        runtime,
        channel=CHANNEL,
        endpoint=str(source_id),
        incoming=kept,
        find=find,
        process=process,
    )


def _check(
    request: Any, subscription: MailSubscription, body: bytes, secret: str, now: datetime
) -> Answer:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    items = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        hook_log.finish(request, "unreadable", error="not a Graph notification collection")
        return Answer(400, "not a change notification collection", "unreadable")
    expected = secret.encode()
    for item in items:
        given = str(item.get("clientState") or "").encode()
        if not hmac.compare_digest(given, expected):
            hook_log.finish(request, "rejected", error="clientState does not match")
            return Answer(401, "clientState does not match", "rejected")
    events = sorted({str(i["lifecycleEvent"]) for i in items if i.get("lifecycleEvent")})
    if "subscriptionRemoved" in events:
        subscription.remote_id = None  # the next maintain creates a new one
        subscription.last_attempt_at = None
    elif "reauthorizationRequired" in events:
        subscription.expires_at = now  # the next maintain renews it
    subscription.last_notified_at = now
    parsed = {
        "notifications": len(items),
        "subscriptions": sorted({str(i.get("subscriptionId", "")) for i in items}),
        "lifecycle": events,
    }
    polls = not events or bool(POLL_EVENTS & set(events))
    hook_log.finish(request, "applied" if polls else "ignored", parsed=parsed)
    return Answer(202, "accepted", "applied" if polls else "ignored")


def _row(session: Session, source_id: int) -> MailSubscription | None:
    return session.scalars(
        select(MailSubscription).where(MailSubscription.source_id == source_id)
    ).first()
