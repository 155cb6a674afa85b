"""Verdict changes become deliveries in the transaction that caused them (the outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..storage.db import utcnow
from .models import Delivery, Webhook

VERDICT_CHANGED = "verdict.changed"
EVENTS = (VERDICT_CHANGED,)
# Changes per delivery: a publish that changes 100,000 verdicts sends bodies of a size
# receivers can take (about 100 bytes a change).
CHANGES_PER_DELIVERY = 1000


@dataclass(frozen=True, slots=True)
class VerdictChange:
    """A registered system's verdict on an article, and what it was (None: first seen)."""

    system: str
    kb: str
    verdict: str
    previous_verdict: str | None

    def as_json(self) -> dict[str, str | None]:
        """The change as the contract's `changes[]` item."""
        return {
            "system": self.system,
            "kb": self.kb,
            "verdict": self.verdict,
            "previous_verdict": self.previous_verdict,
        }


def enqueue(session: Session, changes: Sequence[VerdictChange]) -> int:
    """Write deliveries of `changes` for every subscribed webhook; returns how many.

    Called inside the transaction that changes the verdicts, so a delivery exists if and
    only if its change was committed. Disabled webhooks get theirs too: they are sent
    once an admin enables the webhook again.
    """
    if not changes:
        return 0
    hooks = [
        hook_id
        for hook_id, events in session.execute(select(Webhook.id, Webhook.events))
        if VERDICT_CHANGED in events
    ]
    if not hooks:
        return 0
    now = utcnow()
    occurred_at = now.isoformat().replace("+00:00", "Z")
    rows = []
    for start in range(0, len(changes), CHANGES_PER_DELIVERY):
        part = [change.as_json() for change in changes[start : start + CHANGES_PER_DELIVERY]]
        for hook_id in hooks:
            delivery = str(uuid.uuid4())
            body = {
                "event": VERDICT_CHANGED,
                "delivery": delivery,
                "occurred_at": occurred_at,
                "changes": part,
            }
            rows.append(
                {
                    "webhook_id": hook_id,
                    "delivery": delivery,
                    "event": VERDICT_CHANGED,
                    "body": orjson.dumps(body).decode(),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    session.connection().execute(insert(Delivery.__table__), rows)
    return len(rows)
