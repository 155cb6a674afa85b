"""SELECTs compiled once and run on a raw cursor of a thread's reader connection.

For the few statements every request runs, SQLAlchemy's per-execution work (statement
cache lookup, context and result objects) costs several times the query itself. A
`Prepared` statement keeps what that work produces — the driver's SQL, its parameter
order and each column's result processor (JSON, UTC datetimes) — and applies it
directly, so the rows are the same as Core would return.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select

if TYPE_CHECKING:
    from .db import ThreadReaders

Row = tuple[Any, ...]


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
        self._processors = processors if any(processors) else None

    def first(self, **values: Any) -> Row | None:
        """The first row, or None."""
        rows = self._run(values, many=False)
        return rows[0] if rows else None

    def all(self, **values: Any) -> list[Row]:
        """Every row."""
        return self._run(values, many=True)

    def _run(self, values: dict[str, Any], *, many: bool) -> list[Row]:
        params = tuple(values[n] for n in self._names) if self._names is not None else values
        try:
            rows = self._fetch(params, many=many)
        except _Disconnected:
            # A connection kept for a long time may have been closed by the server (a
            # restart, an idle timeout); a read is safe to repeat on a new one, once.
            rows = self._fetch(params, many=many, retry=False)
        if self._processors is None:
            return rows
        return [self._process(row) for row in rows]

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

    def _process(self, row: Row) -> Row:
        assert self._processors is not None
        return tuple(
            value if process is None or value is None else process(value)
            for process, value in zip(self._processors, row, strict=True)
        )
