"""The search index's table: one row per article and locale, the engine's index beside it.

The terms themselves live in each engine's own full-text index: on PostgreSQL the
`terms` column (a `tsvector`, GIN-indexed); on SQLite the FTS5 table `search_fts`
(contentless, rowid = `search_documents.id`), created by migration 0007 and written by
kbservice.fulltext.engines. A document's id carries its article id and its locale's slot
(`search_locales`, kbservice.fulltext.indexer.document_id), so that SQLite ranks and
counts on FTS5 alone. It is derived data: `kbservice search reindex` rebuilds it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from ..storage.db import Base

# The name migrations and bulk builds use for the GIN index (PostgreSQL).
TERMS_INDEX = "ix_search_documents_terms"
# SQLite keeps the terms in FTS5 instead: the column stays NULL there.
terms_type = Text().with_variant(TSVECTOR(), "postgresql")


class SearchDocument(Base):
    """One article in one locale, as indexed: which revision, its KB number, its terms."""

    __tablename__ = "search_documents"
    __table_args__: ClassVar[Any] = (
        UniqueConstraint("article_id", "locale"),
        Index(TERMS_INDEX, "terms", postgresql_using="gin"),
        # Ids are assigned by indexer.document_id, never by the table (AUTOINCREMENT stays
        # from migration 0007).
        {"sqlite_autoincrement": True},
    )

    # 64 bits (indexer.document_id); on SQLite INTEGER, the rowid itself.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(16))
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("revisions.id", ondelete="CASCADE"), index=True
    )
    # Copied from the article so that ranking reads no other table.
    kb: Mapped[str] = mapped_column(String(16))
    terms: Mapped[str | None] = mapped_column(terms_type)


class SearchLocale(Base):
    """A locale's slot: the low bits of the ids of its documents."""

    __tablename__ = "search_locales"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    locale: Mapped[str] = mapped_column(String(16), unique=True)
