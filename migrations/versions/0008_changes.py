"""change feed: every published revision's position in publication order; as-of index

`GET /api/v1/changes` reads this table (kbservice/articles/feed.py). Existing revisions
are placed by their id: revision ids were already allocated and made visible one writer
at a time (storage.db.serialize_revision_writes), so id order is publication order.
Revisions get an index on their creation time, for the revision current at an instant
(`as_of`).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-04 19:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_entries",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["revisions.id"],
            name=op.f("fk_feed_entries_revision_id_revisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_feed_entries")),
        sa.UniqueConstraint("revision_id", name=op.f("uq_feed_entries_revision_id")),
    )
    op.execute(
        "INSERT INTO feed_entries (position, revision_id, kind) "
        "SELECT id, id, CASE WHEN seq = 1 THEN 'created' ELSE 'revised' END FROM revisions"
    )
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revisions_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revisions_created_at"))
    op.drop_table("feed_entries")
