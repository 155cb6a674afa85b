"""Run the application under gunicorn, the production WSGI server."""

from __future__ import annotations

import gc
import os
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from .flask_db import get_database, warm_caches
from .logs import one_line_records


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Any, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application


class _OneLineLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, writing one line per record like the application's."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        one_line_records(self.error_log)
        one_line_records(self.access_log)


def prepare_for_fork(app: Flask) -> int:
    """Build the caches workers share, then leave nothing a fork must not inherit.

    The catalog and every article's compiled rules are built now, so forked workers
    share that memory and answer their first request at full speed. Returns how many
    articles the rule index holds.
    """
    count = warm_caches(app)
    # Workers must not inherit pooled connections.
    get_database(app).dispose()
    # Keep the caches out of the collector's reach: its bookkeeping writes would copy
    # every shared page into each worker.
    gc.collect()
    gc.freeze()
    return count


def _post_fork(_server: Any, worker: Any) -> None:
    # A forked worker must open its own connections, never share the parent's sockets.
    database = get_database(worker.app.application)
    for engine in (database.engine, database.read_engine):
        if engine is not None:
            engine.dispose(close=False)
    if database.changes is not None:
        # Listen from the start: a worker's first requests need not ask the database.
        database.changes.start()


def _child_exit(_server: Any, worker: Any) -> None:
    # A dead worker's live gauges (listeners connected) must leave the /metrics sums.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def run_gunicorn(
    app: Any, *, host: str, port: int, workers: int, threads: int, timeout: int
) -> None:
    """Serve `app` until interrupted."""
    metrics_bind = app.config["METRICS_BIND"]
    options = {
        # KB_METRICS_BIND: a second listener, which answers only /metrics (api/metrics.py).
        "bind": [f"{host}:{port}", *([metrics_bind] if metrics_bind else [])],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        # Request lines up to 8 KiB must reach the application; 0 lifts gunicorn's
        # 8190-byte cap, and the application answers over-long URLs itself (414).
        "limit_request_line": 0,
        # kbservice logs each request itself (JSON, with its request id).
        "accesslog": None,
        "errorlog": "-",
        "logger_class": _OneLineLogger,
        "post_fork": _post_fork,
        "child_exit": _child_exit,
        "proc_name": "kbservice",
    }
    _Gunicorn(app, options).run()
