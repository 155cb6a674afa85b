"""Server-rendered pages for helpdesk staff and editors, over the same domain as the API."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

log = logging.getLogger(__name__)


class _PageSessions(SecureCookieSessionInterface):
    """Signed-cookie sessions for the pages only.

    The API authenticates every call with a token and never reads the session, so it
    does not pay for verifying the cookie's signature on each request.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/api/") or request.path == "/metrics":
            return None  # Flask substitutes a null session, which is never saved
        return super().open_session(app, request)


def init_web(app: Flask) -> None:
    """Register the pages on `app` and make its session cookie fit for sign-in."""
    from . import views_auth, views_check, views_edit, views_read  # noqa: F401  (routes)
    from .base import bp

    if not app.config.get("SECRET_KEY"):
        # `kbservice serve` builds the app before forking, so its workers share this key;
        # other setups need KB_SECRET_KEY.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        if not app.testing:
            log.warning(
                "KB_SECRET_KEY is not set: editors' sessions end when the server restarts "
                "and may not carry from one worker process to another."
            )
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=8),
    )
    app.session_interface = _PageSessions()
    app.register_blueprint(bp)
