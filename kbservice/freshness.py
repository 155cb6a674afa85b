"""Cheap per-request checks of what the process-wide caches were built from.

Every read asks "has anything changed since the cache was built?" before answering
from memory, so these two statements run on every request. They are compiled once
and run on a raw pooled DBAPI connection: ≈ 10 µs on SQLite, against ≈ 60 µs through
a SQLAlchemy Core connection and ≈ 125 µs through an ORM session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

from .models import Article, Product, Revision


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


def _catalog_columns() -> tuple[Any, Any]:
    return (
        select(func.count()).select_from(Product).scalar_subquery(),
        select(func.max(Product.updated_at)).scalar_subquery(),
    )


def _latest_revision() -> Any:
    return select(func.max(Revision.id)).scalar_subquery()


class _Prepared:
    """One statement compiled for the engine's driver, run without SQLAlchemy's layers."""

    def __init__(self, engine: Engine, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._sql = compiled.string
        self._names = compiled.positiontup if compiled.positional else None

    def first(self, **values: Any) -> tuple[Any, ...] | None:
        params: Any = tuple(values[n] for n in self._names) if self._names is not None else values
        error = self._engine.dialect.loaded_dbapi.Error
        try:
            connection = self._engine.raw_connection()
        except error as exc:
            raise self._wrapped(exc, params) from exc
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._sql, params)
                return cursor.fetchone()  # type: ignore[no-any-return]
            finally:
                cursor.close()
        except error as exc:
            if self._engine.dialect.is_disconnect(exc, connection.dbapi_connection, None):
                connection.invalidate(exc)
            raise self._wrapped(exc, params) from exc
        finally:
            connection.close()

    def _wrapped(self, exc: Exception, params: Any) -> DBAPIError:
        # What SQLAlchemy would raise, so the 503 handler treats both paths alike.
        return DBAPIError.instance(self._sql, params, exc, self._engine.dialect.loaded_dbapi.Error)


class StampReader:
    """Reads Stamps, and an article's current revision id, in one round trip each."""

    def __init__(self, engine: Engine) -> None:
        self._stamps = _Prepared(engine, select(_latest_revision(), *_catalog_columns()))
        self._article = _Prepared(
            engine,
            select(Revision.id, Article.source_locale, _latest_revision(), *_catalog_columns())
            .join(
                Article, (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq)
            )
            .where(Article.kb == bindparam("kb")),
        )

    def stamps(self) -> Stamps:
        """The current stamps."""
        row = self._stamps.first()
        assert row is not None  # an aggregate without GROUP BY always returns one row
        return Stamps(row[0] or 0, (row[1], row[2]))

    def article(self, kb: str) -> CurrentArticle | None:
        """Article `kb` (a normalized number): its current revision, and the stamps."""
        row = self._article.first(kb=kb)
        if row is None:
            return None
        return CurrentArticle(row[0], row[1], Stamps(row[2] or 0, (row[3], row[4])))
