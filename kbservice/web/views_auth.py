"""Signing in with an API token, and out."""

from __future__ import annotations

from flask import Response, redirect, request

from .. import audit
from ..flask_db import get_database, get_primary_session
from ..tokens import Role, authenticate, record_use
from . import auth
from .base import bp, render


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Response | tuple[str, int]:
    """The sign-in form; a valid editor token starts a session."""
    target = auth.safe_next(request.values.get("next"))
    if request.method == "GET":
        return render("signin.html", next=target, error=None)
    token = request.form.get("token", "").strip()
    principal = authenticate(get_primary_session(), token) if token else None
    if principal is None:
        return render("signin.html", 401, next=target, error="signin.unknown")
    if principal.role < Role.EDITOR:
        return render("signin.html", 403, next=target, error="signin.role")
    with get_database().write() as session:
        record_use(session, principal.token_id)
        auth.sign_in(principal)
        audit.record(session, auth.actor(), "web.signin")
    return redirect(target, 303)


@bp.route("/signout", methods=["POST"])
def signout() -> Response:
    """End the session."""
    auth.sign_out()
    return redirect("/", 303)
