"""Editors' web sessions in the database: start, find the live one, refresh, end."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..storage.db import utcnow
from ..storage.models import WebSession


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """A random cookie value: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def start(session: Session, token_id: int, lifetime: dt.timedelta) -> tuple[str, WebSession]:
    """Start a session for `token_id`; returns its cookie value (only a hash is stored)."""
    now = utcnow()
    # Sessions past their absolute end are of no use to anyone: sign-ins clear them away.
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    secret = new_secret()
    row = WebSession(
        secret_hash=_hash(secret),
        token_id=token_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        data={},
    )
    session.add(row)
    session.flush()
    return secret, row


def find_live(session: Session, secret: str, idle: dt.timedelta) -> WebSession | None:
    """The session whose cookie value is `secret`, unless it ended, expired or sat idle."""
    row = session.scalar(select(WebSession).where(WebSession.secret_hash == _hash(secret)))
    now = utcnow()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        return None
    return row


def refresh(session: Session, session_id: int, data: dict[str, Any] | None = None) -> None:
    """Record that the session is in use now (and store its data, when given)."""
    values: dict[str, Any] = {"last_seen_at": utcnow()}
    if data is not None:
        values["data"] = data
    session.execute(update(WebSession).where(WebSession.id == session_id).values(**values))


def end(session: Session, session_id: int) -> None:
    """End a session for good: its cookie opens nothing any more."""
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
