"""stored per-article verdict counts, filled from the existing system_verdicts rows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "article_verdict_counts",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("systems", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_verdict_counts_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "verdict", name=op.f("pk_article_verdict_counts")),
    )
    # Writers keep the counts from now on; this migration counts what is already stored.
    op.execute(
        "INSERT INTO article_verdict_counts (article_id, verdict, systems) "
        "SELECT article_id, verdict, count(*) FROM system_verdicts GROUP BY article_id, verdict"
    )


def downgrade() -> None:
    op.drop_table("article_verdict_counts")
