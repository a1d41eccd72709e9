"""Mail intake: sources, every raw mail received, approval and matching rules, job schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from ticketbridge.core.names import normalise
from ticketbridge.storage.models.base import Base, UTCDateTime, utcnow

SOURCE_KEY_LENGTH = 400  # twice the name: see CUSTOMER_KEY_LENGTH in catalog.py


class MailSource(Base):
    """A mailbox (imap, graph), the SMTP receiver (smtp), or the upload/import lane (upload)."""

    __tablename__ = "mail_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # core/names.py: 'Inbox' and 'INBOX' are one source on every database.
    name_key: Mapped[str] = mapped_column(String(SOURCE_KEY_LENGTH), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Non-secret settings only; the password or client secret lives encrypted in `secret`.
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A delegated sign-in (`mailbox authenticate --device-code`): msal's token cache, encrypted
    # like `secret`, since it holds a refresh token. None: the source reads app-only.
    token_cache: Mapped[str | None] = mapped_column(Text, nullable=True)
    watermark: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # A poller holds the source until this moment, so two pollers never read one mailbox.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    fetched_count: Mapped[int] = mapped_column(Integer, default=0)
    stored_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @staticmethod
    def key_for(name: str) -> str:
        return normalise(name)[:SOURCE_KEY_LENGTH]

    @validates("name")
    def _key_name(self, _: str, name: str) -> str:
        self.name_key = self.key_for(name)
        return name


class MailMessage(Base):
    """One received mail, kept raw (zlib-compressed) before anything reads it."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        Index("ix_mail_messages_state_received", "state", "received_at"),
        Index("ix_mail_messages_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The Message-ID header, or "sha256:<hex>" of the raw bytes when there is none (or it is
    # too long): the de-duplication key.
    message_key: Mapped[str] = mapped_column(String(300), unique=True)
    # sha256 of message_key, the middle of its runs' external ids ("mail:<digest>:<n>"): finds
    # the mail of a run.
    key_digest: Mapped[str] = mapped_column(String(64), index=True)
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_sources.id", ondelete="SET NULL"), nullable=True, index=True
    )
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    raw_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    size: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # parsed | no_parser | failed | ignored | approved
    state: Mapped[str] = mapped_column(String(20), default="failed")
    awaiting_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    failure: Mapped[str] = mapped_column(Text, default="")
    parser: Mapped[str | None] = mapped_column(String(50), nullable=True)
    # One entry per report: kind, product, job type, job name, host, status, start.
    detected: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    parsed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    run_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The mail server's own conversation id (Microsoft Graph's conversationId), which is not
    # in the MIME: the service desk threads a reply by it when its headers name nothing.
    conversation_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # The uploaded file's name: a malformed upload names nothing else (no subject, no sender).
    filename: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # Ignoring can be undone: where the mail was ("waiting", or its state: "no_parser",
    # "failed", "parsed", "approved"), who ignored it and when. Empty for mail never ignored.
    ignored_from: Mapped[str | None] = mapped_column(String(20), nullable=True)
    ignored_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ignored_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MailSubscription(Base):
    """A change-notification subscription of a mail source at its server (Microsoft Graph):
    the server posts to our public URL when mail arrives, and that triggers a poll at once."""

    __tablename__ = "mail_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("mail_sources.id", ondelete="CASCADE"), unique=True
    )
    # The server's id of the subscription; None until the server accepted it.
    remote_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The secret the server sends back with every notification (Graph's clientState),
    # encrypted with the installation's key.
    client_state: Mapped[str] = mapped_column(Text)
    notification_url: Mapped[str] = mapped_column(String(1000))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    renewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class MailRule(Base):
    """Mail from this sender (address or domain) and/or with this subject belongs to a customer."""

    __tablename__ = "mail_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject_pattern: Mapped[str] = mapped_column(String(300), default="")
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailJobKey(Base):
    """Sender + product + job name of an approved job: later mails become its runs directly."""

    __tablename__ = "mail_job_keys"
    __table_args__ = (UniqueConstraint("sender", "product", "job_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(320))
    product: Mapped[str] = mapped_column(String(100))
    job_name: Mapped[str] = mapped_column(String(300))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobScheduleState(Base):
    """What intake knows about when a job runs. The declared schedule is `Job.schedule`."""

    __tablename__ = "job_schedule_states"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    # Workstations that are often off: no expected runs, never Missed.
    opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    learned: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    learned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
