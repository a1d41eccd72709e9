"""Store first, then parse: every received mail is kept raw before anything reads it.

`accept` is the one entry for every source (IMAP, Graph, SMTP, upload, import): it stores the
raw bytes zlib-compressed under the mail's de-duplication key (its Message-ID), then parses and
routes (services.mail_routing). A mail stored before is not stored, parsed or routed again, so a
re-delivered mail never makes a second run. A mail over the size limit keeps its headers only and
is marked failed; a mail nobody can read is marked failed with the reason. Neither is lost, and
neither raises. `reparse` runs the parsers again over stored mail; `purge` drops raw mail past
the retention (the runs made from it stay).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import parseaddr

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ticketbridge.connectors import metrics
from ticketbridge.connectors.parsers.mime import decode_header_value
from ticketbridge.connectors.parsers.registry import ParseOutcome, ParseState, parse_message
from ticketbridge.core.ates_mail import redact_mail, redact_parsed
from ticketbridge.core.mail_keys import key_digest, message_key
from ticketbridge.core.statuses import RunSource
from ticketbridge.services.mail import routing as mail_routing
from ticketbridge.storage.db import session_scope
from ticketbridge.storage.models import MailMessage, MailSource

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
# What an oversized mail keeps: enough header to show who sent it and what it was about.
HEADER_STUB_BYTES = 64 * 1024
_HEADERS = BytesHeaderParser(policy=policy.compat32)


@dataclass(frozen=True)
class Accepted:
    mail_id: int
    created: bool  # False: this mail was stored before (a re-delivery)
    state: str
    run_ids: tuple[int, ...]
    awaiting_approval: bool


@dataclass(frozen=True)
class HeaderFacts:
    message_id: str
    sender: str
    subject: str


def header_facts(raw: bytes) -> HeaderFacts:
    """Message-ID, sender address and subject from the header section; never raises."""
    try:
        headers = _HEADERS.parsebytes(raw[:HEADER_STUB_BYTES])
    except Exception:  # malformed headers: the mail is still stored, under its hash
        return HeaderFacts("", "", "")
    return _facts_of(headers)


def _facts_of(headers: Message) -> HeaderFacts:
    try:
        message_id = str(headers.get("message-id") or "")
        sender = parseaddr(decode_header_value(headers.get("from") or ""))[1]
        subject = decode_header_value(headers.get("subject") or "")
    except Exception:  # malformed headers: the mail is still stored, under its hash
        return HeaderFacts("", "", "")
    return HeaderFacts(message_id, sender[:320], subject[:500])


@dataclass(frozen=True)
class Incoming:
    """A received mail made ready to store: what is kept of it and its de-duplication key."""

    kept: bytes  # the bytes stored and parsed: redacted, or the header section when too large
    facts: HeaderFacts
    key: str
    size: int
    max_bytes: int
    # `kept` parsed (compat32), when redaction parsed it and left it as it was: parsing reuses it.
    message: Message | None = field(default=None, compare=False, repr=False)

    def parse(self) -> ParseOutcome:
        """The parsers' reading of the kept bytes (parsed once: the MIME tree is reused)."""
        return parse_message(self.kept, max_bytes=self.max_bytes, parsed=self.message)

    @property
    def too_large(self) -> bool:
        return self.size > self.max_bytes

    def row(
        self,
        *,
        source_id: int | None,
        received_at: datetime,
        now: datetime,
        conversation_id: str = "",
    ) -> MailMessage:
        """The mail's row, marked failed until parsing says otherwise (an oversized mail stays
        failed: only its headers were kept)."""
        mail = MailMessage(
            message_key=self.key,
            key_digest=key_digest(self.key),
            source_id=source_id,
            raw=zlib.compress(self.kept, 6),
            size=self.size,
            sender=self.facts.sender,
            subject=self.facts.subject,
            received_at=received_at,
            conversation_id=conversation_id[:300] or None,
            state=ParseState.FAILED.value,
            awaiting_approval=False,
            failure="",
            detected=[],
            run_ids=[],
        )
        if self.too_large:
            mail.failure = (
                f"message of {self.size} bytes is over the {self.max_bytes}-byte limit; "
                "only its headers were kept"
            )
            mail.parsed_at = now
        return mail


def prepare(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Incoming:
    """What to store of `raw` and under which key; reads no database and never raises."""
    too_large = len(raw) > max_bytes
    # ATES tokens' credentials (ID, PW) never reach storage, a parser or a log: their values
    # are redacted first; a mail without them stays byte-identical (docs/alerts.md). A mail that
    # may carry one is parsed for that, and the parsers reuse the parse when nothing changed.
    if too_large:
        kept, message = redact_mail(_header_section(raw)), None
    else:
        kept, message = redact_parsed(raw, None)
    # The parse's headers are those header_facts reads when the section ends in its window.
    ends = any(separator in kept[:HEADER_STUB_BYTES] for separator in (b"\r\n\r\n", b"\n\n"))
    facts = _facts_of(message) if message is not None and ends else header_facts(kept)
    key = message_key(facts.message_id, raw if too_large else kept)
    return Incoming(kept, facts, key, len(raw), max_bytes, message)


def raw_bytes(mail: MailMessage) -> bytes | None:
    """The stored mail as received (None once retention purged it)."""
    return None if mail.raw is None else zlib.decompress(mail.raw)


def accept(
    session: Session,
    raw: bytes,
    *,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
    source_id: int | None = None,
    received_at: datetime | None = None,
    conversation_id: str = "",
) -> Accepted:
    """Store, parse and route one mail within the caller's transaction."""
    incoming = prepare(raw, max_bytes=max_bytes)
    stored = session.scalars(
        select(MailMessage).where(MailMessage.message_key == incoming.key)
    ).first()
    if stored is not None:
        return accepted_of(stored, created=False)
    mail = incoming.row(
        source_id=source_id,
        received_at=received_at or now,
        now=now,
        conversation_id=conversation_id,
    )
    try:
        with session.begin_nested():
            session.add(mail)
            session.flush()
    except IntegrityError:
        # Another delivery of the same mail was stored between our look-up and our insert.
        stored = session.scalars(
            select(MailMessage).where(MailMessage.message_key == incoming.key)
        ).one()
        return accepted_of(stored, created=False)
    if not incoming.too_large:
        process(session, mail, incoming.kept, now=now, max_bytes=max_bytes, read=incoming.parse())
    count_new(session, mail)
    return accepted_of(mail, created=True)


def count_new(session: Session, mail: MailMessage, kind: str | None = None) -> None:
    """The metrics of a new mail, by its source's kind (`kind`, when the caller knows it)."""
    if kind is None:
        kind = source_kind(session, mail.source_id)
    metrics.MAILS_RECEIVED.labels(kind).inc()
    metrics.MAILS_PARSED.labels(kind, mail.parser or "none", mail.state).inc()
    if mail.run_ids:
        metrics.RUNS_INGESTED.labels(RunSource.MAIL.value).inc(len(mail.run_ids))


def source_kind(session: Session, source_id: int | None) -> str:
    """What the metrics call a source: its kind, or "upload" for mail no source delivered."""
    source = session.get(MailSource, source_id) if source_id is not None else None
    return source.kind if source is not None else "upload"


def process(
    session: Session,
    mail: MailMessage,
    raw: bytes,
    *,
    now: datetime,
    max_bytes: int,
    read: ParseOutcome | None = None,
) -> None:
    """Parse (unless `read` is the parse already) and route a stored mail. A failure here marks
    the mail; it never loses it."""
    outcome = read if read is not None else parse_message(raw, max_bytes=max_bytes)
    try:
        with session.begin_nested():
            mail_routing.route(session, mail, outcome, now=now)
    except Exception as exc:  # the mail is stored; its reason is shown and reparse may succeed
        log.exception("routing mail %s failed", mail.id)
        failed = ParseOutcome(
            ParseState.FAILED, failure=f"routing failed: {type(exc).__name__}: {exc}"[:500]
        )
        mail_routing.route(session, mail, failed, now=now)


@dataclass
class ReparseResult:
    mails: int = 0
    runs: int = 0
    awaiting: int = 0
    failed: int = 0


def reparse(
    factory: sessionmaker[Session],
    *,
    now: Callable[[], datetime],
    max_bytes: int = DEFAULT_MAX_BYTES,
    mail_ids: list[int] | None = None,
    batch: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> ReparseResult:
    """Parse stored mail again (oldest first) and route it; runs made before are found, not
    duplicated. Ignored mail and mail whose raw bytes were purged are left as they are."""
    with factory() as session:
        query = select(MailMessage.id).where(
            MailMessage.state != "ignored", MailMessage.raw.is_not(None)
        )
        if mail_ids is not None:
            query = query.where(MailMessage.id.in_(mail_ids))
        ids = list(session.scalars(query.order_by(MailMessage.received_at, MailMessage.id)))
    result = ReparseResult()
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        with session_scope(factory) as session:
            mails = session.scalars(
                select(MailMessage)
                .where(MailMessage.id.in_(chunk))
                .order_by(MailMessage.received_at, MailMessage.id)
            )
            for mail in mails:
                raw = raw_bytes(mail)
                if raw is None or mail.size > max_bytes:
                    continue
                process(session, mail, raw, now=now(), max_bytes=max_bytes)
                result.mails += 1
                result.runs += len(mail.run_ids)
                result.awaiting += int(mail.awaiting_approval)
                result.failed += int(mail.state == ParseState.FAILED.value)
        if progress is not None:
            progress(min(start + batch, len(ids)), len(ids))
    return result


def purge(session: Session, *, now: datetime, retention_days: int) -> int:
    """Drop raw mail received more than `retention_days` ago; returns how many (0: keep all)."""
    if retention_days <= 0:
        return 0
    cutoff = now - timedelta(days=retention_days)
    result = session.execute(
        update(MailMessage)
        .where(MailMessage.received_at < cutoff, MailMessage.raw.is_not(None))
        .values(raw=None, raw_purged_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _header_section(raw: bytes) -> bytes:
    head = raw[:HEADER_STUB_BYTES]
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = head.find(separator)
        if end >= 0:
            return head[: end + len(separator)]
    return head


def accepted_of(mail: MailMessage, *, created: bool) -> Accepted:
    """What a caller learns about a stored mail."""
    return Accepted(
        mail_id=mail.id,
        created=created,
        state=mail.state,
        run_ids=tuple(mail.run_ids or ()),
        awaiting_approval=mail.awaiting_approval,
    )
