"""A fetched batch of mail stored, parsed and routed in one transaction, without a savepoint a mail.

Polling takes mail in batches (IMAP, Graph). Per mail, `mail_intake.accept` looks the key up,
inserts under a savepoint and routes under another: two savepoints and a round trip or two a
mail were three quarters of the intake's time. Here a batch costs one look-up of all its keys,
one bulk insert and one commit, and routing reads and writes once a batch
(services.mail_route_batch).

Nothing is lost to a bad mail. Parsers never raise (a parser that did is recorded as a failed
parse); when anything else fails inside the batch (a database constraint, bad data, a bug in
routing), the whole transaction is rolled back and that batch alone is stored again mail by
mail, where `accept` isolates the offender and keeps it raw as failed with its reason. A mail
that cannot even be stored that way is stored bare (no sender or subject) with the reason.

De-duplication holds within a batch (a second copy of a key in the batch is a duplicate of the
first) and across batches (keys stored before are looked up first; two pollers racing on one
key hit the unique key, which sends the batch down the per-mail path).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import flag_modified

from ticketbridge.services.mail import intake as mail_intake
from ticketbridge.services.mail import routing as mail_routing
from ticketbridge.services.mail.intake import Accepted, Incoming
from ticketbridge.services.mail.route_batch import BatchRoutes
from ticketbridge.storage import bulk
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import MailMessage, MailRule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    raw: bytes
    received_at: datetime | None  # None: the arrival time (now) stands in
    conversation_id: str = ""  # the server's (Graph's conversationId), kept for threading


def accept_batch(
    factory: sessionmaker[Session],
    items: Sequence[Received],
    *,
    now: datetime,
    max_bytes: int = mail_intake.DEFAULT_MAX_BYTES,
    source_id: int | None = None,
) -> list[Accepted]:
    """Store, parse and route `items` and commit; one Accepted per item, in order."""
    if not items:
        return []
    prepared = [mail_intake.prepare(item.raw, max_bytes=max_bytes) for item in items]
    try:
        with session_scope(factory) as session:
            return _in_one_transaction(session, items, prepared, now, max_bytes, source_id)
    except Exception:
        log.warning(
            "a mail broke its batch of %d; storing it mail by mail", len(items), exc_info=True
        )
    with session_scope(factory) as session:
        return [
            _one_by_one(session, item, incoming, now, max_bytes, source_id)
            for item, incoming in zip(items, prepared, strict=True)
        ]


def _in_one_transaction(
    session: Session,
    items: Sequence[Received],
    prepared: list[Incoming],
    now: datetime,
    max_bytes: int,
    source_id: int | None,
) -> list[Accepted]:
    stored = _stored(session, {incoming.key for incoming in prepared})
    new: dict[str, MailMessage] = {}
    for item, incoming in zip(items, prepared, strict=True):
        if incoming.key not in stored and incoming.key not in new:
            new[incoming.key] = incoming.row(
                source_id=source_id,
                received_at=item.received_at or now,
                now=now,
                conversation_id=item.conversation_id,
            )
    _insert(session, list(new.values()))  # a key stored meanwhile fails it here
    # Rules are read once a batch, not once a mail: nothing in routing changes them.
    rules = list(session.scalars(select(MailRule).order_by(MailRule.id)))
    # Parsed once: the MIME tree read for redaction is reused (Incoming.parse).
    routed = [(fresh, incoming.parse()) for fresh, incoming in _to_route(new, prepared)]
    # Keys, jobs and runs of the whole batch are read up front and the runs written at the end
    # (services.mail_route_batch). Routing's own look-ups would flush each mail's new state
    # first, one UPDATE a mail; the mails wait for one flush instead.
    with session.no_autoflush:
        routes = BatchRoutes.read(session, routed)
        for fresh, outcome in routed:
            mail_routing.route(session, fresh, outcome, now=now, rules=rules, batch=routes)
        routes.finish(session)
    _same_columns_changed(fresh for fresh, _ in routed)
    session.flush()  # the routed mails' state, in one go
    results, first = [], set()
    for incoming in prepared:
        mail = new.get(incoming.key)
        created = mail is not None and incoming.key not in first
        first.add(incoming.key)
        results.append(mail_intake.accepted_of(mail or stored[incoming.key], created=created))
    kind = mail_intake.source_kind(session, source_id)
    for fresh in new.values():
        mail_intake.count_new(session, fresh, kind)
    return results


def _stored(session: Session, keys: set[str]) -> dict[str, MailMessage]:
    """The mails stored before under any of ``keys`` (re-deliveries), by key."""
    found = bulk.by_unique_key(session, MailMessage.message_key, keys, (MailMessage.id,))
    if not found:
        return {}
    ids = [mail_id for (mail_id,) in found]
    mails = session.scalars(select(MailMessage).where(MailMessage.id.in_(ids)))
    return {mail.message_key: mail for mail in mails}


_COLUMNS = tuple(column.name for column in MailMessage.__table__.columns)


def _insert(session: Session, mails: list[MailMessage]) -> None:
    """The batch's new mails in one COPY (PostgreSQL) or one prepared INSERT (SQLite), with the
    ids handed out first; then the session knows them as stored rows, so what routing changes on
    them is written by the flush. Through the ORM a batch of 200 mails was one INSERT of 4,200
    parameters, rendered and then parsed again by the driver: 0.8 s of 7 for 2,000 mails."""
    for mail, mail_id in zip(mails, bulk.next_ids(session, MailMessage, len(mails)), strict=True):
        mail.id = mail_id
        for name in _COLUMNS:
            if name not in mail.__dict__:  # what row() leaves unset is empty
                setattr(mail, name, None)
    rows = ([getattr(mail, name) for name in _COLUMNS] for mail in mails)
    bulk.insert_rows(session, MailMessage, _COLUMNS, rows)
    for mail in mails:
        make_transient_to_detached(mail)
        session.add(mail)


# What routing writes on a mail, whatever it made of it (a run report, an alert, desk mail).
_ROUTED = ("state", "parser", "parsed_at", "failure", "awaiting_approval", "detected", "run_ids")


def _same_columns_changed(mails: Iterable[MailMessage]) -> None:
    """Mark every routed column changed on every mail. The flush groups UPDATEs by the columns
    that changed, and a value routing set to what it was already drops out of its mail's: two
    thousand mails then went as some 500 statements in 30 shapes, where one shape is one
    executemany a batch."""
    for mail in mails:
        for name in _ROUTED:  # every column is loaded: _insert set each one
            flag_modified(mail, name)


def _to_route(
    new: dict[str, MailMessage], prepared: list[Incoming]
) -> list[tuple[MailMessage, Incoming]]:
    """Each new mail once, as its first copy in the batch (the one stored), unless too large."""
    found: dict[str, tuple[MailMessage, Incoming]] = {}
    for incoming in prepared:
        if incoming.key in new and incoming.key not in found:
            found[incoming.key] = (new[incoming.key], incoming)
    return [pair for pair in found.values() if not pair[1].too_large]


def _one_by_one(
    session: Session,
    item: Received,
    incoming: Incoming,
    now: datetime,
    max_bytes: int,
    source_id: int | None,
) -> Accepted:
    received_at = item.received_at or now
    try:
        with session.begin_nested():
            return mail_intake.accept(
                session,
                item.raw,
                now=now,
                max_bytes=max_bytes,
                source_id=source_id,
                received_at=received_at,
                conversation_id=item.conversation_id,
            )
    except Exception as exc:  # not even storable as it is: keep it bare, with the reason
        log.exception("storing a mail of %d bytes failed", incoming.size)
        mail = incoming.row(
            source_id=source_id,
            received_at=received_at,
            now=now,
            conversation_id=item.conversation_id,
        )
        mail.sender = mail.subject = ""
        mail.failure = f"could not be stored as received: {type(exc).__name__}: {exc}"[:2000]
        mail.parsed_at = now
        session.add(mail)
        session.flush()
        return mail_intake.accepted_of(mail, created=True)
