"""Webhook subscriptions (admins): create, list, enable or disable, delete; delivery logs."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..errors import NotFound, ValidationFailed
from ..storage.db import utcnow
from .models import Delivery, Webhook

MAX_WEBHOOK_ID = 2**31 - 1  # webhooks.id is an INTEGER (32-bit on PostgreSQL)


def check_url(url: str) -> str:
    """`url` if it is an absolute http or https URL with a host; else a 422 naming `url`."""
    try:
        parts = urlsplit(url)
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018  (raises on a port that is no number or out of range)
    except ValueError:
        valid = False
    if not valid or any(c.isspace() or ord(c) < 32 for c in url):
        raise ValidationFailed(
            "A webhook URL is an absolute http or https URL with a host.",
            errors={"url": ["must be an http or https URL with a host"]},
        )
    return url


def create_webhook(session: Session, url: str, secret: str, events: Sequence[str]) -> Webhook:
    """Subscribe `url` to `events` (checked by the caller); `secret` signs the deliveries."""
    check_url(url)
    hook = Webhook(url=url, secret=secret, events=list(dict.fromkeys(events)), enabled=True)
    session.add(hook)
    session.flush()
    return hook


def list_webhooks(session: Session) -> list[Webhook]:
    """Every webhook, oldest first."""
    return list(session.scalars(select(Webhook).order_by(Webhook.id)))


def get_webhook(session: Session, webhook_id: int) -> Webhook:
    """The webhook `webhook_id`; NotFound when there is none."""
    # An id beyond the column's range names no webhook (and would overflow the driver).
    hook = session.get(Webhook, webhook_id) if 0 < webhook_id <= MAX_WEBHOOK_ID else None
    if hook is None:
        raise NotFound(f"No webhook {webhook_id} exists.")
    return hook


def delete_webhook(session: Session, webhook_id: int) -> None:
    """Remove a webhook and its deliveries, pending ones included."""
    session.delete(get_webhook(session, webhook_id))


def set_enabled(session: Session, webhook_id: int, enabled: bool) -> Webhook:
    """Enable a webhook (failures reset, its pending deliveries due now) or disable it."""
    hook = get_webhook(session, webhook_id)
    if enabled and not hook.enabled:
        hook.enabled, hook.failures, hook.disabled_at, hook.retry_at = True, 0, None, None
        session.execute(
            update(Delivery)
            .where(Delivery.webhook_id == hook.id, Delivery.status == "pending")
            .values(next_attempt_at=utcnow())
        )
    elif not enabled and hook.enabled:
        hook.enabled, hook.disabled_at = False, utcnow()
    return hook


def list_deliveries(
    session: Session, webhook_id: int, *, page: int, per_page: int
) -> tuple[list[Delivery], int]:
    """One page of a webhook's deliveries, newest first, and how many there are."""
    get_webhook(session, webhook_id)
    condition = Delivery.webhook_id == webhook_id
    total = session.scalar(select(func.count()).select_from(Delivery).where(condition)) or 0
    rows = session.scalars(
        select(Delivery)
        .where(condition)
        .order_by(Delivery.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total
