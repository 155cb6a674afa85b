"""Per-process caches of search answers, checked against the index on every search.

Each process keeps, per database engine, whole result pages (keyed by the parsed query,
filters, locale and page), all under the *index stamp*: the highest revision id in
`search_documents`, read on every search with one index lookup. So every worker process
sees at once that an article was (re)indexed:

- indexing a new article or revision writes its (new, highest) revision id, in the
  transaction that adds the revision, and revision ids become visible in the order they
  were allocated (SQLite writers take turns; on PostgreSQL `db.serialize_revision_writes`
  makes them), so every commit that changes the index moves the stamp;
- rebuilding the index from the same revisions writes the same rows, and from an empty
  index (after the migration) moves the stamp from nothing to the highest id;
- articles are never deleted (if they ever are, the stamp must also count documents).

A session with uncommitted writes sees the index as nobody else does (and on SQLite a
rolled-back revision id is given to the next revision again): it neither reads nor fills
the caches.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..articles.reading import ArticlePage
from ..fulltext.models import SearchDocument
from ..storage.db import SQLITE_CHANGES_AT_BEGIN
from ..storage.lru import LRU
from ..storage.readers import ThreadReaders

MAX_PAGES = 256

_documents = SearchDocument.__table__
_STAMP = select(func.max(_documents.c.revision_id))
# On PostgreSQL the same round trip tells whether this transaction has written.
_STAMP_POSTGRESQL = select(
    func.max(_documents.c.revision_id), func.pg_current_xact_id_if_assigned().is_not(None)
)


class EngineCache:
    """What one process remembers about the index of one database."""

    def __init__(self, stamp_sql: str) -> None:
        # The stamp's statement, compiled for the engine's driver.
        self.stamp_sql = stamp_sql
        self.pages: LRU[tuple[Any, ...], ArticlePage] = LRU(MAX_PAGES)
        self.stamp: Any = None

    def adopt(self, stamp: Any) -> None:
        """Forget everything older than `stamp` (entries are keyed by stamp anyway)."""
        if stamp != self.stamp:
            self.pages.clear()
            self.stamp = stamp

    def clear(self) -> None:
        self.adopt(object())


class CacheView:
    """The caches as one search may use them: at the stamp it read."""

    def __init__(self, cache: EngineCache, stamp: Any) -> None:
        self._cache = cache
        self._stamp = stamp

    def page(self, key: tuple[Any, ...]) -> ArticlePage | None:
        """A cached answer, as a page of its own (callers may change the list)."""
        page = self._cache.pages.get((self._stamp, *key))
        return replace(page, items=list(page.items)) if page else None

    def keep_page(self, key: tuple[Any, ...], page: ArticlePage) -> None:
        self._cache.pages.put((self._stamp, *key), replace(page, items=list(page.items)))


_caches: weakref.WeakKeyDictionary[Engine, EngineCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def open_cache(session: Session) -> CacheView | None:
    """The caches at the current index stamp; None if this session must not use them."""
    connection = session.connection()
    cache = _engine_cache(connection.engine)
    if connection.dialect.name == "postgresql":
        stamp, wrote = _fetch_one(connection, cache.stamp_sql)
    else:
        (stamp,) = _fetch_one(connection, cache.stamp_sql)
        wrote = _sqlite_wrote(connection)
    if wrote:
        return None
    cache.adopt(stamp)
    return CacheView(cache, stamp)


def open_cache_for_reads(readers: ThreadReaders) -> CacheView:
    """The caches at the current index stamp, for a search that never writes.

    The stamp is read on the thread's autocommit reader connection (readers.ThreadReaders),
    so a cached answer needs no session, no pooled connection and, on PostgreSQL, no
    BEGIN/ROLLBACK round trips. The search's own session, opened only on a miss, starts
    after the stamp was read and so sees at least what the stamp stands for.
    """
    (stamp,) = readers.remembered(_STAMP).get() or (None,)
    cache = _engine_cache(readers.engine)
    cache.adopt(stamp)
    return CacheView(cache, stamp)


def _fetch_one(connection: Connection, sql: str) -> Any:
    """The row of `sql`, on the session's DBAPI connection, in its transaction.

    Every search runs this, and SQLAlchemy's layers cost more than the statement (on
    psycopg ≈ 130 µs of CPU against ≈ 50 µs), so it goes to the driver directly; errors
    are raised as SQLAlchemy would raise them.
    """
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    error = connection.dialect.loaded_dbapi.Error
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(sql)
            return cursor.fetchone()
        finally:
            cursor.close()
    except error as exc:
        if connection.dialect.is_disconnect(exc, dbapi_connection, None):
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, error) from exc


def _engine_cache(engine: Engine) -> EngineCache:
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            postgresql = engine.dialect.name == "postgresql"
            statement = _STAMP_POSTGRESQL if postgresql else _STAMP
            cache = _caches[engine] = EngineCache(str(statement.compile(dialect=engine.dialect)))
        return cache


def _sqlite_wrote(connection: Connection) -> bool:
    """True if the transaction changed rows (or began before the cache could tell)."""
    at_begin = connection.info.get(SQLITE_CHANGES_AT_BEGIN)
    return at_begin != connection.connection.dbapi_connection.total_changes  # type: ignore[union-attr]
