"""Duplicate tickets found for a run (issue 9): several Autotask tickets carrying its reference.

One row per detection. ``open_run_id`` equals ``run_id`` until the detection is resolved (the
operator chose the ticket to keep, or the duplicates went away in Autotask) and is NULL after;
its unique constraint keeps one open detection per run, whichever sweep or page found it first.
Rows are never deleted: resolved ones record the choice and which tickets were given the note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.storage.models.base import Base, UTCDateTime


class TicketDuplicateRow(Base):
    __tablename__ = "ticket_duplicates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    open_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id"), unique=True, nullable=True
    )
    # The run's current link when the duplicates were found.
    link_id: Mapped[int] = mapped_column(ForeignKey("ticket_links.id"))
    reference: Mapped[str] = mapped_column(String(100))
    # The tickets carrying the reference, oldest first: [{"id": ..., "number": ...}, ...].
    tickets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # kept: the operator chose; gone: fewer than two tickets carry the reference any more.
    resolution: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # The operator's choice, set as soon as notes are being added (a failed attempt keeps it,
    # so a retry with the same choice does not note a ticket twice).
    kept_ticket_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    noted_ticket_ids: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)


class TicketDuplicateCheck(Base):
    """When a run page last searched Autotask for a link's reference (a throttle, like the
    last read time that throttles validation)."""

    __tablename__ = "ticket_duplicate_checks"

    link_id: Mapped[int] = mapped_column(ForeignKey("ticket_links.id"), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
