"""search document ids carry the article id and a locale slot (search_locales)

A document's id becomes `article_id << 8 | slot` (kbservice.fulltext.indexer.document_id),
so SQLite ranks and counts on FTS5 alone. The ids already in the index do not follow it:
the index is emptied, and `kbservice search reindex` fills it again (docs/search.md).
On PostgreSQL the id becomes a bigint.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "search_locales",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_search_locales")),
        sa.UniqueConstraint("locale", name=op.f("uq_search_locales_locale")),
    )
    # Derived data, keyed the old way: emptied for `kbservice search reindex`.
    if not postgres:
        op.execute("INSERT INTO search_fts(search_fts) VALUES ('delete-all')")
    op.execute("DELETE FROM search_documents")
    if postgres:
        op.execute("ALTER TABLE search_documents ALTER COLUMN id DROP DEFAULT")
        op.execute("DROP SEQUENCE IF EXISTS search_documents_id_seq")
        op.execute("ALTER TABLE search_documents ALTER COLUMN id TYPE bigint")


def downgrade() -> None:
    """The ids stay as they are: the previous code reads any id (FTS5 rowid = id)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE SEQUENCE search_documents_id_seq OWNED BY search_documents.id")
        op.execute(
            "SELECT setval('search_documents_id_seq', "
            "(SELECT coalesce(max(id), 0) + 1 FROM search_documents), false)"
        )
        op.execute(
            "ALTER TABLE search_documents ALTER COLUMN id "
            "SET DEFAULT nextval('search_documents_id_seq')"
        )
    op.drop_table("search_locales")
