"""runs: indexes for paging by cursor (Run Checks, job history) and the review queue

Every list of runs is paged by a cursor on its sort key, ending in the id. The three indexes of
0001 gain the id as their last column; one more serves the worst-first order over every run, and
two partial ones the queue of runs waiting for review (by status, and by job). A branch of its
own after 0001.

Revision ID: 0013
Revises: 0001
Create Date: 2026-12-10 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNREVIEWED = sa.text("reviewed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_job_started")
        batch_op.drop_index("ix_runs_reviewed_started")
        batch_op.drop_index("ix_runs_started")
        batch_op.create_index(
            "ix_runs_job_started_id", ["job_id", "started_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_runs_reviewed_started_id", ["reviewed_at", "started_at", "id"], unique=False
        )
        batch_op.create_index("ix_runs_started_id", ["started_at", "id"], unique=False)
        batch_op.create_index(
            "ix_runs_status_started_id", ["status", "started_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_runs_queue_status_started_id",
            ["status", "started_at", "id"],
            unique=False,
            postgresql_where=UNREVIEWED,
            sqlite_where=UNREVIEWED,
        )
        batch_op.create_index(
            "ix_runs_queue_job_status_started_id",
            ["job_id", "status", "started_at", "id"],
            unique=False,
            postgresql_where=UNREVIEWED,
            sqlite_where=UNREVIEWED,
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index("ix_runs_queue_job_status_started_id")
        batch_op.drop_index("ix_runs_queue_status_started_id")
        batch_op.drop_index("ix_runs_status_started_id")
        batch_op.drop_index("ix_runs_started_id")
        batch_op.drop_index("ix_runs_reviewed_started_id")
        batch_op.drop_index("ix_runs_job_started_id")
        batch_op.create_index("ix_runs_started", ["started_at"], unique=False)
        batch_op.create_index(
            "ix_runs_reviewed_started", ["reviewed_at", "started_at"], unique=False
        )
        batch_op.create_index("ix_runs_job_started", ["job_id", "started_at"], unique=False)
