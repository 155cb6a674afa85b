"""Editors in the browser: a token signs in once, then a signed session cookie with CSRF."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import g, redirect, request, session
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest

from ..audit import Actor
from ..flask_db import get_primary_session, get_session
from ..models import ApiToken
from ..tokens import Principal, Role

CSRF_FIELD = "csrf_token"


class CsrfFailed(BadRequest):
    """A POST without this session's CSRF token (forged, or the session expired)."""


def load_editor() -> None:
    """Set `g.editor` from the session, re-reading the token so a revocation bites at once."""
    g.editor = None
    token_id = session.get("token_id")
    if token_id is None:
        return
    # The primary, not a replica: a revocation must not wait for replication.
    row = get_primary_session().get(ApiToken, token_id)
    if row is None or row.revoked_at is not None or Role.parse(row.role) < Role.EDITOR:
        session.clear()
        return
    g.editor = Principal(token_id=row.id, name=row.name, role=Role.parse(row.role))
    g.principal = g.editor  # the request log names the user


def reading_session() -> Session:
    """Editors read the primary, to see their own writes at once; everyone else a replica."""
    return get_primary_session() if g.get("editor") is not None else get_session()


def sign_in(principal: Principal) -> None:
    """Start a fresh session for `principal` (a new CSRF token: no session fixation)."""
    session.clear()
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME without use
    session["token_id"] = principal.token_id
    session["name"] = principal.name
    session["role"] = principal.role.label
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    g.editor = g.principal = principal


def sign_out() -> None:
    """Forget the editor."""
    session.clear()
    g.editor = g.principal = None


def csrf_token() -> str:
    """This session's CSRF token, created on first use."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def check_csrf() -> None:
    """Refuse a POST whose form does not carry the session's CSRF token."""
    if request.method != "POST":
        return
    expected = session.get(CSRF_FIELD, "")
    sent = request.form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfFailed()


def is_private() -> bool:
    """True when the page is personal: an editor is signed in or a form carries a token."""
    return g.get("editor") is not None or CSRF_FIELD in session


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


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (`//evil`, `https:`) is `/`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target
