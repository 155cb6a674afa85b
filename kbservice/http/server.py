"""Run the application under gunicorn, the production WSGI server."""

from __future__ import annotations

import gc
import math
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from sqlalchemy import Engine, event

from ..config import ConfigError
from .context import get_database, warm_caches
from .logs import one_line_records
from .watchdog import GRACE, Deadline, Watchdog
from .workers import MAX_REQUEST_LINE, worker_class


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, wsgi: Any, options: dict[str, Any]) -> None:
        self.application = app
        self.served = wsgi
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.served


class _OneLineLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, writing one line per record like the application's."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        one_line_records(self.error_log)
        one_line_records(self.access_log)


def prepare_for_fork(app: Flask) -> int:
    """Build the caches workers share, then leave nothing a fork must not inherit.

    The catalog and the rule index (an outline of every article's rules) are built now,
    so forked workers share that memory; each compiles the rules its requests judge.
    Returns how many articles the rule index holds.
    """
    # The collector would walk the growing index again and again while it is built
    # (a third of the build's CPU at 200,000 articles), and it finds no cycles in it.
    gc.disable()
    try:
        count = warm_caches(app)
    finally:
        gc.enable()
    # Workers must not inherit pooled connections.
    get_database(app).dispose()
    # Keep the caches out of the collector's reach: its bookkeeping writes would copy
    # every shared page into each worker.
    gc.collect()
    gc.freeze()
    return count


def gc_full_every(config: Mapping[str, Any]) -> int:
    """KB_GC_FULL_EVERY: young (generation-1) collections per full garbage collection in
    a worker; ConfigError unless a positive integer.

    Each full collection walks every compiled rule the worker keeps (≈ 35 objects each):
    with Python's default (10), a worker judging the rules of many products paid
    ≈ 0.3 s pauses every ≈ 20 requests at 200,000 articles. Young collections still free
    short-lived cycles; only those that outlive two of them wait longer.
    """
    every = config["GC_FULL_EVERY"]
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ConfigError(f"KB_GC_FULL_EVERY must be a positive integer, got {every!r}")
    return every


def _post_fork(worker: Any, watchdog: Watchdog) -> None:
    # A forked worker must open its own connections, never share the parent's sockets.
    database = get_database(worker.app.application)
    for engine in (database.engine, database.read_engine):
        if engine is not None:
            engine.dispose(close=False)
            _bound_statements(engine, watchdog.timeout)
    if database.changes is not None:
        # Listen from the start: a worker's first requests need not ask the database.
        database.changes.start()
    watchdog.start()


def _bound_statements(engine: Engine, seconds: float) -> None:
    # PostgreSQL cancels a statement that outlives the request it serves: the watchdog
    # cannot interrupt a thread waiting for the database. Workers only: CLI commands
    # (synth, backups) run as long as they need.
    if engine.dialect.name != "postgresql":
        return
    milliseconds = math.ceil(seconds * 1000)

    @event.listens_for(engine, "connect")
    def limit(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {milliseconds}")
        dbapi_connection.commit()


def _child_exit(_server: Any, worker: Any) -> None:
    # A dead worker's live gauges (listeners connected) must leave the /metrics sums.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def run_gunicorn(
    app: Flask,
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    timeout: int,
    request_timeout: float,
    client_timeout: float,
) -> None:
    """Serve `app` until interrupted.

    Each request may run `request_timeout` seconds (watchdog.py); a request head must
    arrive within `client_timeout` seconds, and each later read or write of the request
    make progress within it (workers.py).
    """
    metrics_bind = app.config["METRICS_BIND"]
    # A thread told to stop may be waiting on its client's socket for one read: the grace
    # outlasts it, so only a thread stuck in C code ends its worker.
    watchdog = Watchdog(request_timeout, grace=max(GRACE, client_timeout + 1))

    full_every = gc_full_every(app.config)  # refused before any worker starts

    def post_fork(_server: Any, worker: Any) -> None:
        young, older, _ = gc.get_threshold()
        gc.set_threshold(young, older, full_every)
        _post_fork(worker, watchdog)

    options = {
        # KB_METRICS_BIND: a second listener, which answers only /metrics (api/metrics.py).
        "bind": [f"{host}:{port}", *([metrics_bind] if metrics_bind else [])],
        "workers": workers,
        "threads": threads,
        "worker_class": worker_class(threads, client_timeout=client_timeout),
        # The master replaces a silent worker; the watchdog stops a request first.
        "timeout": max(timeout, math.ceil(request_timeout + watchdog.grace) + 1),
        # The API contract: request lines up to 8,000 bytes reach the application,
        # longer ones are answered 414 (workers.py) before a byte more is parsed.
        "limit_request_line": MAX_REQUEST_LINE,
        # kbservice logs each request itself (JSON, with its request id).
        "accesslog": None,
        "errorlog": "-",
        "logger_class": _OneLineLogger,
        "post_fork": post_fork,
        "child_exit": _child_exit,
        "proc_name": "kbservice",
    }
    _Gunicorn(app, Deadline(app, watchdog), options).run()
