"""rule examples: named systems with the verdict each revision's rules must give them

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-04 19:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        # Existing revisions have no examples; the default fills them in on both engines.
        batch_op.add_column(
            sa.Column("examples", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        batch_op.drop_column("examples")
