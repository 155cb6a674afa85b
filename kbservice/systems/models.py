"""Tables of registered systems and their stored verdicts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..storage.db import Base, UTCDateTime, utcnow


class RegisteredSystem(Base):
    """A machine an inventory registered: its SYSTEM as sent and as normalized."""

    __tablename__ = "systems"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    # The SYSTEM as sent: answers are normalized again under the current catalog.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    # As normalized when registered: re-evaluation after a publish reads only these.
    normalized: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The normalized product (None without one), indexed: a publish re-evaluates only the
    # systems of the products the old or new rules name.
    product: Mapped[str | None] = mapped_column(String(64), index=True)
    # False when the product is not in the catalog: no article applies, nothing to store.
    recognised: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SystemVerdict(Base):
    """A registered system's verdict on one article; no row means `not_applicable`."""

    __tablename__ = "system_verdicts"
    __table_args__ = (Index(None, "article_id", "verdict", "system_id"),)

    system_id: Mapped[str] = mapped_column(
        ForeignKey("systems.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    verdict: Mapped[str] = mapped_column(String(16))
    missing_facts: Mapped[list[str]] = mapped_column(JSON, default=list)


class ArticleVerdictCount(Base):
    """How many systems have `verdict` on an article: `system_verdicts` rows, counted as written.

    Every writer of `system_verdicts` adds its deltas in its own transaction
    (`systems.counts`), so listing an article's systems needs no count over 50,000 rows.
    """

    __tablename__ = "article_verdict_counts"

    # An article's counts go with it, as its verdicts do.
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    verdict: Mapped[str] = mapped_column(String(16), primary_key=True)
    systems: Mapped[int] = mapped_column(Integer)
