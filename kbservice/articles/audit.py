"""The audit log: who wrote what, when, and from which address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..storage.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where."""

    name: str
    remote_addr: str | None = None


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    kb: str | None = None,
    revision: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit event to the current transaction."""
    session.add(
        AuditEvent(
            actor=actor.name,
            action=action,
            kb=kb,
            revision=revision,
            remote_addr=actor.remote_addr,
            details=details or {},
        )
    )


def list_events(
    session: Session, *, kb: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[AuditEvent], int]:
    """Audit events, newest first, one page at a time, with the total count."""
    query = select(AuditEvent)
    if kb is not None:
        query = query.where(AuditEvent.kb == kb)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    events = session.scalars(
        query.order_by(AuditEvent.id.desc()).limit(per_page).offset((page - 1) * per_page)
    )
    return list(events), total
