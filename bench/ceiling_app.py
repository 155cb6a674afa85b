"""The ceiling of the load benchmark: a bare Flask app with one tiny JSON endpoint.

Served by gunicorn with the same workers and threads as kbservice, it measures what the
server, the WSGI stack and the client cost before kbservice does any work:

    .venv/bin/gunicorn -w 5 --threads 1 -b 127.0.0.1:8001 bench.ceiling_app:app
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def status() -> dict[str, str]:
    """A small JSON document, as a health check answers."""
    return {"status": "ok"}
