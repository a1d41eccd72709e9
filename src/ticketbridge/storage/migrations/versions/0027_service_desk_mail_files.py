"""service_desk_mail_files: what became of each desk mail's files (issue 16, item 2)

``files`` on a desk mail's row: the files sent to its ticket (name and sha256, so a reply's
copy of a file the ticket already holds is not sent again) and those skipped with the reason,
shown on the Service desk page rather than only logged. Null for mails handled before.

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-02 04:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_desk_mails", schema=None) as batch_op:
        batch_op.add_column(sa.Column("files", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("service_desk_mails", schema=None) as batch_op:
        batch_op.drop_column("files")
