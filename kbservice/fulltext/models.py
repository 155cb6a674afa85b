"""The search index tables: one document per article and locale, postings per term.

Plain B-tree tables, so the index behaves identically on SQLite and PostgreSQL. It is
derived data: `kbservice search reindex` rebuilds it from the articles' current revisions.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..storage.db import Base
from .tokenizer import MAX_TERM_LENGTH

# Terms compare by code point on both engines (SQLite's BINARY is that already), so that
# a prefix is a range of the primary key whatever the PostgreSQL database's locale.
term_type = String(MAX_TERM_LENGTH).with_variant(
    String(MAX_TERM_LENGTH, collation="C"), "postgresql"
)


class SearchDocument(Base):
    """One article in one locale, as indexed: which revision, for checks and statistics."""

    __tablename__ = "search_documents"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(16), primary_key=True)
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("revisions.id", ondelete="CASCADE"), index=True
    )


class SearchPosting(Base):
    """Where one term occurs in one document: its weight and its positions per field.

    A posting repeats the few document fields that ranking needs (KB number, lengths), so
    that a query reads the postings of its terms and nothing else.
    """

    __tablename__ = "search_postings"
    # SQLite then stores rows in primary-key order: a term's postings lie side by side.
    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_with_rowid": False}

    term: Mapped[str] = mapped_column(term_type, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    locale: Mapped[str] = mapped_column(String(16), primary_key=True)
    kb: Mapped[str] = mapped_column(String(16))
    # The term's BM25 weight in this document (kbservice.fulltext.ranking.impact).
    impact: Mapped[int] = mapped_column(Integer)
    # Token counts of the document's fields, to weigh phrases found on positions.
    title_length: Mapped[int] = mapped_column(Integer)
    body_length: Mapped[int] = mapped_column(Integer)
    # Token positions, space-separated ascending integers ("" when the term is absent).
    title_positions: Mapped[str] = mapped_column(Text)
    body_positions: Mapped[str] = mapped_column(Text)
