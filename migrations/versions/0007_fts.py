"""search on the engines' own full-text indexes (FTS5, tsvector + GIN)

Replaces the home-made inverted index (search_postings and the old search_documents) by
one row per article and locale, with the terms in each engine's own index: a GIN-indexed
`tsvector` column on PostgreSQL, a contentless FTS5 table on SQLite. The index starts
empty: run `kbservice search reindex` after upgrading (docs/search.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept literal, as a migration must not change with the code (kbservice.fulltext.engines).
FTS_CREATE = (
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "title, body, content='', detail=full, tokenize='ascii')"
)
# Migration 0005's change signal, for the new table (PostgreSQL).
NOTIFY_TRIGGER = (
    "CREATE TRIGGER kbservice_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    "ON search_documents FOR EACH STATEMENT EXECUTE FUNCTION kbservice_notify_change()"
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # The old tables (migration 0003); their rows are derived data.
    op.drop_table("search_postings")
    op.drop_table("search_documents")
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("kb", sa.String(length=16), nullable=False),
        sa.Column("terms", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_search_documents_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["revisions.id"],
            name=op.f("fk_search_documents_revision_id_revisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint(
            "article_id", "locale", name=op.f("uq_search_documents_article_id_locale")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_search_documents_revision_id"), ["revision_id"], unique=False
        )
        batch_op.create_index(
            "ix_search_documents_terms", ["terms"], unique=False, postgresql_using="gin"
        )
    # Each engine's own full-text index: the one place the schemas differ by design.
    if postgres:
        op.execute(NOTIFY_TRIGGER)
    else:
        op.execute(FTS_CREATE)


def downgrade() -> None:
    """Back to migration 0003's empty tables (the old code then needs a reindex too)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if not postgres:
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_documents")
    op.create_table(
        "search_postings",
        sa.Column(
            "term",
            sa.String(length=64).with_variant(sa.String(length=64, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("kb", sa.String(length=16), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("title_length", sa.Integer(), nullable=False),
        sa.Column("body_length", sa.Integer(), nullable=False),
        sa.Column("title_positions", sa.Text(), nullable=False),
        sa.Column("body_positions", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_search_postings_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("term", "article_id", "locale", name=op.f("pk_search_postings")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_search_postings_article_id"), "search_postings", ["article_id"], unique=False
    )
    op.create_table(
        "search_documents",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_search_documents_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["revisions.id"],
            name=op.f("fk_search_documents_revision_id_revisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "locale", name=op.f("pk_search_documents")),
    )
    op.create_index(
        op.f("ix_search_documents_revision_id"), "search_documents", ["revision_id"], unique=False
    )
    if postgres:
        op.execute(NOTIFY_TRIGGER)
