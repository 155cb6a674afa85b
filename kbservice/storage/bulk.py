"""Writing many rows at once: COPY instead of INSERT on PostgreSQL, ids drawn ahead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session


def copy_rows(session: Session, table: Table, rows: Sequence[Mapping[str, object]]) -> None:
    """Write rows (dicts of the same columns) with COPY, in the session's transaction.

    For thousands of rows COPY spares building, sending and parsing one INSERT parameter
    per value. Values go as COPY text (str, int, None); JSON columns must come serialized
    as the engine's serializer would (the default, json.dumps). Nothing is flushed first.
    """
    if not rows:
        return
    columns = list(rows[0])
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    connection = session.connection().connection.driver_connection
    with connection.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([row[column] for column in columns])


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` new ids, ascending, for rows of `table` inserted with explicit ids.

    So many rows go in without RETURNING (plain executemany, or COPY). PostgreSQL draws
    them from the id column's sequence, as the column default would; SQLite continues
    after the highest id, as its rowids do, while the caller's write transaction (BEGIN
    IMMEDIATE) keeps every other writer out.
    """
    if session.get_bind().dialect.name == "sqlite":
        highest = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
        return list(range(highest + 1, highest + 1 + count))
    drawn = session.scalars(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
        {"table": table.name, "n": count},
    )
    return sorted(drawn)
