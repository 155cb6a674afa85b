"""Server-rendered pages for helpdesk staff and editors, over the same domain as the API."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from flask import Flask

log = logging.getLogger(__name__)


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
    app.register_blueprint(bp)
