"""Writing many rows at once on PostgreSQL: COPY instead of INSERT."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Table
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
