"""Signing in with an API token, and out."""

from __future__ import annotations

import logging

from flask import Response, redirect, request

from ..access.tokens import Principal, Role, authenticate, record_use
from ..articles import audit
from ..http.context import get_database, get_primary_session
from . import auth, sessions
from .base import bp, render
from .redirects import safe_next

log = logging.getLogger(__name__)


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Response | tuple[str, int]:
    """The sign-in form; a valid editor token starts a session."""
    target = safe_next(request.values.get("next"))
    hint = sessions.limits()
    if request.method == "GET":
        return render("signin.html", next=target, error=None, hint=hint)
    token = request.form.get("token", "").strip()
    principal = authenticate(get_primary_session(), token) if token else None
    if principal is None or principal.role < Role.EDITOR:
        reason = "unknown" if principal is None else "role"
        _record_refusal(reason, principal)
        status = 401 if principal is None else 403
        return render("signin.html", status, next=target, error=f"signin.{reason}", hint=hint)
    with get_database().write() as session:
        record_use(session, principal.token_id)
        auth.sign_in(session, principal)
        audit.record(session, auth.actor(), "web.signin")
    return redirect(target, 303)


def _record_refusal(reason: str, principal: Principal | None) -> None:
    """Log and audit a refused sign-in: who, if the token was known, and from where."""
    who = audit.Actor(name=principal.name if principal else "-", remote_addr=request.remote_addr)
    # Never the submitted token: it may be a real one typed into the wrong place.
    log.warning("web sign-in refused (%s): token %s from %s", reason, who.name, who.remote_addr)
    with get_database().write() as session:
        audit.record(session, who, "web.signin_failed", details={"reason": reason})


@bp.route("/signout", methods=["POST"])
def signout() -> Response:
    """End the session, on the server too."""
    with get_database().write() as session:
        auth.sign_out(session)
    return redirect("/", 303)
