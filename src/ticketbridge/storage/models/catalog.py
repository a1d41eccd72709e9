"""Customers, their backup jobs, and the runs those jobs report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ticketbridge.core.names import normalise
from ticketbridge.storage.models.base import Base, UTCDateTime, utcnow

# Name keys (core/names.py) are kept next to the names they come from and carry the unique
# constraints, so 'ÖKO Bau' and 'öko bau' are one customer on every database. Every writer gets
# its key from the validators below. A key has room for twice its name: normalising can lengthen
# a name (ligatures, 'ß' -> 'ss'); the services refuse a name whose key would not fit, and a key
# cut short here (a pathological name from a mail) still compares its first part.
CUSTOMER_KEY_LENGTH = 400
PRODUCT_KEY_LENGTH = 200
JOB_NAME_KEY_LENGTH = 600


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    name_key: Mapped[str] = mapped_column(String(CUSTOMER_KEY_LENGTH), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The PSA connection this customer's run tickets go to; None: the ticketing default.
    ticketing_connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("psa_connections.id", ondelete="SET NULL"), nullable=True
    )

    jobs: Mapped[list[Job]] = relationship(back_populates="customer")

    @staticmethod
    def key_for(name: str) -> str:
        return normalise(name)[:CUSTOMER_KEY_LENGTH]

    @validates("name")
    def _key_name(self, _: str, name: str) -> str:
        self.name_key = self.key_for(name)
        return name


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("customer_id", "backup_product", "job_name"),
        UniqueConstraint("customer_id", "product_key", "job_name_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    backup_product: Mapped[str] = mapped_column(String(100))
    product_key: Mapped[str] = mapped_column(String(PRODUCT_KEY_LENGTH))
    job_type: Mapped[str] = mapped_column(String(100), default="")
    job_name: Mapped[str] = mapped_column(String(300))
    job_name_key: Mapped[str] = mapped_column(String(JOB_NAME_KEY_LENGTH))
    host: Mapped[str] = mapped_column(String(300), default="")
    # A declared schedule: {"cron": "...", "timezone": "...", "grace_minutes": N}.
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="jobs")

    @staticmethod
    def keys_for(backup_product: str, job_name: str) -> tuple[str, str]:
        """(product_key, job_name_key): with the customer, what makes a job one job."""
        return (
            normalise(backup_product)[:PRODUCT_KEY_LENGTH],
            normalise(job_name)[:JOB_NAME_KEY_LENGTH],
        )

    @validates("backup_product")
    def _key_product(self, _: str, product: str) -> str:
        self.product_key = normalise(product)[:PRODUCT_KEY_LENGTH]
        return product

    @validates("job_name")
    def _key_job_name(self, _: str, job_name: str) -> str:
        self.job_name_key = normalise(job_name)[:JOB_NAME_KEY_LENGTH]
        return job_name


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        # Every list of runs is paged by a cursor on its sort key, which ends in the id (ties
        # on started_at are common: a schedule's missed runs, imports): each of these indexes
        # hands a page over in order, so the last page costs what the first does (issue 11).
        Index("ix_runs_job_started_id", "job_id", "started_at", "id"),
        Index("ix_runs_reviewed_started_id", "reviewed_at", "started_at", "id"),
        Index("ix_runs_started_id", "started_at", "id"),
        Index("ix_runs_status_started_id", "status", "started_at", "id"),
        # The review queue (partial: only runs waiting for review, a few thousand at most):
        # its runs of one status in age order, and its jobs with their runs' statuses.
        Index(
            "ix_runs_queue_status_started_id",
            "status",
            "started_at",
            "id",
            postgresql_where=text("reviewed_at IS NULL"),
            sqlite_where=text("reviewed_at IS NULL"),
        ),
        Index(
            "ix_runs_queue_job_status_started_id",
            "job_id",
            "status",
            "started_at",
            "id",
            postgresql_where=text("reviewed_at IS NULL"),
            sqlite_where=text("reviewed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    status: Mapped[str] = mapped_column(String(20))
    # For a missed run: the time the report was expected.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    overall_remark: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_note: Mapped[str] = mapped_column(Text, default="")

    job: Mapped[Job] = relationship()
    objects: Mapped[list[RunObject]] = relationship(
        back_populates="run", order_by="RunObject.id", cascade="all, delete-orphan"
    )


class RunObject(Base):
    __tablename__ = "run_objects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")

    run: Mapped[Run] = relationship(back_populates="objects")
