"""Response policies for the API: security headers, CORS, and database outages as 503."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from flask_cors import CORS
from sqlalchemy.exc import DBAPIError, OperationalError

from .problems import problem_response

log = logging.getLogger(__name__)

API_PREFIX = "/api/"


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith(API_PREFIX) and not request.path.startswith("/api/v1/docs"):
        # JSON is never a document to render: forbid everything.
        headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        if request.method == "GET" and "Cache-Control" not in headers:
            # Clients may cache but must revalidate (ETags make that cheap).
            headers["Cache-Control"] = "no-cache"
    return response


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
    """Install headers, optional CORS (off unless KB_CORS_ORIGINS is set) and 503 mapping."""
    app.after_request(_security_headers)
    origins = list(app.config["CORS_ORIGINS"])
    if origins:
        CORS(app, resources={r"/api/*": {"origins": origins}}, expose_headers=["ETag"])

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError) -> Response:
        if _is_connection_problem(error):
            return _database_unavailable(error)
        log.error("database error on %s %s", request.method, request.path, exc_info=error)
        return problem_response(
            500, "Internal server error", "The server could not complete the request."
        )
