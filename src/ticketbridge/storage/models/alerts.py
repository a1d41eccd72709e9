"""RMM alerts from mails carrying ATES tokens (docs/alerts.md).

- ``alert_sources``: one per partner application named by tokens' ``source`` attribute, with
  its ticket rule (``operator`` decides, or ``automatic``) and the Autotask UDF names it uses.
- ``alert_customer_mappings``: the source's CustomerID -> our customer, the equivalent of the
  "<source> Customer ID" organization UDF that Autotask's own mail service reads.
- ``alert_devices``: what Autotask answered for a DeviceID (configuration items carrying it in
  the source's device UDF), cached.
- ``alerts``: one row per alert as the operator sees it, repeats counted on it. ``open_key``
  (the de-duplication key of core.alert_dedup) is set while the alert gathers its repeats and
  NULL once it is closed or has no key; its unique constraint keeps one open alert per key,
  whichever mail arrived first. A ticket create is claimed on the row itself (state
  ``creating``, its phase and attempt count), so one ticket is made per alert.
- ``alert_occurrences``: every mail (or API report) of an alert; ``noted_at`` says which ones
  an internal note of the joined ticket named already.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.storage.models.base import Base, UTCDateTime, utcnow


class AlertSource(Base):
    __tablename__ = "alert_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    # The name case-folded with whitespace collapsed: tokens spell their source as they like.
    name_key: Mapped[str] = mapped_column(String(255), unique=True)
    # operator: new alerts wait for an operator; automatic: a ticket is created at once.
    create_rule: Mapped[str] = mapped_column(String(20), default="operator")
    # Autotask UDF names; NULL means "<name> Device ID", "<name> Alert ID", "<name> Ticket ID".
    device_udf: Mapped[str | None] = mapped_column(String(255), nullable=True)
    alert_udf: Mapped[str | None] = mapped_column(String(255), nullable=True)
    ticket_udf: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")


class AlertCustomerMapping(Base):
    __tablename__ = "alert_customer_mappings"
    __table_args__ = (UniqueConstraint("source_id", "customer_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("alert_sources.id", ondelete="CASCADE"))
    customer_ref: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertDevice(Base):
    __tablename__ = "alert_devices"
    __table_args__ = (UniqueConstraint("source_id", "device_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("alert_sources.id", ondelete="CASCADE"))
    device_ref: Mapped[str] = mapped_column(String(255))
    # Every configuration item found: [{"id", "company_id", "name", "active"}] (may be []).
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    looked_up_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_state_last_seen_at", "state", "last_seen_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("alert_sources.id"), index=True)
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # new | waiting | creating | ticketed | joined | ignored | closed
    state: Mapped[str] = mapped_column(String(20))
    # What the token said (never its credentials).
    customer_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    customer_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    device_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    alert_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    ticket_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # What it was correlated with.
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), nullable=True, index=True
    )
    company_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ci_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ci_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    title: Mapped[str] = mapped_column(String(255))
    summary: Mapped[str] = mapped_column(Text, default="")
    # Why it stands where it stands (unmapped customer, no open ticket, ...), for the page.
    reason: Mapped[str] = mapped_column(Text, default="")
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_mail_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="SET NULL"), nullable=True
    )
    last_mail_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="SET NULL"), nullable=True
    )
    correlated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ticket_number: Mapped[str | None] = mapped_column(String(50), nullable=True)
    # The create's idempotency reference (externalID), and where the create stands
    # (core.create_progress: queued | sending | unknown).
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    create_phase: Mapped[str | None] = mapped_column(String(20), nullable=True)
    create_attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_note_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AlertOccurrence(Base):
    __tablename__ = "alert_occurrences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    # The mail it came in (unique: routing a mail again never counts it twice); NULL when
    # reported through the API.
    mail_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    subject: Mapped[str] = mapped_column(String(500), default="")
    noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
