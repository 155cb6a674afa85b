"""Writing each engine's full-text index: SQLite FTS5 beside the rows, PostgreSQL in them.

FTS5 is contentless (`content=''`): it keeps the index but not the text, so removing a
document means handing FTS5 the same text again ('delete'), rebuilt from the revision it
was indexed from. That is exact as long as the tokenizer has not changed since; after a
tokenizer change run `kbservice search reindex` first (it clears FTS5 wholesale).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from .models import TERMS_INDEX

FTS_TABLE = "search_fts"
GIN_CREATE = f"CREATE INDEX {TERMS_INDEX} ON search_documents USING gin (terms)"

_FTS_INSERT = text(f"INSERT INTO {FTS_TABLE}(rowid, title, body) VALUES (:id, :title, :body)")
_FTS_DELETE = text(
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body) "
    "VALUES ('delete', :id, :title, :body)"
)


def is_fts_table(name: str) -> bool:
    """True for SQLite's FTS5 table and its shadow tables (derived data, outside the models)."""
    return name == FTS_TABLE or name.startswith(f"{FTS_TABLE}_")


def is_sqlite(session: Session) -> bool:
    """True on SQLite (FTS5), False on PostgreSQL (tsvector)."""
    return session.get_bind().dialect.name == "sqlite"


def fts_add(session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Add documents to FTS5: dicts of id, title and body (fulltext.documents.fts5_text)."""
    if rows:
        session.execute(_FTS_INSERT, rows)


def fts_remove(session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Remove documents from FTS5, given the text each was added with."""
    if rows:
        session.execute(_FTS_DELETE, rows)


def clear(session: Session) -> None:
    """Empty the index: every document row and, on SQLite, FTS5."""
    if is_sqlite(session):
        session.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('delete-all')"))
    session.execute(text("DELETE FROM search_documents"))


@contextmanager
def bulk_build(session: Session) -> Iterator[None]:
    """Load many documents, then build the index in one pass.

    PostgreSQL: the GIN index is dropped and built again over all rows (much faster than
    row by row; searches wait for the transaction). SQLite: FTS5's segments are merged
    into one afterwards ('optimize'), which keeps queries fast.
    """
    if is_sqlite(session):
        yield
        session.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')"))
        return
    session.execute(text(f"DROP INDEX IF EXISTS {TERMS_INDEX}"))
    yield
    session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    session.execute(text(GIN_CREATE))
