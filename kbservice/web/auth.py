"""Editors in the browser: a token signs in once, then a server-side session with CSRF."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import current_app, g, redirect, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest

from ..access.tokens import Principal, Role
from ..articles.audit import Actor
from ..http.context import get_primary_session, get_session
from . import sessions

CSRF_FIELD = "csrf_token"


class CsrfFailed(BadRequest):
    """A POST without this session's CSRF token (forged, or the session expired)."""


def load_editor() -> None:
    """Set `g.editor` from the session and its token, so that a revocation bites at once."""
    g.editor = None
    row = sessions.current().row
    if row is None:
        return
    token = row.token
    if token.revoked_at is not None or Role.parse(token.role) < Role.EDITOR:
        sessions.forget_sign_in()
        return
    sessions.keep_alive()
    g.editor = Principal(token_id=token.id, name=token.name, role=Role.parse(token.role))
    g.principal = g.editor  # the request log names the user


def reading_session() -> Session:
    """Editors read the primary, to see their own writes at once; everyone else a replica."""
    return get_primary_session() if g.get("editor") is not None else get_session()


def sign_in(db: Session, principal: Principal) -> None:
    """Start a new session for `principal`: a new cookie value and CSRF token (no fixation)."""
    sessions.begin(db, principal.token_id)
    g.editor = g.principal = principal


def sign_out(db: Session) -> None:
    """End the session on the server: a saved copy of the cookie opens nothing any more."""
    sessions.finish(db)
    g.editor = g.principal = None


def _csrf_for(secret: str) -> str:
    key = current_app.secret_key
    key_bytes = key.encode() if isinstance(key, str) else bytes(key or b"")
    return hmac.new(key_bytes, b"csrf:" + secret.encode(), "sha256").hexdigest()


def csrf_token() -> str:
    """This session's CSRF token: derived from its cookie value, so bound to the session."""
    return _csrf_for(sessions.cookie_secret())


def check_csrf() -> None:
    """Refuse a POST whose form does not carry the session's CSRF token."""
    if request.method != "POST":
        return
    secret = sessions.current().secret
    sent = request.form.get(CSRF_FIELD, "")
    if secret is None or not hmac.compare_digest(sent.encode(), _csrf_for(secret).encode()):
        raise CsrfFailed()


def is_private() -> bool:
    """True when the page is personal: an editor is signed in or the browser has a session."""
    return g.get("editor") is not None or sessions.current().secret is not None


def actor() -> Actor:
    """The signed-in editor and their address, for the audit log."""
    return Actor(name=g.editor.name, remote_addr=request.remote_addr)


def editor_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: send visitors who are not signed in as editors to the sign-in page."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.editor is None:
            return redirect(f"/signin?{urlencode({'next': request.full_path.rstrip('?')})}")
        return view(*args, **kwargs)

    return wrapper
