"""mail_source_token_cache: a Microsoft 365 source signed in for a delegated mailbox keeps
msal's token cache (its refresh token) encrypted at rest (issue 16, item 6)

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-02 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mail_sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_cache", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mail_sources", schema=None) as batch_op:
        batch_op.drop_column("token_cache")
