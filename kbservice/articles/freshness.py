"""Cheap per-request checks of what the process-wide caches were built from.

Every read asks "has anything changed since the cache was built?" before answering
from memory, so these two statements run on every request. They are compiled once and
run on a raw cursor of the thread's autocommit reader connection (readers.ThreadReaders):
about 10 µs on SQLite, against about 60 µs through a pooled SQLAlchemy Core connection,
and on PostgreSQL one round trip instead of three (no BEGIN, no ROLLBACK on check-in).

An article lookup can also bring the current revision's rows: a first view of an
article costs one round trip, not two. Lookups that expect to find the rendering in
the cache leave them out, as the extra joins cost the database more than the rows are
worth on a hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.types import NullType

from ..storage.models import Article, Product, Revision, RevisionText
from ..storage.readers import Row, ThreadReaders
from .reading import LOCALIZED_REVISION_COLUMNS, localized_columns


@dataclass(frozen=True, slots=True)
class Stamps:
    """What the caches depend on, as opaque values compared for equality."""

    # Revisions are append-only and their ids commit in order
    # (db.serialize_revision_writes), so the highest id says whether any was added.
    revision: int
    # Products are updated in place: their number and latest update time.
    catalog: tuple[Any, Any]


@dataclass(frozen=True, slots=True)
class CurrentArticle:
    """An article's current revision id and source locale, read with the stamps."""

    revision_id: int
    source_locale: str
    stamps: Stamps
    # The current revision's rows (reading.localized_columns), when the lookup was asked
    # to bring them.
    rows: list[Row] | None = None


def _catalog_columns() -> tuple[Any, Any]:
    return (
        select(func.count()).select_from(Product).scalar_subquery(),
        # Untyped: the stamp is only compared, so the driver's value will do, and the
        # per-request conversion to an aware datetime is saved.
        select(func.max(Product.updated_at, type_=NullType())).scalar_subquery(),
    )


_LATEST_REVISION = select(func.max(Revision.id)).scalar_subquery()
_STAMPS = select(_LATEST_REVISION, *_catalog_columns())
_ARTICLE = (
    select(Revision.id, Article.source_locale, _LATEST_REVISION, *_catalog_columns())
    .join(Article, (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq))
    .where(Article.kb == bindparam("kb"))
)
# The same, one row per text, with the columns reading.localized_from_rows reads.
_ARTICLE_WITH_ROWS = _ARTICLE.add_columns(
    *localized_columns(Revision.__table__, RevisionText.__table__)
).join(RevisionText, RevisionText.revision_id == Revision.id)
_ROWS_AT = len(_ARTICLE.selected_columns)


class StampReader:
    """Reads Stamps, and an article's current revision id, in one round trip each."""

    def __init__(self, readers: ThreadReaders) -> None:
        self._stamps = readers.remembered(_STAMPS)
        # With change signals the stamps are remembered, and an article's current
        # revision is better read from the rule index than from the database.
        self.signalled = readers.changes is not None
        self._article = readers.prepare(_ARTICLE)
        self._article_with_rows = readers.prepare(_ARTICLE_WITH_ROWS)

    def stamps(self) -> Stamps:
        """The current stamps."""
        row = self._stamps.get()
        assert row is not None  # an aggregate without GROUP BY always returns one row
        return Stamps(row[0] or 0, (row[1], row[2]))

    def article(self, kb: str, *, with_rows: bool = False) -> CurrentArticle | None:
        """Article `kb` (a normalized number): its current revision, and the stamps.

        With `with_rows`, the current revision's rows come along.
        """
        if with_rows:
            rows = self._article_with_rows.all_sharing(_ROWS_AT + LOCALIZED_REVISION_COLUMNS, kb=kb)
        else:
            rows = self._article.all(kb=kb)
        if not rows:
            return None
        row = rows[0]
        stamps = Stamps(row[2] or 0, (row[3], row[4]))
        texts = [text[_ROWS_AT:] for text in rows] if with_rows else None
        return CurrentArticle(row[0], row[1], stamps, texts)
