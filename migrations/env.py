"""Alembic environment: the same engine settings and metadata as the application."""

from __future__ import annotations

from alembic import context

from kbservice.config import build_config
from kbservice.fulltext import models as search_models  # noqa: F401  (the search index tables)
from kbservice.fulltext.engines import is_fts_table
from kbservice.notify import models as notify_models  # noqa: F401  (webhooks, outbox)
from kbservice.storage import models  # noqa: F401  (registers every table on the metadata)
from kbservice.storage.db import Base, make_null_pool_engine
from kbservice.systems import models as systems_models  # noqa: F401  (registered systems)

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or build_config()["DATABASE_URL"]
    if not url:
        raise RuntimeError("no database URL: set KB_DATABASE_URL or use `kbservice db upgrade`")
    return url


def run_migrations_online() -> None:
    """Run migrations on a live connection (batch mode, so SQLite can alter tables)."""
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_null_pool_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _include_name(name, type_, parent_names) -> bool:  # type: ignore[no-untyped-def]
    """Leave SQLite's FTS5 table (and its shadow tables) out of the drift check."""
    return not (type_ == "table" and name is not None and is_fts_table(name))


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    if connection.dialect.name != "sqlite":
        _migrate(connection)
        return
    # Batch mode rebuilds an SQLite table by copying it and dropping the old one; with
    # foreign keys on, that drop would cascade into the rows referring to it (dropping a
    # column of `revisions` would delete every revision's texts). The pragma only takes
    # effect outside a transaction, so it is set on the fresh connection's DBAPI handle.
    raw = connection.connection.dbapi_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        _migrate(connection)
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left rows whose references are broken: {broken[:5]}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
