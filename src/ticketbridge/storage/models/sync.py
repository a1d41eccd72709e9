"""Two-way ticket sync between two PSA connections (issue 14): the syncs, their watermarks, the
reference map, failed items waiting for a retry, the runs and the conflict log.

Ids on either side are kept as text: a PSA's id is a number in Autotask and Jira, but the
sync's rules (core/sync) compare them as the PSA's own strings, and a later kind may not count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.storage.models.base import Base, UTCDateTime, utcnow

PSA_ID = 100


class SyncRow(Base):
    """A sync pairs connection A with connection B, fixed when it is made.

    ``scope_a``/``scope_b``: which of a side's tickets it carries (``{"company_ids": [...]}``:
    Autotask companies, Jira projects; empty: all). ``mapping``: the status, priority and
    company tables per direction (``{"a_to_b": {"status": {"rows": {}, "default": null}, ...}}``).
    ``lease_until``: held by the run in progress, so one sync runs once at a time.
    ``entities``: the switches of the other entities (contacts, teams, categories).
    ``dry_run_at``: the last dry run; a sync is enabled only after one (its diff came first).
    ``run_requested_at``: a run asked for (API, page) and not yet taken by the worker.
    """

    __tablename__ = "syncs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    connection_a_id: Mapped[int] = mapped_column(ForeignKey("psa_connections.id"), index=True)
    connection_b_id: Mapped[int] = mapped_column(ForeignKey("psa_connections.id"), index=True)
    a_to_b: Mapped[bool] = mapped_column(Boolean, default=True)
    b_to_a: Mapped[bool] = mapped_column(Boolean, default=True)
    scope_a: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    scope_b: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    start_date: Mapped[datetime] = mapped_column(UTCDateTime)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    entities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dry_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    run_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=300)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncWatermark(Base):
    """Where a direction's next "changed since" query starts, per kind of item."""

    __tablename__ = "sync_watermarks"
    __table_args__ = (UniqueConstraint("sync_id", "direction", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_id: Mapped[int] = mapped_column(ForeignKey("syncs.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(10))  # a_to_b | b_to_a
    kind: Mapped[str] = mapped_column(String(20))  # ticket | note | attachment
    watermark: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncReference(Base):
    """One synced item: its id on each side, the side it was first made on, and per side the
    content hash (tickets: also each field's) as last synced. One entry per item on each side."""

    __tablename__ = "sync_references"
    __table_args__ = (
        UniqueConstraint("sync_id", "kind", "a_id"),
        UniqueConstraint("sync_id", "kind", "b_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_id: Mapped[int] = mapped_column(ForeignKey("syncs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    a_id: Mapped[str] = mapped_column(String(PSA_ID))
    b_id: Mapped[str] = mapped_column(String(PSA_ID))
    origin: Mapped[str] = mapped_column(String(1))  # a | b
    a_hash: Mapped[str] = mapped_column(String(64))
    b_hash: Mapped[str] = mapped_column(String(64))
    a_field_hashes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    b_field_hashes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Deletes are never propagated: a vanished item is flagged and left for an operator.
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str] = mapped_column(String(300), default="")
    last_synced: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncFailure(Base):
    """An item that failed, waiting for its retry (core/sync/failures.py)."""

    __tablename__ = "sync_failures"
    __table_args__ = (UniqueConstraint("sync_id", "kind", "side", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_id: Mapped[int] = mapped_column(ForeignKey("syncs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    side: Mapped[str] = mapped_column(String(1))  # where the item was read
    item_id: Mapped[str] = mapped_column(String(PSA_ID))
    error: Mapped[str] = mapped_column(String(1000))
    attempts: Mapped[int] = mapped_column(Integer)
    first_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_retry_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncRun(Base):
    """One run of a sync: its counts per direction and kind, and the errors of failed items."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_id: Mapped[int] = mapped_column(ForeignKey("syncs.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # running | succeeded | partial (some items failed) | failed (the run itself stopped)
    status: Mapped[str] = mapped_column(String(20))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)


class SyncConflict(Base):
    """A field both sides changed: the value kept and the value that lost, with both times."""

    __tablename__ = "sync_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_id: Mapped[int] = mapped_column(ForeignKey("syncs.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    a_id: Mapped[str] = mapped_column(String(PSA_ID))
    b_id: Mapped[str] = mapped_column(String(PSA_ID))
    field: Mapped[str] = mapped_column(String(50))
    winner: Mapped[str] = mapped_column(String(1))
    winner_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    loser_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    winner_modified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    loser_modified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncHook(Base):
    """The secret a connection's PSA signs its change webhooks with (``/hooks/<kind>/<id>``):
    a signed change asks each enabled sync using the connection for a run."""

    __tablename__ = "sync_hooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("psa_connections.id", ondelete="CASCADE"), unique=True
    )
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
