"""Server-rendered pages for helpdesk staff and editors, over the same domain as the API."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from flask import Flask

from ..config import ConfigError
from .sessions import ServerSessions

log = logging.getLogger(__name__)


def init_web(app: Flask) -> None:
    """Register the pages on `app` and give editors server-side sessions."""
    from . import (  # noqa: F401  (routes)
        views_auth,
        views_builder,
        views_check,
        views_edit,
        views_read,
    )
    from .base import bp

    if not app.config.get("SECRET_KEY"):
        # `kbservice serve` builds the app before forking, so its workers share this key;
        # other setups need KB_SECRET_KEY.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        if not app.testing:
            log.warning(
                "KB_SECRET_KEY is not set: forms' CSRF tokens stop matching when the server "
                "restarts and may not carry from one worker process to another."
            )
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.session_interface = ServerSessions(
        # At most a year: beyond that a session is not a session.
        idle=dt.timedelta(minutes=_positive(app, "SESSION_IDLE_MINUTES", 365 * 24 * 60)),
        lifetime=dt.timedelta(hours=_positive(app, "SESSION_MAX_HOURS", 365 * 24)),
    )
    app.register_blueprint(bp)


def _positive(app: Flask, key: str, most: float) -> float:
    value = app.config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= most:
        raise ConfigError(f"KB_{key} must be a number above 0 and at most {most:g}, got {value!r}")
    return float(value)
