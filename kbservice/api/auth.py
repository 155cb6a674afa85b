"""Bearer-token authentication, roles, and the If-Match precondition of writes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, request

from ..access.tokens import Principal, Role, authenticate, record_use, use_is_unrecorded
from ..articles import reading
from ..articles.audit import Actor
from ..errors import KBServiceError, PreconditionFailed, PreconditionRequired
from ..http.context import get_database, get_primary_session
from .localized import revision_id_from_etag


class Unauthorized(KBServiceError):
    """No token, or one that is unknown or revoked."""

    status = 401
    title = "Unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="kbservice"'}  # noqa: RUF012


class Forbidden(KBServiceError):
    """The token's role is too low for this request."""

    status = 403
    title = "Forbidden"


def current_principal() -> Principal | None:
    """The request's principal, from `Authorization: Bearer <token>` (None without one)."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        principal = None
        if scheme.lower() == "bearer" and token.strip():
            principal = authenticate(get_primary_session(), token.strip())
            if principal is None:
                raise Unauthorized("The bearer token is unknown or revoked.")
            if use_is_unrecorded(principal):
                with get_database().write() as session:
                    record_use(session, principal.token_id)
        g.principal = principal
    return g.principal


def actor() -> Actor:
    """The acting principal and its address, for the audit log."""
    principal = g.principal
    return Actor(name=principal.name, remote_addr=request.remote_addr)


def require(role: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: 401 without a valid token, 403 when its role is below `role`."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None:
                raise Unauthorized("This request needs `Authorization: Bearer <token>`.")
            if not principal.role.allows(role):
                raise Forbidden(
                    f"This request needs the {role.label} role; "
                    f"the token has {principal.role.label}."
                )
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_if_match(view: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: 428 without If-Match, 412 when it is not the current revision's ETag.

    Runs before the body is parsed, so the contract's order (428/412 before 400/422)
    holds. The write itself checks the base revision again inside its transaction.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        snapshot = reading.get_article(get_primary_session(), kwargs["kb"])
        header = request.headers.get("If-Match")
        if not header:
            raise PreconditionRequired(
                "Writes to an existing article need If-Match with the ETag of its current "
                "revision (GET the article first)."
            )
        # Any of the article's ETags (every locale's, weak or strong) names its revision;
        # `*` names none of ours, so it is refused like any stale tag.
        candidates = [
            revision_id_from_etag(tag) for tag in request.if_match.as_set(include_weak=True)
        ]
        if snapshot.revision_id not in candidates:
            raise PreconditionFailed(
                f"If-Match does not name the current revision of KB{snapshot.kb} "
                f"({snapshot.revision.number}); someone saved first. Fetch it again."
            )
        g.base_revision_id = snapshot.revision_id
        return view(*args, **kwargs)

    return wrapper
