"""Hot point reads: a thread's own autocommit connection, and SELECTs compiled once for it.

For the few statements every request runs, the pool's check-out (and on PostgreSQL
the BEGIN and ROLLBACK round trips) and SQLAlchemy's per-execution work (statement
cache lookup, context and result objects) cost several times the query itself.
`ThreadReaders` keeps one autocommit connection per thread out of the pool; a
`Prepared` statement keeps what Core's work produces — the driver's SQL, its parameter
order and each column's result processor (JSON, UTC datetimes) — and applies it
directly on that connection's raw cursor, so the rows are the same as Core would return.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

from .changes import Changes, Remembered

Row = tuple[Any, ...]


class ThreadReaders:
    """One autocommit connection per thread, kept out of the pool, for hot point reads.

    The reads every request makes (cache stamps, an article's current revision, its
    rows on a cache miss) need no transaction: they read immutable or single rows. A
    connection of its own saves each of them the pool's check-out and check-in, and
    on PostgreSQL the BEGIN and ROLLBACK round trips. A connection that fails is
    dropped and the next use opens a new one. Connections belong to the process that
    opened them: `close` them before forking; a forked child opens its own.
    """

    def __init__(self, engine: Engine, changes: Changes | None = None) -> None:
        self.engine = engine
        # Signals that let remembered reads skip the database (changes.py); None: ask.
        self.changes = changes
        self._local = threading.local()
        self._opened: list[Connection] = []
        self._lock = threading.Lock()
        self._prepared: dict[int, Prepared] = {}
        self._remembered: dict[int, Remembered[Row | None]] = {}

    def prepare(self, statement: Select[Any]) -> Prepared:
        """`statement` compiled once for this engine, to run on raw cursors (`Prepared`).

        Meant for statements built once (module constants): they are cached by identity.
        """
        prepared = self._prepared.get(id(statement))
        if prepared is None:
            prepared = self._prepared.setdefault(id(statement), Prepared(self, statement))
        return prepared

    def remembered(self, statement: Select[Any]) -> Remembered[Row | None]:
        """`statement`'s first row, read again only when a change may have happened.

        Without change signals every `get` reads it. Like `prepare`, for module constants.
        """
        remembered = self._remembered.get(id(statement))
        if remembered is None:
            prepared = self.prepare(statement)
            remembered = self._remembered.setdefault(
                id(statement), Remembered(prepared.first, self.changes)
            )
        return remembered

    def dbapi(self) -> tuple[Connection, Any]:
        """This thread's connection and the DBAPI connection under it, for raw cursors.

        The caller must call `drop` when a DBAPI error escapes a raw cursor.
        """
        connection = self._current()
        return connection, connection.connection.dbapi_connection

    def close(self) -> None:
        """Close every thread's connection (before a fork, at shutdown)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            with contextlib.suppress(Exception):
                connection.close()
        self._local = threading.local()

    def drop(self, connection: Connection) -> None:
        """Forget and close `connection` after an error; the next use opens a new one."""
        if getattr(self._local, "connection", None) is connection:
            self._local.pid = None
        with self._lock:
            if connection in self._opened:
                self._opened.remove(connection)
        with contextlib.suppress(Exception):
            connection.close()

    def _current(self) -> Connection:
        local = self._local
        if getattr(local, "pid", None) == os.getpid():
            return local.connection
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection.detach()
        local.connection, local.pid = connection, os.getpid()
        with self._lock:
            self._opened.append(connection)
        return connection


class _Disconnected(Exception):
    """The reader connection was found closed; the statement may be run again."""


class Prepared:
    """One SELECT compiled for the driver of `readers`, run on their connections.

    Get one with `ThreadReaders.prepare`, which compiles each statement once.
    """

    def __init__(self, readers: ThreadReaders, statement: Select[Any]) -> None:
        self._readers = readers
        dialect = readers.engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self._names = compiled.positiontup if compiled.positional else None
        processors: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        ]
        # (column index, processor) of the columns that have one: most have none.
        self._processors = [(i, p) for i, p in enumerate(processors) if p is not None]

    def first(self, **values: Any) -> Row | None:
        """The first row, or None."""
        rows = self._run(values, many=False)
        return rows[0] if rows else None

    def all(self, **values: Any) -> list[Row]:
        """Every row."""
        return self._run(values, many=True)

    def all_sharing(self, prefix: int, **values: Any) -> list[Row]:
        """Every row of a join whose first `prefix` columns repeat one parent row.

        Those columns (JSON, say) are processed once, from the first row, and every
        row carries the first row's values.
        """
        return self._run(values, many=True, shared=prefix)

    def _run(self, values: dict[str, Any], *, many: bool, shared: int = 0) -> list[Row]:
        params = tuple(values[n] for n in self._names) if self._names is not None else values
        try:
            rows = self._fetch(params, many=many)
        except _Disconnected:
            # A connection kept for a long time may have been closed by the server (a
            # restart, an idle timeout); a read is safe to repeat on a new one, once.
            rows = self._fetch(params, many=many, retry=False)
        if not self._processors or not rows:
            return rows
        first = self._process(rows[0], self._processors)
        if not shared:
            return [first, *(self._process(row, self._processors) for row in rows[1:])]
        parent = first[:shared]
        rest = [(i, p) for i, p in self._processors if i >= shared]
        return [first, *(parent + self._process(row, rest)[shared:] for row in rows[1:])]

    def _fetch(self, params: Any, *, many: bool, retry: bool = True) -> list[Row]:
        readers = self._readers
        dialect = readers.engine.dialect
        error = dialect.loaded_dbapi.Error
        connection, dbapi = readers.dbapi()
        try:
            cursor = dbapi.cursor()
            try:
                cursor.execute(self.sql, params)
                return cursor.fetchall() if many else cursor.fetchmany(1)  # type: ignore[no-any-return]
            finally:
                cursor.close()
        except error as exc:
            readers.drop(connection)
            if retry and dialect.is_disconnect(exc, dbapi, None):
                raise _Disconnected from exc
            # What SQLAlchemy would raise, so the 503 handler treats both paths alike.
            raise DBAPIError.instance(self.sql, params, exc, error) from exc

    @staticmethod
    def _process(row: Row, processors: list[tuple[int, Callable[[Any], Any]]]) -> Row:
        values = list(row)
        for i, process in processors:
            value = values[i]
            if value is not None:
                values[i] = process(value)
        return tuple(values)
