"""The Autotask round trip (issue 13): callouts we accept, every hook request as received, the
webhooks we registered, tickets hinted at, and the poll's watermark and counts.

Secrets (callout passwords, webhook secret keys) are encrypted with the installation's
SecretBox and never shown again. Hook requests keep the raw body and the headers minus
credentials, so that any of them can be replayed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.storage.models.base import Base, UTCDateTime, utcnow


class CalloutEndpoint(Base):
    """One extension callout configured in Autotask, received at /hooks/autotask/callouts/<name>."""

    __tablename__ = "roundtrip_callouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    username: Mapped[str] = mapped_column(String(100))
    password_encrypted: Mapped[str] = mapped_column(Text)
    # name_value | soap | xml_rpc
    format: Mapped[str] = mapped_column(String(20))
    # Accept only callouts whose UDF value equals this (empty: every callout).
    udf_filter: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it was last received and what went wrong last come from hook_requests: writing
    # them here would make every callout wait for every other on this one row.


class HookRequest(Base):
    """A request to /hooks as it arrived, stored before anything else is done with it."""

    __tablename__ = "hook_requests"
    __table_args__ = (Index("ix_hook_requests_endpoint", "channel", "endpoint", "received_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # callout | webhook | deactivation
    channel: Mapped[str] = mapped_column(String(20))
    # The callout's name or the webhook registration's id.
    endpoint: Mapped[str] = mapped_column(String(50))
    method: Mapped[str] = mapped_column(String(10))
    query: Mapped[str] = mapped_column(Text, default="")
    # Headers as received, minus Authorization and Cookie.
    headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # received | applied | duplicate | stale | held | unknown_ticket | filtered | rejected |
    # unreadable | unsupported | failed | recorded
    outcome: Mapped[str] = mapped_column(String(20), default="received")
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    # What was read from the body (the signal), for the list of requests.
    parsed: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    replays: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookRegistration(Base):
    """A TicketWebhook we registered in Autotask, received at /hooks/autotask/webhooks/<id>."""

    __tablename__ = "roundtrip_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Autotask's id and GUID, once registered.
    remote_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    guid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(50))
    webhook_url: Mapped[str] = mapped_column(String(500))
    deactivation_url: Mapped[str] = mapped_column(String(500))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    # registering | ready | not_ready | failed | deactivated | removed
    state: Mapped[str] = mapped_column(String(20))
    excluded_resource_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TicketHint(Base):
    """A linked ticket a callout or webhook spoke of: what it announced (for hint coverage)
    and whether the confirming read is still due."""

    __tablename__ = "roundtrip_hints"

    ticket_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_hint_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The newest last activity a hint announced (None: hints that carried none).
    announced_activity: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hints: Mapped[int] = mapped_column(Integer, default=0)
    # Set by a hint, cleared by the read that confirms it; kept while a miss awaits its
    # confirming second read.
    fetch_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class RoundtripState(Base):
    """One row (id 1): settings of the round trip and where polling stands."""

    __tablename__ = "roundtrip_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Mark a run reviewed when its ticket is completed in Autotask.
    review_on_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    # The start of the last successful poll: the next one asks for changes after it (minus
    # an overlap).
    watermark: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Our API user's Autotask resource: changes it made are ours, not missed hints.
    own_resource_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RoundtripPoll(Base):
    """One poll's counts: what it asked, what it found, and how much of it hints announced."""

    __tablename__ = "roundtrip_polls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    # Tickets changed in Autotask since the watermark, and those of them we link.
    changed: Mapped[int] = mapped_column(Integer, default=0)
    linked: Mapped[int] = mapped_column(Integer, default=0)
    # Linked changes newer than the previous poll's start (each counted once, whatever the
    # overlap), by someone other than our own API user (no hint is expected for those), split
    # by whether a callout or webhook had announced them: the hint coverage.
    counted: Mapped[int] = mapped_column(Integer, default=0)
    announced: Mapped[int] = mapped_column(Integer, default=0)
    unannounced: Mapped[int] = mapped_column(Integer, default=0)
    applied: Mapped[int] = mapped_column(Integer, default=0)
    # Ticket ids polling found without a hint (at most 50), to look into.
    unannounced_ids: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
