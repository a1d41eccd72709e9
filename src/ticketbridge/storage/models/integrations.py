"""PSA connections: named connections of any kind, their cached reference lists and their
customer-to-company mappings. A second connection, of any kind, adds rows, not tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.storage.models.base import Base, UTCDateTime, utcnow


class PsaConnection(Base):
    """A named connection to one PSA of a registered kind (connectors/registry.py).

    ``config`` holds the kind's non-secret settings and the ticket policy; the secrets are one
    SecretBox ciphertext and never leave the service layer in clear.
    """

    __tablename__ = "psa_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The connection runs' tickets go to unless their customer names another.
    ticketing_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last Test connection: None until one ran.
    check_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    check_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reference_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReferenceValue(Base):
    """One value of a PSA picklist (queue, source, status, ...). Inactive values are kept."""

    __tablename__ = "reference_values"
    __table_args__ = (UniqueConstraint("connection_id", "category", "value_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("psa_connections.id", ondelete="CASCADE"))
    # queue | source | status | priority | note_type | publish
    category: Mapped[str] = mapped_column(String(20))
    value_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(300))
    # Where the PSA groups the value (Jira status categories: new, indeterminate, done).
    value_group: Mapped[str | None] = mapped_column(String(20), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CompanyMappingRow(Base):
    """A customer's explicit mapping to one PSA company; the company id is leading."""

    __tablename__ = "company_mappings"
    __table_args__ = (UniqueConstraint("connection_id", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("psa_connections.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[int] = mapped_column(BigInteger, index=True)
    company_name: Mapped[str] = mapped_column(String(300), default="")
    # The name the operator knew, kept while a rename is unacknowledged.
    previous_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # ok | renamed | invalid (missing is the absence of a row)
    status: Mapped[str] = mapped_column(String(20), default="ok")
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mapped_by: Mapped[str] = mapped_column(String(200), default="")
    mapped_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
