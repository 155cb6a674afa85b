"""API tokens: creation, lookup with constant-time comparison, roles, revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import IntEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound, ValidationFailed
from ..storage.db import utcnow
from ..storage.models import ApiToken, WebSession

TOKEN_PREFIX = "kb"
# A token's last use is recorded to this precision (see use_is_unrecorded).
USE_RECORD_INTERVAL = dt.timedelta(minutes=1)
_LOOKUP = re.compile("[0-9a-f]+")


class Role(IntEnum):
    """Roles in increasing power: each includes the ones below it, except `inventory`.

    `inventory` reads and writes registered systems and may read what a reader may, but
    is below `editor` (it edits no article); only it and `admin` may use the systems API.
    """

    READER = 1
    INVENTORY = 2
    EDITOR = 3
    ADMIN = 4

    @classmethod
    def parse(cls, name: str) -> Role:
        """The role called `name` (reader, inventory, editor, admin)."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            choices = ", ".join(role.name.lower() for role in cls)
            raise ValidationFailed(
                f"Unknown role {name!r}; choose one of {choices}.",
                errors={"role": [f"must be one of {choices}"]},
            ) from None

    def allows(self, needed: Role) -> bool:
        """Whether this role may make a request that needs `needed`."""
        if needed is Role.INVENTORY:
            return self in (Role.INVENTORY, Role.ADMIN)
        return self >= needed

    @property
    def label(self) -> str:
        """The lowercase name used on the command line and in the API."""
        return self.name.lower()


@dataclass(frozen=True)
class Principal:
    """Who is making a request."""

    token_id: int
    name: str
    role: Role
    last_used_at: dt.datetime | None = None


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed to administrators (never the secret)."""

    id: int
    name: str
    role: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, name: str, role: Role) -> str:
    """Create a token and return it; this is the only time the secret is visible."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("A token needs a name of 1 to 100 characters.")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise Conflict(f"A token named {name!r} exists already.")
    lookup = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, role=role.label, lookup=lookup, secret_hash=_hash(secret)))
    session.flush()
    return f"{TOKEN_PREFIX}_{lookup}_{secret}"


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal of a valid, unrevoked token, or None; records its last use."""
    prefix, _, rest = token.partition("_")
    lookup, _, secret = rest.partition("_")
    # The lookup half is hex (create_token); anything else, a NUL say, never reaches SQL.
    if prefix != TOKEN_PREFIX or not _LOOKUP.fullmatch(lookup) or not secret:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.lookup == lookup))
    # Compare even when no row matched, so timing does not tell which half was wrong.
    expected = row.secret_hash if row is not None else _hash("")
    if not hmac.compare_digest(expected, _hash(secret)) or row is None or row.revoked_at:
        return None
    return Principal(
        token_id=row.id, name=row.name, role=Role.parse(row.role), last_used_at=row.last_used_at
    )


def use_is_unrecorded(principal: Principal) -> bool:
    """True when the token's last recorded use is older than `USE_RECORD_INTERVAL` (or none).

    A token is typically used by a client sending many requests a second; writing its
    last use on each would make every authenticated read a write.
    """
    last = principal.last_used_at
    return last is None or utcnow() - last >= USE_RECORD_INTERVAL


def record_use(session: Session, token_id: int) -> None:
    """Remember when a token was last used."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


def list_tokens(session: Session) -> list[TokenInfo]:
    """Every token, oldest first."""
    return [
        TokenInfo(t.id, t.name, t.role, t.created_at, t.last_used_at, t.revoked_at)
        for t in session.scalars(select(ApiToken).order_by(ApiToken.id))
    ]


def revoke_token(session: Session, name_or_id: str) -> TokenInfo:
    """Revoke a token by name or id, ending its web sessions; revoking twice is harmless."""
    condition = ApiToken.name == name_or_id
    if name_or_id.isdigit():
        condition = condition | (ApiToken.id == int(name_or_id))
    row = session.scalar(select(ApiToken).where(condition))
    if row is None:
        raise NotFound(f"No token named {name_or_id!r}.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.execute(
        update(WebSession)
        .where(WebSession.token_id == row.id, WebSession.revoked_at.is_(None))
        .values(revoked_at=row.revoked_at)
    )
    return TokenInfo(row.id, row.name, row.role, row.created_at, row.last_used_at, row.revoked_at)
