"""The service desk (issue 16): mailboxes whose mail becomes tickets, their conversations, every
mail they handled and what it made, and their routing rules.

A mail source's purpose is backup reports unless a `ServiceDeskMailbox` row names it: then its
mail becomes tickets and comments in the mailbox's target connection (services.service_desk)
and never runs. A side table rather than columns on mail_sources, so the sources' table and
everything that reads it stay as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.storage.models.base import Base, UTCDateTime, utcnow

# core/service_desk/mail.py keeps Message-IDs up to 500 characters; "graph:" and a Graph
# conversationId fit as well.
KEY_LENGTH = 520


class ServiceDeskMailbox(Base):
    """A mail source whose purpose is the service desk, with its target and rules.

    ``config`` holds the lists the rules read (core/service_desk): boards, categories, labels,
    the mailbox's own addresses, allowed domains, blocked senders, the loop limit, and for an
    Autotask target the company new tickets go to."""

    __tablename__ = "service_desk_mailboxes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("mail_sources.id", ondelete="CASCADE"), unique=True
    )
    # None once the connection was deleted: mails then wait, with the reason, for a new target.
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("psa_connections.id", ondelete="SET NULL"), nullable=True, index=True
    )
    default_board: Mapped[str] = mapped_column(String(100))
    default_category: Mapped[str] = mapped_column(String(100))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # How the sender hears back (services/service_desk/notify_settings.py), None until set
    # (no notifications); the SMTP relay's password apart, encrypted with the installation's key.
    notify: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    notify_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceDeskConversation(Base):
    """One ticket a conversation made. A conversation whose ticket was deleted in the PSA gets a
    new row for its new ticket, which names the one it replaces."""

    __tablename__ = "service_desk_conversations"
    __table_args__ = (
        Index("ix_service_desk_conversations_key", "mailbox_id", "conversation_key"),
        Index("ix_service_desk_conversations_ticket", "mailbox_id", "ticket_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("service_desk_mailboxes.id", ondelete="CASCADE")
    )
    conversation_key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    # The connection the ticket lives in (kept when the mailbox's target changes later).
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("psa_connections.id", ondelete="SET NULL"), nullable=True
    )
    ticket_id: Mapped[int] = mapped_column(Integer)
    ticket_key: Mapped[str] = mapped_column(String(100))  # "SUP-123", "T20240101.0001"
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | deleted
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "service_desk_conversations.id",
            ondelete="SET NULL",
            name="fk_service_desk_conversations_replaces_id",  # the convention's is too long
        ),
        nullable=True,
    )
    sender: Mapped[str] = mapped_column(String(320), default="")
    board: Mapped[str] = mapped_column(String(100), default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_mail_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceDeskMail(Base):
    """What one mail of a service-desk mailbox made: a ticket, a comment, nothing with the
    filter's reason, or held for review. One row per Message-ID and mailbox, written before
    the PSA is asked (outcome "pending"), so a mail is never handled twice."""

    __tablename__ = "service_desk_mails"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "message_key"),
        Index("ix_service_desk_mails_sender", "mailbox_id", "sender", "outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("service_desk_mailboxes.id", ondelete="CASCADE")
    )
    # The normalised Message-ID (core/service_desk/mail.py), or the stored mail's key without one.
    message_key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    mail_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="SET NULL"), nullable=True, index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "service_desk_conversations.id",
            ondelete="SET NULL",
            name="fk_service_desk_mails_conversation_id",  # the convention's is too long
        ),
        nullable=True,
    )
    # pending | ticket | comment | filtered | held | failed
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40), default="")  # a filter reason's code
    detail: Mapped[str] = mapped_column(Text, default="")  # the sentence an operator reads
    comment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Our de-duplication key on the ticket, so a create whose answer was lost is found.
    external_id: Mapped[str] = mapped_column(String(64), default="")
    sender: Mapped[str] = mapped_column(String(320), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # What became of the mail's files (services/service_desk/mail_uploads.py): {"sent":
    # [{"name", "sha256"}], "skipped": [{"name", "reason"}]}; None when it had none to send.
    files: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ServiceDeskRoutingRule(Base):
    """One routing rule of a mailbox (core/service_desk/routing.py), applied in `position`
    order."""

    __tablename__ = "service_desk_routing_rules"
    __table_args__ = (UniqueConstraint("mailbox_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("service_desk_mailboxes.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    sender_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject_pattern: Mapped[str] = mapped_column(String(200), default="")
    board: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(100), default="")
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)


class ServiceDeskNotice(Base):
    """A mail the desk sends its reporter: the notification a mail's sender gets for the
    ticket it made (``desk_mail_id``, unique: at most once per mail), or a public PSA comment
    relayed to the reporter (``note_key``, unique per mailbox: each comment once). Composed in
    the transaction that records what it answers, sent afterwards outside any. A failed send
    keeps its reason and is tried again at ``due_at``; the Message-ID stays the same, so a
    receiver can tell a repeat."""

    __tablename__ = "service_desk_notices"
    __table_args__ = (
        Index("ix_service_desk_notices_due", "state", "due_at"),
        UniqueConstraint("mailbox_id", "note_key", name="uq_service_desk_notices_note"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("service_desk_mailboxes.id", ondelete="CASCADE"), index=True
    )
    desk_mail_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_desk_mails.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    # The conversation it belongs to (None on notices older than migration 0026): the relay
    # threads a comment to the conversation's last message, ours included.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "service_desk_conversations.id",
            ondelete="SET NULL",
            name="fk_service_desk_notices_conversation_id",  # the convention's is too long
        ),
        nullable=True,
    )
    # A relayed comment: "<connection id>:<the PSA's note id>"; None for a notification.
    note_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    ticket_key: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(320))
    # [[name, value], ...] as composed (core/service_desk/notifications.py), then the body.
    headers: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    body: Mapped[str] = mapped_column(Text, default="")
    # pending | sending | sent | failed | cancelled (notifications turned off before it was sent)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ServiceDeskRelayMark(Base):
    """How far the relay of a mailbox has read the notes of one connection: the newest
    ``updated`` the PSA gave (its own clock), read again with an overlap next time."""

    __tablename__ = "service_desk_relay_marks"
    __table_args__ = (UniqueConstraint("mailbox_id", "connection_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("service_desk_mailboxes.id", ondelete="CASCADE")
    )
    connection_id: Mapped[int] = mapped_column(ForeignKey("psa_connections.id", ondelete="CASCADE"))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
