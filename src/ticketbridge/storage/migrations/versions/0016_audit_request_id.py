"""audit_events: the id of the HTTP request that caused an event

An event recorded while answering a request keeps that request's id (the X-Request-ID header
of the answer, and the request_id field of JSON log lines), so an audit event leads to its log
lines. Nullable: older events and events of background jobs have none. On the branch of 0013
(after 0001, which made the table).

Revision ID: 0016
Revises: 0013
Create Date: 2027-01-12 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("request_id")
