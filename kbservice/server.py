"""Run the application under gunicorn, the production WSGI server."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from .flask_db import get_database


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


def _post_fork(_server: Any, worker: Any) -> None:
    # A forked worker must open its own connections, never share the parent's sockets.
    database = get_database(worker.app.application)
    for engine in (database.engine, database.read_engine):
        if engine is not None:
            engine.dispose(close=False)


def run_gunicorn(
    app: Any, *, host: str, port: int, workers: int, threads: int, timeout: int
) -> None:
    """Serve `app` until interrupted."""
    options = {
        "bind": f"{host}:{port}",
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
        "post_fork": _post_fork,
        "proc_name": "kbservice",
    }
    _Gunicorn(app, options).run()
