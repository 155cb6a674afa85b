"""Backup and restore: the whole database as a portable JSON-lines file (docs/operations.md).

The file is canonical: exporting the same data gives the same bytes on SQLite and on
PostgreSQL, so `export → import → export` reproduces the file exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import groupby, islice
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Integer,
    String,
    Table,
    func,
    insert,
    inspect,
    select,
    sql,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..contract.jsonin import UnsafeJSON, load_json
from ..fulltext import IndexReport, rebuild_index
from ..fulltext.engines import is_fts_table
from ..fulltext.models import SearchDocument, SearchLocale
from ..storage.db import Base, UTCDateTime, serialize_revision_writes
from ..storage.migrate import MIGRATIONS_DIR
from ..storage.models import WebSession
from ..systems.counts import recount
from ..systems.models import ArticleVerdictCount
from .checks import Errors, Limits, RowChecks

FORMAT = "kbservice-export"
VERSION = 1
# Rows per executemany on import and per fetch on export: memory stays flat.
BATCH_SIZE = 1000
# Derived from other tables; rebuilt after an import instead of being copied: the
# search index (documents and locale slots) from the articles, the verdict counts from
# the verdicts (never trusted from a file, so a restored count cannot disagree with the
# restored rows).
DERIVED_TABLES = frozenset(
    {
        SearchDocument.__tablename__,
        SearchLocale.__tablename__,
        ArticleVerdictCount.__tablename__,
    }
)
# Signed-in browsers belong to the server that signed them in: a restored copy
# elsewhere must not accept their cookies.
LEFT_OUT_TABLES = DERIVED_TABLES | {WebSession.__tablename__}

Progress = Callable[[int], None]
Encode = Callable[[Any], Any]
Decode = Callable[[Any], Any]

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BackupError(Exception):
    """An export or import that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class Header:
    """The first line of an export: format, schema revision and rows per table."""

    schema: str
    rows: dict[str, int]

    @property
    def total_rows(self) -> int:
        """Rows in the file."""
        return sum(self.rows.values())


@dataclass(frozen=True)
class ImportReport:
    """What an import wrote: rows per table, and the rebuilt search index."""

    rows: dict[str, int]
    index: IndexReport


def head_revision() -> str:
    """The Alembic head revision of this kbservice: the schema its exports describe."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if head is None:
        raise BackupError("kbservice has no migrations")
    return head


def export_tables() -> list[Table]:
    """Tables that an export holds, parents first (derived tables, sessions left out)."""
    return [table for table in Base.metadata.sorted_tables if table.name not in LEFT_OUT_TABLES]


class Exporter:
    """A consistent snapshot of one database, written as JSON lines.

    Construct it on a new session: it fixes the snapshot, checks the schema and counts
    the rows (for the header and a progress bar) before anything is written.
    """

    def __init__(self, session: Session) -> None:
        # Counts, header and rows must all come from one snapshot. SQLite in WAL mode
        # reads from one snapshot per transaction anyway; PostgreSQL needs REPEATABLE READ.
        options = (
            {"isolation_level": "REPEATABLE READ"} if _dialect(session) == "postgresql" else {}
        )
        connection = session.connection(execution_options=options)
        self._session = session
        schema = _require_head_schema(session)
        self._tables = export_tables()
        known = {table.name for table in Base.metadata.sorted_tables} | {"alembic_version"}
        unknown = sorted(
            name
            for name in set(inspect(connection).get_table_names()) - known
            if not is_fts_table(name)
        )
        if unknown:
            # Better no backup than one that silently leaves data behind.
            raise BackupError(
                f"Table(s) {', '.join(unknown)} are unknown to this kbservice and would be "
                "missing from the export."
            )
        rows = {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in self._tables
        }
        self.header = Header(schema=schema, rows=rows)

    def write(self, out: IO[bytes], *, progress: Progress | None = None) -> dict[str, int]:
        """Write the header and every row to `out`; returns rows per table."""
        out.write(_line(_header_object(self.header)))
        for table in self._tables:
            encoders = [(column.name, _codec(column)[0]) for column in _sorted_columns(table)]
            written = 0
            for batch in self._batches(table):
                out.writelines(
                    _line(
                        {"row": {n: encode(row[n]) for n, encode in encoders}, "table": table.name}
                    )
                    for row in batch
                )
                written += len(batch)
                if progress is not None:
                    progress(len(batch))
            if written != self.header.rows[table.name]:
                raise BackupError(f"Table {table.name} changed during the export; run it again.")
        return dict(self.header.rows)

    def write_file(self, path: Path, *, progress: Progress | None = None) -> dict[str, int]:
        """Write the export to `path`, atomically; returns rows per table."""
        # A failed export must not leave a half-written file under the backup's name. The
        # temporary file is private (mode 0600): the export holds token hashes.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                rows = self.write(out, progress=progress)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return rows

    def _batches(self, table: Table) -> Iterator[list[Any]]:
        query = select(table).order_by(*_order_by(table, _dialect(self._session)))
        # yield_per streams: a server-side cursor on PostgreSQL, fetchmany on SQLite.
        result = self._session.execute(query, execution_options={"yield_per": BATCH_SIZE})
        for partition in result.mappings().partitions():
            yield list(partition)


class Importer:
    """An export file being read into an empty database.

    Construct it on the open file: the header is read and checked before the database is
    touched, so a wrong file never changes the target. Every row is checked as the API
    checks what it stores, within `limits` (backup_checks.py).
    """

    def __init__(self, stream: IO[bytes], limits: Limits) -> None:
        self._stream = stream
        self._limits = limits
        self._checks = RowChecks(limits)
        self.header = _parse_header(stream.readline(), limits.max_json_depth)
        tables = export_tables()
        self._tables = {table.name: table for table in tables}
        self._order = [table.name for table in tables]
        self._decoders = {table.name: _decoders(table) for table in tables}

    @property
    def total_steps(self) -> int:
        """Progress units of `load_into`: every row, then every article indexed."""
        return self.header.total_rows + self.header.rows["articles"]

    def load_into(
        self, session: Session, *, progress: Progress | None = None, jobs: int = 1
    ) -> ImportReport:
        """Insert every row into the empty database of `session`, then rebuild the search index.

        All in the caller's transaction: on any error nothing is written. `progress(n)` is
        told of every n rows inserted and articles indexed.
        """
        serialize_revision_writes(session)  # revisions arrive with their ids (see db.py)
        ensure_empty(session)
        counts = dict.fromkeys(self._order, 0)
        for table, first_line, rows in self._batches(counts):
            _insert(session, table, rows, first_line)
            if progress is not None:
                progress(len(rows))
        short = [
            f"{name}: {counts[name]} of {n}"
            for name, n in self.header.rows.items()
            if counts[name] < n
        ]
        if short:
            raise BackupError(f"The file is truncated: rows are missing ({', '.join(short)}).")
        if waited := self._checks.finish():
            raise BackupError(_refusal(waited[0], "drafts", waited[1]))
        if _dialect(session) == "postgresql":
            _reset_sequences(session, self._tables.values())
        recount(session)
        index = rebuild_index(session, progress=progress, jobs=jobs)
        return ImportReport(rows=counts, index=index)

    def _batches(self, counts: dict[str, int]) -> Iterator[tuple[Table, int, list[dict[str, Any]]]]:
        """Consecutive rows of one table, BATCH_SIZE at most, with the first one's line number."""
        for name, group in groupby(self._rows(counts), key=itemgetter(1)):
            while chunk := list(islice(group, BATCH_SIZE)):
                yield self._tables[name], chunk[0][0], [row for _, _, row in chunk]

    def _rows(self, counts: dict[str, int]) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """(line number, table, decoded row) of every row line, checked and counted."""
        position = 0
        for number, raw in enumerate(self._stream, start=2):
            if not raw.endswith(b"\n"):
                raise BackupError(f"Line {number} is incomplete: the file is truncated.")
            item = _parse_json(raw, number, self._limits.max_json_depth)
            if not isinstance(item, dict) or set(item) != {"row", "table"}:
                raise BackupError(f'Line {number}: expected {{"row": {{…}}, "table": …}}.')
            name = item["table"]
            if name not in self._tables:
                raise BackupError(f"Line {number}: unknown table {name!r}.")
            # Parents before children, as exported: foreign keys hold at every insert.
            if self._order.index(name) < position:
                raise BackupError(
                    f"Line {number}: {name} rows must come before {self._order[position]} rows."
                )
            position = self._order.index(name)
            counts[name] += 1
            if counts[name] > self.header.rows[name]:
                raise BackupError(
                    f"Line {number}: more {name} rows than the header announces "
                    f"({self.header.rows[name]})."
                )
            row = _decode_row(name, self._decoders[name], item["row"], number)
            if problems := self._checks.check(name, row, number):
                raise BackupError(_refusal(number, name, problems))
            yield number, name, row


def ensure_empty(session: Session) -> None:
    """Raise unless the database is at this kbservice's schema and holds no rows at all."""
    _require_head_schema(session)
    # FTS5's shadow tables hold its settings even when empty; search_documents tells.
    names = sorted(
        name
        for name in set(inspect(session.connection()).get_table_names()) - {"alembic_version"}
        if not is_fts_table(name)
    )
    filled = [
        name for name in names if session.scalar(select(func.count()).select_from(sql.table(name)))
    ]
    if filled:
        raise BackupError(
            f"The target database is not empty ({', '.join(filled)} have rows): "
            "import only into a new database."
        )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _require_head_schema(session: Session) -> str:
    """The database's schema revision; BackupError unless it is this kbservice's head."""
    schema = None
    if inspect(session.connection()).has_table("alembic_version"):
        version = sql.table("alembic_version", sql.column("version_num"))
        schema = session.scalar(select(version.c.version_num))
    expected = head_revision()
    if schema != expected:
        raise BackupError(
            f"The database is at schema {schema or 'none'}, this kbservice expects "
            f"{expected}: run `kbservice db upgrade` on it first."
        )
    return expected


def _line(item: dict[str, Any]) -> bytes:
    # Keys are placed in sorted order by the caller; JSON column values keep their stored
    # order, which the API returns as it is. allow_nan=False: the file stays strict JSON.
    return (
        json.dumps(item, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
    ).encode("utf-8")


def _header_object(header: Header) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "rows": dict(sorted(header.rows.items())),
        "schema": header.schema,
        "version": VERSION,
    }


def _parse_header(raw: bytes, max_depth: int) -> Header:
    if not raw:
        raise BackupError("The file is empty.")
    item = _parse_json(raw, 1, max_depth)
    if not isinstance(item, dict) or item.get("format") != FORMAT:
        raise BackupError("Line 1: not a kbservice export (made by `kbservice export`).")
    if item.get("version") != VERSION:
        raise BackupError(
            f"Line 1: export format version {item.get('version')!r}; "
            f"this kbservice reads version {VERSION}."
        )
    expected = head_revision()
    if item.get("schema") != expected:
        raise BackupError(
            f"Line 1: the file was exported at schema {item.get('schema')!r}, this kbservice "
            f"is at {expected!r}: import it with the kbservice version that exported it, "
            "then upgrade that database."
        )
    rows = item.get("rows")
    tables = {table.name for table in export_tables()}
    if (
        not isinstance(rows, dict)
        or set(rows) != tables
        or not all(type(n) is int and n >= 0 for n in rows.values())
    ):
        raise BackupError(f"Line 1: 'rows' must count the rows of {', '.join(sorted(tables))}.")
    return Header(schema=expected, rows=rows)


def _parse_json(raw: bytes, number: int, max_depth: int) -> Any:
    """A line's JSON; its row's values may nest `max_depth` levels (KB_MAX_JSON_DEPTH)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BackupError(f"Line {number} is not UTF-8: {exc.reason}.") from exc
    try:
        # The API's parser: no RecursionError, no NaN, no unpaired surrogate. A row line
        # wraps each value in two objects ({"row": {column: value}}).
        return load_json(raw, max_depth + 2)
    except UnsafeJSON as exc:
        column = _too_deep(text, max_depth + 2)
        if column is None:
            raise BackupError(f"Line {number} is not valid JSON: {exc}.") from exc
        table = _TABLE_AT_END.search(text)
        field = f"{table[1] if table else 'row'}.{column}" if column else "the line"
        raise BackupError(
            f"Line {number}: {field} is nested more than {max_depth} levels deep "
            "(KB_MAX_JSON_DEPTH)."
        ) from exc


# Where a row line names its table: at its end, as `kbservice export` writes it.
_TABLE_AT_END = re.compile(r'"table"\s*:\s*"([a-z_]{1,64})"\s*}\s*$')


def _too_deep(text: str, limit: int) -> str | None:
    """The row column under which `text` nests past `limit` levels ("" outside a row).

    None when it does not. A scan of the text, since the parser gives up on it.
    """
    depth, key, last, start = 0, "", "", 0
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string, last = False, text[start + 1 : index]
        elif char == '"':
            in_string, start = True, index
        elif char == ":" and depth == 2:  # a key of the row object: a column name
            key = last
        elif char in "[{":
            depth += 1
            if depth > limit:
                return key
        elif char in "]}":
            depth -= 1
            key = key if depth >= 2 else ""  # left the row object
    return None


def _refusal(number: int, table: str, problems: Errors) -> str:
    """The message refusing a row: its line, then each field with what the API would say."""
    shown = [
        f"{'.'.join(p for p in (table, path) if p)}: {message}"
        for path, messages in problems.items()
        for message in messages
    ]
    more = f" (+{len(shown) - 3} more)" if len(shown) > 3 else ""
    return f"Line {number}: " + "; ".join(shown[:3]) + more + "."


def _sorted_columns(table: Table) -> list[Column[Any]]:
    return sorted(table.columns, key=lambda column: column.name)


def _order_by(table: Table, dialect: str) -> list[Any]:
    # Text keys in code-point order on both engines: SQLite's BINARY already is; a
    # PostgreSQL database may sort by its locale, so ask for the "C" collation.
    return [
        column.collate("C")
        if dialect == "postgresql" and isinstance(column.type, String)
        else column
        for column in table.primary_key.columns
    ]


def _codec(column: Column[Any]) -> tuple[Encode, Decode]:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return _encode_datetime, _decode_datetime
    if isinstance(kind, Date):
        return _encode_date, _decode_date
    if isinstance(kind, JSON):
        return _same, _same
    if isinstance(kind, Integer):
        return _same, _decode_int
    if isinstance(kind, Boolean):
        return _same, _decode_bool
    if isinstance(kind, String):
        return _same, _decode_str
    raise BackupError(f"Column {column.table.name}.{column.name}: no export format for {kind!r}.")


def _same(value: Any) -> Any:
    return value


def _encode_datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _decode_datetime(value: Any) -> dt.datetime:
    if not isinstance(value, str) or not _DATETIME.match(value):
        raise ValueError("expected a UTC timestamp like 2024-01-31T12:00:00.000000Z")
    return dt.datetime.fromisoformat(value)


def _encode_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _decode_date(value: Any) -> dt.date:
    if not isinstance(value, str) or not _DATE.match(value):
        raise ValueError("expected a date like 2024-01-31")
    return dt.date.fromisoformat(value)


def _decode_int(value: Any) -> int:
    if type(value) is not int:
        raise ValueError("expected an integer")
    return value


def _decode_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _decode_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _decoders(table: Table) -> list[tuple[str, bool, Decode]]:
    """(column, may be null, decode) for each column of `table`."""
    # A JSON column holds JSON null where a Python None was written, even if NOT NULL.
    return [
        (column.name, column.nullable or isinstance(column.type, JSON), _codec(column)[1])
        for column in table.columns
    ]


def _decode_row(
    name: str, decoders: list[tuple[str, bool, Decode]], row: Any, number: int
) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise BackupError(f"Line {number}: the row must be an object.")
    columns = {column for column, _, _ in decoders}
    if set(row) != columns:
        problems = [
            f"{label} {', '.join(sorted(names))}"
            for label, names in (("unknown", set(row) - columns), ("missing", columns - set(row)))
            if names
        ]
        raise BackupError(f"Line {number}: {name} row with {'; '.join(problems)} column(s).")
    decoded: dict[str, Any] = {}
    for column, nullable, decode in decoders:
        value = row[column]
        try:
            if value is None and not nullable:
                raise ValueError("must not be null")
            decoded[column] = None if value is None else decode(value)
        except ValueError as exc:
            raise BackupError(f"Line {number}: {name}.{column} {exc}.") from exc
    return decoded


def _insert(session: Session, table: Table, rows: list[dict[str, Any]], first_line: int) -> None:
    try:
        session.execute(insert(table), rows)
    except DBAPIError as exc:
        last = first_line + len(rows) - 1
        where = f"Line {last}" if last == first_line else f"Lines {first_line}–{last}"
        raise BackupError(
            f"{where}: the database refused the {table.name} rows: {str(exc.orig).strip()}"
        ) from exc


def _reset_sequences(session: Session, tables: Iterable[Table]) -> None:
    """Point each serial sequence past the imported ids, so new rows get fresh ones."""
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        session.execute(
            select(func.setval(sequence, func.coalesce(func.max(column), 0) + 1, False))
        )
