"""Tables of webhooks and their deliveries (the transactional outbox)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..storage.db import Base, UTCDateTime, utcnow


class Webhook(Base):
    """A subscription: where to POST which events, and the secret that signs them."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    # Kept as given: an HMAC needs the key itself. Never returned by the API.
    secret: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Failed attempts in a row; at KB_WEBHOOK_MAX_FAILURES the webhook is disabled.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # After a failure nothing is sent before this: deliveries leave in order, so the
    # oldest pending one is retried before any later one is tried.
    retry_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A delivery worker's claim on this webhook; expires so a crashed worker's is retaken.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One body to POST to one webhook, written in the transaction of its change."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index(None, "webhook_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    # The body's `delivery` and X-KB-Delivery: the same on every retry.
    delivery: Mapped[str] = mapped_column(String(36), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    # The exact bytes sent and signed, as UTF-8 text.
    body: Mapped[str] = mapped_column(Text)
    # pending → delivered
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
