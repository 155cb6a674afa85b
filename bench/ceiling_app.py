"""The ceilings of the load benchmark: one tiny JSON endpoint, in bare Flask and in raw WSGI.

Served by gunicorn with the same workers and threads as kbservice, they measure what
the server, the WSGI stack and the client cost before kbservice does any work: `app`
with Flask's routing, request and response objects, `raw` with nothing but gunicorn:

    .venv/bin/gunicorn -w 5 --threads 1 -b 127.0.0.1:8001 bench.ceiling_app:app
    .venv/bin/gunicorn -w 5 --threads 1 -b 127.0.0.1:8002 bench.ceiling_app:raw
"""

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

app = Flask(__name__)


@app.get("/")
def status() -> dict[str, str]:
    """A small JSON document, as a health check answers."""
    return {"status": "ok"}


_RAW_BODY = b'{"status":"ok"}\n'
_RAW_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_RAW_BODY)))]


def raw(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The same document from a bare WSGI callable: no routing, no request object."""
    start_response("200 OK", list(_RAW_HEADERS))
    return [_RAW_BODY]
