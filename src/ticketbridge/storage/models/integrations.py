"""PSA integrations: settings per kind, cached reference lists, customer-to-company mappings.

Keyed by the integration's one name (``autotask`` today), so a second PSA kind adds rows, not
tables.
"""

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


class IntegrationSetting(Base):
    """One row per integration kind. ``config`` holds the non-secret fields only."""

    __tablename__ = "integration_settings"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Encrypted with SecretBox; never leaves the service layer in clear.
    secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reference_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReferenceValue(Base):
    """One value of a PSA picklist (queue, source, status, ...). Inactive values are kept."""

    __tablename__ = "reference_values"
    __table_args__ = (UniqueConstraint("kind", "category", "value_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    # queue | source | status | priority | note_type | publish
    category: Mapped[str] = mapped_column(String(20))
    value_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CompanyMappingRow(Base):
    """A customer's explicit mapping to one PSA company; the company id is leading."""

    __tablename__ = "company_mappings"
    __table_args__ = (UniqueConstraint("kind", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
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
