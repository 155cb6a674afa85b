"""Drafts: unpublished edits beside the published text, published or discarded later."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound, PreconditionFailed
from ..storage.db import utcnow
from ..storage.models import Draft
from .reading import NewArticle, create_article, normalize_kb
from .revisions import Change, publish

KINDS = ("translation", "rules", "metadata", "article")
MAX_DRAFT_ID = 2**31 - 1  # drafts.id is an INTEGER (32-bit on PostgreSQL)


@dataclass(frozen=True)
class DraftInfo:
    """A draft as editors see it."""

    id: int
    kb: str
    kind: str
    locale: str | None
    payload: dict[str, Any]
    base_revision_id: int | None
    version: int
    author: str
    created_at: dt.datetime
    updated_at: dt.datetime


def _info(draft: Draft) -> DraftInfo:
    return DraftInfo(
        id=draft.id,
        kb=draft.kb,
        kind=draft.kind,
        locale=draft.locale or None,
        payload=draft.payload,
        base_revision_id=draft.base_revision_id,
        version=draft.version,
        author=draft.author,
        created_at=draft.created_at,
        updated_at=draft.updated_at,
    )


def save_draft(
    session: Session,
    kb: str,
    kind: str,
    payload: dict[str, Any],
    *,
    author: str,
    base_revision_id: int | None,
    locale: str = "",
    expected_version: int | None = None,
) -> tuple[DraftInfo, bool]:
    """Create or replace the draft in its slot; returns it and whether it was created.

    With `expected_version`, a draft saved by someone else in between is not overwritten.
    """
    number = normalize_kb(kb)
    if number is None or kind not in KINDS:
        raise NotFound(f"No draft slot {kind!r} for {kb!r}.")
    draft = session.scalar(
        select(Draft).where(Draft.kb == number, Draft.kind == kind, Draft.locale == locale)
    )
    if draft is not None and expected_version is not None and draft.version != expected_version:
        raise PreconditionFailed(
            f"The draft was saved by {draft.author} in the meantime (version {draft.version})."
        )
    created = draft is None
    if draft is None:
        draft = Draft(kb=number, kind=kind, locale=locale, author=author, version=0)
        session.add(draft)
    draft.payload = payload
    draft.base_revision_id = base_revision_id
    draft.author = author
    draft.version += 1
    draft.updated_at = utcnow()
    session.flush()
    return _info(draft), created


def list_drafts(session: Session, kb: str | None = None) -> list[DraftInfo]:
    """Drafts of one article (or all), oldest first; a `kb` that is no KB number is NotFound."""
    query = select(Draft).order_by(Draft.id)
    if kb is not None:
        number = normalize_kb(kb)
        if number is None:
            raise NotFound(f"{kb!r} is not a KB number.")
        query = query.where(Draft.kb == number)
    return [_info(draft) for draft in session.scalars(query)]


def get_draft(session: Session, draft_id: int) -> Draft:
    """The draft with `draft_id`, or NotFound."""
    # An id beyond the column's range names no draft; SQLite's driver would overflow on it.
    draft = session.get(Draft, draft_id) if 0 < draft_id <= MAX_DRAFT_ID else None
    if draft is None:
        raise NotFound(f"No draft {draft_id}.")
    return draft


def draft_info(session: Session, draft_id: int) -> DraftInfo:
    """A draft as editors see it."""
    return _info(get_draft(session, draft_id))


def discard_draft(session: Session, draft_id: int) -> DraftInfo:
    """Delete a draft; the published article is untouched."""
    draft = get_draft(session, draft_id)
    info = _info(draft)
    session.delete(draft)
    return info


def draft_change(draft: Draft) -> Change:
    """The revision change a draft of an existing article stands for."""
    payload = draft.payload
    if draft.kind == "translation":
        return Change(texts={draft.locale: (payload["title"], payload["sections"])})
    if draft.kind == "rules":
        return Change(rules=payload["rules"], examples=payload.get("examples"))
    return Change(
        keywords=payload.get("keywords"),
        related=payload.get("related"),
        applies_to=payload.get("applies_to"),
    )


def publish_draft(
    session: Session, draft_id: int, base_revision_id: int | None, *, author: str, summary: str
) -> Any:
    """Publish a draft as a new revision (or a new article) and delete it."""
    draft = get_draft(session, draft_id)
    if draft.kind == "article":
        payload = draft.payload
        snapshot = create_article(
            session,
            NewArticle(
                kb=draft.kb,
                source_locale=payload["source_locale"],
                texts={
                    locale: (text["title"], text["sections"])
                    for locale, text in payload["texts"].items()
                },
                applies_to=payload.get("applies_to", []),
                rules=payload.get("rules"),
                examples=payload.get("examples", []),
                keywords=payload.get("keywords", []),
                related=payload.get("related", []),
                number=payload.get("number", "1.0"),
                created_at=(
                    dt.datetime.fromisoformat(payload["created_at"])
                    if payload.get("created_at")
                    else None
                ),
                author=author,
                summary=summary or payload.get("summary") or "Published draft",
            ),
        )
    else:
        assert base_revision_id is not None
        snapshot = publish(
            session,
            draft.kb,
            base_revision_id,
            draft_change(draft),
            author=author,
            summary=summary or draft.payload.get("summary") or f"Published {draft.kind} draft",
        )
    session.delete(draft)
    return snapshot
