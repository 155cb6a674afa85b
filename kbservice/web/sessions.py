"""Server-side sessions for the pages: the cookie holds a random id and nothing else.

A signed-in editor's session is a row in `web_sessions` (session_store.py), so signing
out, idleness, the absolute lifetime and revoking the token end it on the server, whatever
copies of the cookie exist. Visitors who are not signed in have no row: their cookie value
only binds a form's CSRF token to their browser, and what they put in the session is not
kept.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, cast

from flask import Flask, Request, Response, current_app, session
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy.orm import Session
from werkzeug.datastructures import CallbackDict

from ..http.context import get_database, get_primary_session
from ..storage.db import utcnow
from ..storage.models import WebSession
from . import session_store

# What session_store.new_secret makes; anything else is not looked up.
_WELL_FORMED = re.compile(r"[A-Za-z0-9_-]{43}")


class PageSession(CallbackDict[str, Any], SessionMixin):
    """One browser's session: its cookie value, its live row when signed in, and its data."""

    def __init__(self, secret: str | None = None, row: WebSession | None = None) -> None:
        def on_update(_: CallbackDict[str, Any]) -> None:
            self.modified = True

        super().__init__(dict(row.data) if row is not None else {}, on_update)
        self.secret = secret
        self.row = row
        self.modified = False
        self.cookie_changed = False

    def replace(self, secret: str | None, row: WebSession | None) -> None:
        """Use another cookie value (None: remove the cookie) and forget the old data."""
        self.clear()
        self.secret, self.row = secret, row
        self.modified = False
        self.cookie_changed = True


class ServerSessions(SessionInterface):
    """Sessions kept in the database, for the pages only.

    The API authenticates every call with a token and never reads the session, so it does
    not pay for a session lookup on each request.
    """

    def __init__(self, idle: dt.timedelta, lifetime: dt.timedelta) -> None:
        self.idle = idle
        self.lifetime = lifetime
        # Refreshing last_seen_at on every page would make each click a write.
        self.refresh_every = min(dt.timedelta(minutes=1), idle / 10)

    def open_session(self, app: Flask, request: Request) -> PageSession | None:
        if request.path.startswith("/api/") or request.path == "/metrics":
            return None  # Flask substitutes a null session, which is never saved
        secret = request.cookies.get(self.get_cookie_name(app), "")
        if not _WELL_FORMED.fullmatch(secret):
            return PageSession()
        # The primary, not a replica: an ended session must not live on until replication.
        return PageSession(
            secret, session_store.find_live(get_primary_session(), secret, self.idle)
        )

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        page = cast(PageSession, session)
        if page.row is not None and page.modified:
            with get_database(app).write() as db:
                session_store.refresh(db, page.row.id, dict(page))
        if not page.cookie_changed:
            return
        cookie = {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "secure": self.get_cookie_secure(app),
            "samesite": self.get_cookie_samesite(app),
            "httponly": self.get_cookie_httponly(app),
            "partitioned": self.get_cookie_partitioned(app),
        }
        name = self.get_cookie_name(app)
        if page.secret is None:
            response.delete_cookie(name, **cookie)
        else:
            expires = page.row.expires_at if page.row is not None else None
            response.set_cookie(name, page.secret, expires=expires, **cookie)
        response.vary.add("Cookie")


def current() -> PageSession:
    """The session of this page request."""
    return cast(PageSession, session)


def _interface() -> ServerSessions:
    return cast(ServerSessions, current_app.session_interface)


def limits() -> dict[str, str]:
    """When sessions end, for people: `idle` minutes without use, `hours` after sign-in."""
    interface = _interface()
    return {
        "idle": f"{interface.idle.total_seconds() / 60:g}",
        "hours": f"{interface.lifetime.total_seconds() / 3600:g}",
    }


def cookie_secret() -> str:
    """This browser's cookie value, made now if it has none."""
    page = current()
    if page.secret is None:
        page.replace(session_store.new_secret(), None)
    return cast(str, page.secret)


def begin(db: Session, token_id: int) -> None:
    """Sign this browser in as `token_id` with a new cookie value, ending its old session."""
    page = current()
    if page.row is not None:
        session_store.end(db, page.row.id)
    secret, row = session_store.start(db, token_id, _interface().lifetime)
    page.replace(secret, row)


def finish(db: Session) -> None:
    """End this browser's session on the server and remove its cookie."""
    page = current()
    if page.row is not None:
        session_store.end(db, page.row.id)
    page.replace(None, None)


def keep_alive() -> None:
    """Note that the signed-in session is in use, at most once per refresh interval."""
    row = current().row
    if row is None:
        return
    if utcnow() - row.last_seen_at >= _interface().refresh_every:
        with get_database().write() as db:
            session_store.refresh(db, row.id)


def forget_sign_in() -> None:
    """Treat this request as a visitor's: the session's token may no longer edit."""
    current().row = None
