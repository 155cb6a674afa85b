"""Response policies for the API: security headers, CORS, and database outages as 503."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request
from flask_cors import CORS
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import ClientDisconnected, RequestTimeout

from ..http.problems import internal_error, problem_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

API_PREFIX = "/api/"


_EVERY_RESPONSE = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
# JSON is never a document to render: forbid everything.
_API_RESPONSE = (
    *_EVERY_RESPONSE,
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
)
# Clients may cache API reads but must revalidate (ETags make that cheap).
_API_READ = (*_API_RESPONSE, ("Cache-Control", "no-cache"))


class SecurityHeaders:
    """WSGI middleware adding the headers above unless the response set its own.

    Working on the plain header list costs a few microseconds per response, a tenth of
    what the same defaults cost through Flask's Headers in an after_request hook.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(API_PREFIX) or path.startswith("/api/v1/docs"):
            defaults = _EVERY_RESPONSE
        else:
            defaults = _API_READ if environ.get("REQUEST_METHOD") == "GET" else _API_RESPONSE

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            headers.extend(pair for pair in defaults if pair[0].lower() not in present)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def _database_unavailable(error: DBAPIError) -> Response:
    # Connection failures are the server's state, not the client's fault: 503, retry later.
    log.error("database unavailable: %s", error.__class__.__name__, exc_info=error)
    return problem_response(
        503,
        "Service Unavailable",
        "The database is not reachable right now; retry shortly.",
        headers={"Retry-After": "5"},
    )


def _is_connection_problem(error: DBAPIError) -> bool:
    return bool(error.connection_invalidated) or isinstance(error, OperationalError)


def init_hardening(app: Flask) -> None:
    """Install headers, optional CORS (off unless KB_CORS_ORIGINS is set), 503 and 408 mapping."""
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]
    origins = list(app.config["CORS_ORIGINS"])
    if origins:
        CORS(app, resources={r"/api/*": {"origins": origins}}, expose_headers=["ETag"])

    @app.errorhandler(ClientDisconnected)
    def body_stalled(_error: ClientDisconnected) -> Any:
        # werkzeug's name for a body that ended early or whose read failed: under
        # `kbservice serve`, each read must make progress within KB_CLIENT_TIMEOUT
        # (http/workers.py). A client that left hears nothing; one that stalled, this.
        return app.handle_http_exception(
            RequestTimeout("The request body did not arrive in time; send it again.")
        )

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError) -> Response:
        if _is_connection_problem(error):
            return _database_unavailable(error)
        log.error("database error on %s %s", request.method, request.path, exc_info=error)
        return internal_error()
