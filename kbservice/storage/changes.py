"""Knowing without a query that the database has not changed since the last look.

Caches check what they were built from (freshness.Stamps, the search index stamp) on
every request. That check costs more than the rest of a cached answer: a round trip on
PostgreSQL, and on SQLite a query that lets the worker's other threads take the GIL
in the middle of the request. With `KB_FRESHNESS=notify` (the default) a process asks
again only when a change may have happened, which it learns from these signals:

- **this host** — every kbservice process on the host that uses the same database
  shares a counter in a memory-mapped file (`HostCounter`). Writers bump it after
  their commit and before they answer, so the next request to any worker or server on
  the host sees the write (the same guarantee as asking every time). A SQLite
  database is only ever written on its own host, so this covers all of kbservice's
  writes to it.
- **other hosts** (PostgreSQL) — triggers on the tables the caches read (migration
  0005) send a NOTIFY on commit, and a thread in each process LISTENs
  (`ChangeListener`). Writes made elsewhere (another host, psql) are seen once the
  notification arrives, normally within milliseconds. While the listener is not
  connected, every request asks the database, as without signals.
- **time** — a remembered value is asked again after `max_age` seconds in any case.
  This bounds how long a write kbservice cannot signal stays unseen (a `sqlite3`
  session editing the file, a writer with another runtime folder), and how stale a
  read replica's answer can be kept (a notification can arrive before the replica has
  replayed the change).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import mmap
import os
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

# The logger keeps the name operators filter on, from before the module moved.
log = logging.getLogger("kbservice.changes")

CHANNEL = "kbservice_changes"
# How often an idle listener checks that its connection still works, in seconds.
_PING_EVERY = 10.0
_RETRY_AFTER = (0.1, 0.5, 1.0, 2.0, 5.0)
_COUNTER = struct.Struct("<Q")

T = TypeVar("T")


def default_runtime_dir() -> Path:
    """Where host counters live: a RAM-backed folder when the system has one."""
    for candidate in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK):
            return Path(candidate)
    return Path(tempfile.gettempdir())


class HostCounter:
    """A counter shared by every process on this host that opens the same file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_uid != os.getuid():
                raise PermissionError(f"{path} belongs to another user")
            if os.fstat(fd).st_size < _COUNTER.size:
                os.ftruncate(fd, _COUNTER.size)
            self._map = mmap.mmap(fd, _COUNTER.size)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        # lockf excludes other processes, not this process's threads.
        self._lock = threading.Lock()

    def value(self) -> int:
        return int(_COUNTER.unpack_from(self._map)[0])

    def bump(self) -> None:
        """Add one, atomically for every process on the host."""
        with self._lock:
            fcntl.lockf(self._fd, fcntl.LOCK_EX)
            try:
                _COUNTER.pack_into(self._map, 0, (self.value() + 1) % 2**64)
            finally:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)


def counter_path(runtime_dir: Path, engine: Engine) -> Path:
    """The host counter's file for the database `engine` writes to."""
    url = engine.url.set(password=None)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        # One file however its URL is spelled (relative, through a symlink).
        url = url.set(database=os.path.realpath(url.database))
    rendered = url.render_as_string(hide_password=True)
    digest = hashlib.sha256(rendered.encode()).hexdigest()[:20]
    return runtime_dir / f"kbservice-{os.getuid()}-{digest}.changes"


class ChangeListener:
    """LISTENs for the database's change notifications in a thread of this process.

    The thread starts in each process of its own: `kbservice serve` starts it as each
    worker forks, anything else on first use. It reconnects after errors. `count`
    changes with every notification and reconnection; it is None while the listener is
    not connected.
    """

    def __init__(
        self, connect: Callable[[], Any], on_state: Callable[[bool], None] | None = None
    ) -> None:
        self._connect = connect
        # Told True when listening starts and False when it stops (metrics).
        self._on_state = on_state or (lambda _listening: None)
        self._count = 0
        self._listening = False
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._connection: Any = None
        # Connections inherited through fork belong to the parent; collecting one here
        # would end the parent's session, so they are kept, unused.
        self._inherited: list[Any] = []
        self.reconnections = 0

    def start(self) -> None:
        """Start listening in this process, if it does not yet (else on first `count`)."""
        if self._pid != os.getpid():
            self._start()

    def count(self) -> int | None:
        self.start()
        return self._count if self._listening else None

    @property
    def listening(self) -> bool:
        return self._listening and self._pid == os.getpid()

    def close(self) -> None:
        """Stop listening in this process (before a fork; at shutdown)."""
        with self._lock:
            connection, self._connection = self._connection, None
            self._pid = None
            self._listening = False
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            if self._connection is not None:
                self._inherited.append(self._connection)
                self._connection = None
            self._listening = False
            self._pid = os.getpid()
            pid = self._pid
        thread = threading.Thread(
            target=self._run, args=(pid,), name="kbservice-change-listener", daemon=True
        )
        thread.start()

    def _run(self, pid: int) -> None:
        failures = 0
        while self._pid == pid:
            try:
                connection = self._connect()
            except Exception as exc:
                self._retry_later(failures, exc)
                failures += 1
                continue
            with self._lock:
                if self._pid != pid:  # closed meanwhile
                    with contextlib.suppress(Exception):
                        connection.close()
                    return
                self._connection = connection
            try:
                connection.execute(f"LISTEN {CHANNEL}")
                # Anything may have changed while nobody listened.
                self._count += 1
                self._listening = True
                self._on_state(True)
                if failures:
                    self.reconnections += 1
                    log.info("change listener reconnected")
                failures = 0
                while self._pid == pid:
                    for _notification in connection.notifies(timeout=_PING_EVERY):
                        self._count += 1
                    connection.execute("SELECT 1")
            except Exception as exc:
                self._listening = False
                self._on_state(False)
                if self._pid != pid:
                    return  # closed on purpose
                with contextlib.suppress(Exception):
                    connection.close()
                self._retry_later(failures, exc)
                failures += 1

    def _retry_later(self, failures: int, exc: Exception) -> None:
        self._listening = False
        level = logging.WARNING if failures == 0 else logging.DEBUG
        log.log(
            level,
            "change listener is not connected (%s); every request asks the database meanwhile",
            exc,
        )
        time.sleep(_RETRY_AFTER[min(failures, len(_RETRY_AFTER) - 1)])


class Changes:
    """What signals a possible change: a host counter, and on PostgreSQL a listener."""

    def __init__(self, host: HostCounter, listener: ChangeListener | None, max_age: float) -> None:
        self.host = host
        self.listener = listener
        self.max_age = max_age

    @classmethod
    def for_engine(
        cls,
        engine: Engine,
        runtime_dir: Path,
        max_age: float,
        listen_url: str | None = None,
        on_state: Callable[[bool], None] | None = None,
    ) -> Changes:
        """Signals for the database `engine` writes to.

        On PostgreSQL the listener connects to `listen_url` when given: LISTEN needs a
        session of its own on the primary, which a transaction-pooling proxy (PgBouncer)
        cannot keep. SQLite has no listener.
        """
        host = HostCounter(counter_path(runtime_dir, engine))
        if engine.dialect.name != "postgresql":
            return cls(host, None, max_age)
        url = make_url(listen_url) if listen_url else engine.url
        args, kwargs = engine.dialect.create_connect_args(url)
        dbapi = engine.dialect.loaded_dbapi

        def connect() -> Any:
            return dbapi.connect(
                *args, **kwargs, autocommit=True, application_name="kbservice-listener"
            )

        return cls(host, ChangeListener(connect, on_state), max_age)

    def token(self) -> tuple[int, int] | None:
        """Equal tokens mean nothing changed in between; None means "ask the database"."""
        if self.listener is None:
            return (self.host.value(), 0)
        count = self.listener.count()
        if count is None:
            return None
        return (self.host.value(), count)

    def bump(self) -> None:
        """Tell every process on this host that this process has just committed a write."""
        self.host.bump()

    def start(self) -> None:
        """Start listening now (in a forked worker) rather than on first use."""
        if self.listener is not None:
            self.listener.start()

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()


class Remembered(Generic[T]):
    """The value of `fetch`, fetched again only when `changes` signal a possible change.

    The token is read before fetching, so a change that lands during the fetch moves the
    token past the one remembered and the next call fetches again.
    """

    def __init__(self, fetch: Callable[[], T], changes: Changes | None) -> None:
        self._fetch = fetch
        self._changes = changes
        self._memo: tuple[Any, float, T] | None = None

    def get(self) -> T:
        changes = self._changes
        if changes is None:
            return self._fetch()
        token = changes.token()
        now = time.monotonic()
        memo = self._memo
        if (
            token is not None
            and memo is not None
            and memo[0] == token
            and now - memo[1] < changes.max_age
        ):
            return memo[2]
        value = self._fetch()
        self._memo = (token, now, value) if token is not None else None
        return value
