"""mail ignore and file name: an ignored mail can be restored; an upload keeps its file name

Ignoring a mail from the Inbox used to be final: the lane it left was written to the audit trail
only. Each mail now keeps where it was ignored from, by whom and when, so the Ignored lane can
show it and "Restore" puts it back. An uploaded mail also keeps its file name, which is all a
malformed upload (no headers, no subject) can be recognised by.

Mail ignored before this revision has no recorded origin; restoring it parses it again.

A branch of its own after the mail tables (0004).

Revision ID: 0014
Revises: 0004
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filename", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("ignored_from", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("ignored_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("ignored_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_column("ignored_at")
        batch_op.drop_column("ignored_by")
        batch_op.drop_column("ignored_from")
        batch_op.drop_column("filename")
