"""The tables: product catalog, articles with immutable revisions and their localized texts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, UTCDateTime, utcnow

intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
timestamp = Annotated[dt.datetime, mapped_column(UTCDateTime, default=utcnow)]
json_list = Annotated[list[Any], mapped_column(JSON, default=list)]
json_dict = Annotated[dict[str, Any], mapped_column(JSON, default=dict)]


class Product(Base):
    """A catalog product (e.g. windows_server_2003) with lifecycle dates and recognition aliases."""

    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The catalog entry as reviewed in seeds/products.yaml; kbservice.catalog interprets it.
    data: Mapped[json_dict]
    mainstream_end: Mapped[dt.date | None] = mapped_column(Date)
    extended_end: Mapped[dt.date | None] = mapped_column(Date)
    # Indexed: every request checks max(updated_at) to know whether the catalog changed.
    updated_at: Mapped[timestamp] = mapped_column(index=True)


class Article(Base):
    """A knowledge-base article: stable KB number and source locale; content lives in revisions."""

    __tablename__ = "articles"

    id: Mapped[intpk]
    kb: Mapped[str] = mapped_column(String(16), unique=True)
    source_locale: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[timestamp]
    # Sequence number of the published revision; revisions are never updated.
    current_seq: Mapped[int] = mapped_column(Integer, default=0)

    revisions: Mapped[list[Revision]] = relationship(
        back_populates="article", order_by="Revision.seq", lazy="raise"
    )


class Revision(Base):
    """One immutable published state of an article: metadata, rules and every locale's text."""

    __tablename__ = "revisions"
    __table_args__ = (
        # One revision per sequence number: two writers racing from the same base revision
        # cannot both insert seq+1, so the database itself decides who wins.
        UniqueConstraint("article_id", "seq"),
        UniqueConstraint("article_id", "number"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    id: Mapped[intpk]
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(32))
    # Indexed: as-of questions look for the latest revision created by an instant.
    created_at: Mapped[timestamp] = mapped_column(index=True)
    author: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[json_list]
    related: Mapped[json_list]
    applies_to: Mapped[json_list]
    rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # [{"name", "system", "expect"}]: systems whose verdict the rules above must give.
    examples: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default=text("'[]'"))

    article: Mapped[Article] = relationship(back_populates="revisions", lazy="raise")
    texts: Mapped[list[RevisionText]] = relationship(
        back_populates="revision", order_by="RevisionText.locale", lazy="selectin"
    )


class FeedEntry(Base):
    """A published revision's place in the change feed (kbservice/articles/feed.py)."""

    __tablename__ = "feed_entries"

    # One more than the highest position the inserting transaction could see; the primary
    # key makes a second writer that saw the same highest one fail instead of overtaking.
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("revisions.id", ondelete="CASCADE"), unique=True
    )
    # created | revised | restored
    kind: Mapped[str] = mapped_column(String(16))


class RevisionText(Base):
    """The title and ordered sections of one revision in one locale."""

    __tablename__ = "revision_texts"
    __table_args__ = (UniqueConstraint("revision_id", "locale"),)

    id: Mapped[intpk]
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))
    locale: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    # [{"heading": str | None, "body": markdown}], in order.
    sections: Mapped[json_list]
    # The seq of the revision whose source-locale text this text was written from.
    # The source text itself records the seq where it last changed; a translation is
    # outdated when its value is lower than the source text's.
    source_seq: Mapped[int] = mapped_column(Integer)
    # The seq of the revision where this locale's text last changed.
    changed_seq: Mapped[int] = mapped_column(Integer)

    revision: Mapped[Revision] = relationship(back_populates="texts", lazy="raise")


class ArticleApplicability(Base):
    """Applies-to entries of each article's current revision, for filtering by product."""

    __tablename__ = "article_applicability"
    __table_args__ = (Index(None, "product", "edition", "architecture"),)

    id: Mapped[intpk]
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    product: Mapped[str] = mapped_column(String(64))
    edition: Mapped[str | None] = mapped_column(String(64))
    architecture: Mapped[str | None] = mapped_column(String(16))
    sp_min: Mapped[int | None] = mapped_column(Integer)
    sp_max: Mapped[int | None] = mapped_column(Integer)


class ApiToken(Base):
    """A bearer token. Only a hash of its secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # Public half of the token: finds the row without comparing secrets in SQL.
    lookup: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """An editor signed in from a browser. The cookie holds a random id; only its hash is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Idleness is judged from this; it is refreshed at most once a minute, not on every page.
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The absolute end, however busy the session; indexed to purge ended sessions.
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What the pages keep from one request to the next (flashed messages).
    data: Mapped[json_dict]

    token: Mapped[ApiToken] = relationship(lazy="joined")


class AuditEvent(Base):
    """One write, recorded in the same transaction as the write itself."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    kb: Mapped[str | None] = mapped_column(String(16), index=True)
    revision: Mapped[str | None] = mapped_column(String(32))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Draft(Base):
    """One pending edit. There is one slot per article, kind and locale."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("kb", "kind", "locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kb: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # "" for kinds that are not per locale: NULLs would not be unique.
    locale: Mapped[str] = mapped_column(String(16), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The published revision the draft was started from (None for a new article).
    base_revision_id: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
