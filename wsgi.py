"""WSGI entry point: `gunicorn wsgi:app` serves kbservice as `kbservice serve` does.

Run `kbservice db upgrade` first. The catalog and every article's rules are compiled
here, at import: with `gunicorn --preload` once, in the master, and shared by the
workers; without it in each worker as it starts, before its first request. If the
database cannot be read yet, they are built on first use instead.
"""

import logging
import time

from sqlalchemy.exc import DBAPIError

from kbservice import create_app
from kbservice.http.server import prepare_for_fork

app = create_app()
_log = logging.getLogger("kbservice")
_started = time.perf_counter()
try:
    _count = prepare_for_fork(app)
except DBAPIError as exc:
    _log.warning("Caches not built at start, they are built on first use: %s", exc.orig)
else:
    _log.info(
        "Indexed the rules of %d article(s) in %.1f s.", _count, time.perf_counter() - _started
    )
