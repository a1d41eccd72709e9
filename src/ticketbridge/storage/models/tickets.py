"""Links between runs and PSA tickets (design §4.2, §5, §6A, §6B).

Rows are never deleted: a replaced link is marked superseded and stays in the run's history.
``current_run_id`` equals ``run_id`` while the link is the run's current one and is NULL once
superseded; its unique constraint (NULLs never collide, on SQLite and PostgreSQL alike) is what
makes two clicks or two workers end with one ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketbridge.storage.models.base import Base, UTCDateTime, utcnow


class TicketLinkRow(Base):
    __tablename__ = "ticket_links"
    __table_args__ = (Index("ix_ticket_links_state_ticket", "state", "ticket_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    current_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id"), unique=True, nullable=True
    )
    # The connection the ticket lives in, and its kind (kept for display and history).
    connection_id: Mapped[int] = mapped_column(ForeignKey("psa_connections.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    # creating | active | resolved | left_open_time_entries | deleted_external | superseded
    state: Mapped[str] = mapped_column(String(30))
    # created | linked | manual
    origin: Mapped[str] = mapped_column(String(20))
    # The PSA ticket ID is leading; number and URL are for display.
    ticket_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ticket_number: Mapped[str | None] = mapped_column(String(50), nullable=True)
    ticket_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # The idempotency reference sent as externalID and in the description's marker line.
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a create was last attempted or reconciled; a creating row not touched for a while is
    # a crashed attempt.
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_status_label: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    missing_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_links.id"), nullable=True
    )
    time_entries: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The last resolve decision's evidence: time entries, status before and after, note id.
    resolve_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # While creating: how many creates were sent for this reservation, and where the last one
    # stands (queued: nothing sent yet; sending: a request in flight; unknown: sent, and
    # Autotask has not said whether it created the ticket).
    create_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    create_phase: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # The round trip (issue 13): the ticket's last activity as last reported by Autotask
    # (reports are applied in that order), and who completed it in Autotask and when.
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_in_psa_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    resolved_in_psa_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
