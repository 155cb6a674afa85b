"""Database plumbing: declarative base, UTC timestamps, engine and sessions, SQLite hooks."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from .readers import ThreadReaders

if TYPE_CHECKING:
    from .changes import Changes

# Named constraints: SQLite can only drop or alter a constraint that has a name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 15_000


class Base(DeclarativeBase):
    """Declarative base of every kbservice table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always returned timezone-aware, on every engine."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        utc = value.astimezone(dt.UTC)
        # SQLite has no time zone type: store naive UTC so that ordering is textual-safe.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


# SQLite's page cache, per connection, in KiB. A worker has a reader connection per
# thread besides its pool, and the operating system's page cache, which every process
# shares, holds the file anyway: SQLite's default of 2 MiB per connection made a gthread
# worker's RSS ≈ 13 MiB larger after uncached searches, for no measurable speed.
SQLITE_CACHE_KIB = 512
# Write transactions (bulk imports, `kbservice synth`) get more: 4,000 synthetic
# articles took 11 % longer to load with 512 KiB than with the default.
SQLITE_WRITE_CACHE_KIB = 8192
# ConnectionRecord.info key: the connection's cache was enlarged for a write.
_WRITE_CACHE = "kbservice.write_cache"

# Connection.info key: the SQLite connection's total_changes when its transaction began.
SQLITE_CHANGES_AT_BEGIN = "kbservice.changes_at_begin"


def _install_sqlite_hooks(engine: Engine) -> None:
    """WAL, busy timeout and foreign keys; take over BEGIN so SAVEPOINTs really roll back."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT semantics.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        # A detached or invalidated connection has no record or no DBAPI connection.
        if dbapi_connection is None or record is None:
            return
        if record.info.pop(_WRITE_CACHE, False):
            dbapi_connection.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # How many rows the connection had changed: a transaction that has written since
        # sees data nobody else does (the search cache then stays out of its way).
        dbapi_connection = connection.connection.dbapi_connection
        connection.info[SQLITE_CHANGES_AT_BEGIN] = dbapi_connection.total_changes
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # each statement commits by itself (see readers.ThreadReaders)
        # Writers take the write lock up front: a deferred transaction that upgrades
        # later fails with SQLITE_BUSY at once, without waiting for the busy timeout.
        connection.exec_driver_sql(f"BEGIN {options.get('kb_begin', 'DEFERRED')}")
        if options.get("kb_begin") == "IMMEDIATE":
            # A writer (Database.write) may change many pages: a bigger cache until it
            # goes back to the pool, where the check-in hook shrinks it again.
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_WRITE_CACHE_KIB}")
            connection.connection.info[_WRITE_CACHE] = True


# orjson reads integers beyond 64 bits as floats; text with a run of 19 or more digits
# (the shortest such integer) is left to the standard library. Mapping every digit to
# "0" and looking for nineteen of them is several times faster than a regex.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGITS = b"0" * 19


def load_stored_json(data: str | bytes) -> Any:
    """A stored JSON value, read as the standard library reads it, only faster.

    A first view of an article decodes about ten JSON columns (sections, applies-to…);
    orjson saves ≈ 20 µs of its ≈ 300, most of it on the small values.
    """
    raw = data if isinstance(data, bytes) else data.encode()
    if _LONG_DIGITS not in raw.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # what json accepts beyond the standard: NaN, 1e400, lone surrogates
    return json.loads(data)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url` with the settings kbservice relies on."""
    kwargs.setdefault("json_deserializer", load_stored_json)
    # Database errors are logged; their bound parameters are article text and tokens.
    kwargs["hide_parameters"] = True
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 15}}
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("kbservice needs a file-backed SQLite database, not :memory:")
        engine = create_engine(url, **options, **kwargs)
        _install_sqlite_hooks(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


# Query parameters that carry a secret (libpq's password and sslpassword).
_SECRET_QUERY = re.compile(r"([?&][^=&]*password=)[^&]*", re.IGNORECASE)
_USERINFO_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")


def safe_url(url: str) -> str:
    """`url` fit to print or log: its password, in the userinfo or the query, masked."""
    try:
        url = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # not an SQLAlchemy URL: mask the look of one
        url = _USERINFO_PASSWORD.sub(r"\1***@", url)
    return _SECRET_QUERY.sub(r"\1***", url)


# Any constant shared by every kbservice process; names the lock in pg_locks.
_REVISION_WRITE_LOCK = 0x6B62_7276  # "kbrv"


def serialize_revision_writes(session: Session) -> None:
    """Make revision ids become visible in the order they were allocated.

    Caches ask "is there a revision newer than id N?". On PostgreSQL two transactions
    could commit ids 11 and 10 in that order, and a reader that saw 11 before 10 was
    committed would never load 10. Call this before inserting a revision: the
    transaction-scoped advisory lock makes revision-writing transactions take turns.
    SQLite writers already take turns (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REVISION_WRITE_LOCK})


def make_null_pool_engine(url: str) -> Engine:
    """An engine that keeps no connections open, for one-off CLI work."""
    return make_engine(url, poolclass=NullPool)


class Database:
    """The engine and session factory of one application."""

    def __init__(
        self, engine: Engine, read_engine: Engine | None = None, changes: Changes | None = None
    ) -> None:
        self.engine = engine
        self.read_engine = read_engine
        self.changes = changes
        # Hot point reads use the read URL too: they serve public reads.
        self.readers = ThreadReaders(read_engine or engine, changes)
        self.session_factory = sessionmaker(bind=engine, expire_on_commit=False)
        self.read_session_factory = (
            sessionmaker(bind=read_engine, expire_on_commit=False)
            if read_engine is not None
            else self.session_factory
        )

    @property
    def dialect(self) -> str:
        """The backend name: `sqlite` or `postgresql`."""
        return self.engine.dialect.name

    def session(self) -> Session:
        """Open a new session on the primary database (the caller closes it)."""
        return self.session_factory()

    def read_session(self) -> Session:
        """Open a session for reads: on the read-only replica URL when one is configured."""
        return self.read_session_factory()

    def dispose(self) -> None:
        """Close every pooled connection, the thread readers' and the change listener's."""
        self.readers.close()
        if self.changes is not None:
            self.changes.close()
        self.engine.dispose()
        if self.read_engine is not None:
            self.read_engine.dispose()

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commit on success, roll back on any error."""
        with self.session() as session:
            if self.dialect == "sqlite":
                session.connection(execution_options={"kb_begin": "IMMEDIATE"})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
        if self.changes is not None:
            # After the commit, before the caller answers: the next request to any
            # process on this host must see the write (changes.py).
            self.changes.bump()
