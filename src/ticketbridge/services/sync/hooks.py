"""Runs started early by the PSAs' webhooks (issue 14, item 9).

A change a PSA reports on a connection asks each enabled sync that reads that connection (a
direction whose source side it is) for a run: the request the worker's ``sync.run_requested``
takes within a minute, as "Run now" does. Requests coalesce: a sync with a run already asked
for keeps that one, so a burst of webhooks is one run (one conditional UPDATE, on any database
and across processes). The run itself reads by its watermarks as always; a webhook only
brings it forward, and a lost webhook costs nothing but the wait for the interval.

Where the changes come from:

- Autotask: the round-trip receivers that already exist (ticket webhooks and extension
  callouts, services/roundtrip) call :func:`request_runs` for the round-trip connection once a
  request checked out.
- A kind with the ``sync_hooks`` capability (Jira): ``POST /hooks/<kind>/<connection id or
  name>``, signed with the connection's secret made here (shown once, stored encrypted). Each
  post to a connection with a secret is kept raw first, as the round trip keeps its requests
  (services/roundtrip/receipt.py, channel ``sync``, the endpoint the connection's id): headers
  minus credentials, body, time, the signature's verdict and what it led to (``requested``,
  ``ignored``, ``rejected``, ``unreadable``, ``failed``); it is listed and replayed with them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ticketbridge.connectors import registry
from ticketbridge.connectors.psa.capabilities import SyncHooks
from ticketbridge.services.roundtrip import hook_log, receipt
from ticketbridge.services.roundtrip.config import RoundtripInputError
from ticketbridge.services.roundtrip.receipt import Answer, Incoming
from ticketbridge.services.runtime import Runtime
from ticketbridge.services.sync.syncs import SyncRefused, connection_by_name
from ticketbridge.services.system import audit
from ticketbridge.storage.models import HookRequest, PsaConnection
from ticketbridge.storage.models.sync import SyncHook, SyncRow
from ticketbridge.storage.secrets import SecretUnreadable

log = logging.getLogger(__name__)
HOOKS_PATH = "/hooks"


def request_runs(session: Session, connection_id: int, now: datetime) -> list[int]:
    """Ask each enabled sync reading ``connection_id`` for a run; the ids asked (a sync with a
    request pending keeps it: one pending request per sync). In the caller's transaction."""
    found = session.execute(
        select(SyncRow.id, SyncRow.connection_a_id, SyncRow.a_to_b, SyncRow.b_to_a)
        .where(SyncRow.enabled.is_(True))
        .where(
            or_(SyncRow.connection_a_id == connection_id, SyncRow.connection_b_id == connection_id)
        )
    ).all()
    # A change on a side no direction reads from would start a run that reads nothing of it.
    asked = [
        sync_id
        for sync_id, side_a, a_to_b, b_to_a in found
        if (a_to_b if side_a == connection_id else b_to_a)
    ]
    if asked:
        session.execute(
            update(SyncRow)
            .where(SyncRow.id.in_(asked), SyncRow.run_requested_at.is_(None))
            .values(run_requested_at=now)
            .execution_options(synchronize_session=False)
        )
    return asked


def path_of(kind: str, connection_id: int) -> str:
    return f"{HOOKS_PATH}/{kind}/{connection_id}"


@dataclass(frozen=True)
class HookView:
    connection_id: int
    connection: str
    kind: str
    path: str
    created_by: str
    created_at: datetime
    last_received_at: datetime | None


def _view(row: SyncHook, connection: PsaConnection) -> HookView:
    return HookView(
        connection_id=connection.id,
        connection=connection.name,
        kind=connection.kind,
        path=path_of(connection.kind, connection.id),
        created_by=row.created_by,
        created_at=row.created_at,
        last_received_at=row.last_received_at,
    )


def views(session: Session) -> list[HookView]:
    found = session.execute(
        select(SyncHook, PsaConnection)
        .join(PsaConnection, PsaConnection.id == SyncHook.connection_id)
        .order_by(PsaConnection.name)
    )
    return [_view(hook, connection) for hook, connection in found]


def _connection(session: Session, ref: str) -> PsaConnection | None:
    found = connection_by_name(session, ref)
    if found is None and ref.isdigit() and len(ref) < 10:
        found = session.get(PsaConnection, int(ref))
    return found


def make_secret(
    runtime: Runtime, session: Session, ref: str, *, actor: str, now: datetime
) -> tuple[HookView, str]:
    """A new secret for the connection's change webhook (a previous one stops working); the
    view and the secret, which is shown this once."""
    connection = _connection(session, ref)
    if connection is None:
        raise SyncRefused("connection", f"there is no connection {ref!r}")
    if registry.sync_hooks(connection.kind) is None:
        raise SyncRefused(
            "connection",
            f"a {connection.kind} connection posts no change webhook here; "
            "its round-trip webhooks and callouts start the syncs instead",
        )
    secret = secrets.token_urlsafe(32)
    row = session.scalar(select(SyncHook).where(SyncHook.connection_id == connection.id))
    if row is None:
        row = SyncHook(connection_id=connection.id)
        session.add(row)
    row.secret_encrypted = runtime.secret_box.encrypt(secret)
    row.created_by, row.created_at, row.last_received_at = actor, now, None
    audit.record(
        session,
        actor=actor,
        action="sync.hook.secret",
        subject=f"connection {connection.id}",
        details={"connection": connection.name},
    )
    session.flush()
    return _view(row, connection), secret


def remove(session: Session, connection_id: int, *, actor: str) -> bool:
    row = session.scalar(select(SyncHook).where(SyncHook.connection_id == connection_id))
    if row is None:
        return False
    audit.record(
        session,
        actor=actor,
        action="sync.hook.remove",
        subject=f"connection {connection_id}",
        details={},
    )
    session.delete(row)
    return True


@dataclass(frozen=True)
class _Endpoint:
    connection: PsaConnection
    hook: SyncHook


def receive(
    runtime: Runtime, kind: str, ref: str, body: bytes, headers: Mapping[str, str]
) -> Answer:
    """A change webhook posted for connection ``ref`` (id or name) of ``kind``, stored as it
    arrived (``hook_requests``, channel ``sync``) before it is checked: 404 for no such
    connection with a secret (not stored), 401 for a signature that does not match the exact
    body, 400 for a body that is no webhook, else 200 (also for an event that changes no
    ticket); 503 when it could not be stored, so that the PSA sends it again."""
    checks = registry.sync_hooks(kind)
    if checks is None:
        return receipt.NOT_FOUND
    try:
        with runtime.session_factory() as session:
            connection = _connection(session, ref)
            connection_id = connection.id if connection and connection.kind == kind else None
    except SQLAlchemyError:
        log.exception("sync hook %s: the connection could not be read", ref)
        return receipt.STORE_FAILED
    if connection_id is None:
        return receipt.NOT_FOUND
    incoming = Incoming.of("POST", "", headers, body)

    def find(session: Session) -> _Endpoint | None:
        return _endpoint(session, connection_id)

    def process(session: Session, request: HookRequest, found: _Endpoint, now: datetime) -> Answer:
        return _check(runtime, session, checks, request, found, incoming, now, arrived=True)

    return receipt.handle(
        runtime,
        channel=hook_log.SYNC,
        endpoint=str(connection_id),
        incoming=incoming,
        find=find,
        process=process,
    )


def replay(runtime: Runtime, session: Session, request: HookRequest, now: datetime) -> Answer:
    """A stored change webhook handled again (services/roundtrip/replay.py): its signature is
    checked again under the connection's current secret, so a replay gets past no check."""
    found = _endpoint(session, int(request.endpoint)) if request.endpoint.isdigit() else None
    checks = registry.sync_hooks(found.connection.kind) if found else None
    if found is None or checks is None:
        raise RoundtripInputError(
            {"request": f"connection {request.endpoint} takes no change webhook now"}
        )
    incoming = Incoming.of(request.method, request.query, request.headers, request.body)
    answer = _check(runtime, session, checks, request, found, incoming, now, arrived=False)
    if answer.status == 401:
        raise RoundtripInputError(
            {"request": f"not replayed: {answer.message} under the connection's current secret"}
        )
    return answer


def _endpoint(session: Session, connection_id: int) -> _Endpoint | None:
    connection = session.get(PsaConnection, connection_id)
    hook = session.scalar(select(SyncHook).where(SyncHook.connection_id == connection_id))
    return _Endpoint(connection, hook) if connection is not None and hook is not None else None


def _check(
    runtime: Runtime,
    session: Session,
    checks: SyncHooks,
    request: HookRequest,
    found: _Endpoint,
    incoming: Incoming,
    now: datetime,
    *,
    arrived: bool,
) -> Answer:
    """Check the stored request, then act on it; the request row says what it led to (its
    outcome) and the signature's verdict (``parsed.signature``). ``arrived``: a post, not a
    replay (only a post moves the endpoint's last received time)."""
    try:
        secret = runtime.secret_box.decrypt(found.hook.secret_encrypted)
    except SecretUnreadable:
        message = "the endpoint's secret is unreadable: make a new one"
        hook_log.finish(request, "rejected", error=message, parsed={"signature": "unchecked"})
        return Answer(401, message, "rejected")
    signature = incoming.header(checks.signature_header)
    if not checks.signature_valid(secret, incoming.body, signature):
        verdict = "mismatch" if signature else "missing"
        hook_log.finish(
            request, "rejected", error=f"signature {verdict}", parsed={"signature": verdict}
        )
        return Answer(401, f"signature {verdict}", "rejected")
    try:
        change = checks.parse(incoming.body)
    except ValueError as exc:
        hook_log.finish(request, "unreadable", error=str(exc), parsed={"signature": "valid"})
        return Answer(400, str(exc), "unreadable")
    if arrived:
        found.hook.last_received_at = now
    if change is None:
        hook_log.finish(request, "ignored", parsed={"signature": "valid"})
        return Answer(200, "ignored: the event changes no ticket", "ignored")
    asked = request_runs(session, found.connection.id, now)
    parsed = {
        "signature": "valid",
        "event": change.event,
        "ticket": change.ticket_id,
        "syncs": asked,
    }
    # A change no enabled sync reads led to nothing: ignored, with the empty list to say why.
    outcome = "requested" if asked else "ignored"
    hook_log.finish(request, outcome, parsed=parsed)
    return Answer(200, f"{len(asked)} sync(s) asked to run", outcome)
