"""Publishing: every write becomes exactly one new immutable revision, or nothing at all."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import PreconditionFailed
from ..fulltext import index_article
from ..rules import STORAGE_LIMITS, validate_rules
from ..storage.db import serialize_revision_writes, utcnow
from ..storage.models import Article, Revision, RevisionText
from ..systems.reevaluate import registered_systems_follow
from . import audit, feed
from .audit import Actor
from .reading import (
    ArticleSnapshot,
    find_article,
    get_revision,
    replace_applicability_index,
    snapshot_of,
)

_NUMBER = re.compile(r"^(\d+)\.(\d+)$")


def next_number(number: str, taken: set[str]) -> str:
    """The display number after `number`: the minor part goes up (`2.2` → `2.3`, `2.9` → `2.10`)."""
    match = _NUMBER.match(number)
    major, minor = (int(match.group(1)), int(match.group(2))) if match else (1, 0)
    candidate = f"{major}.{minor + 1}"
    while candidate in taken:
        minor += 1
        candidate = f"{major}.{minor + 1}"
    return candidate


@dataclass(frozen=True)
class Change:
    """What a write changes; None means "keep as it is"."""

    texts: Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]] = field(default_factory=dict)
    rules: Mapping[str, Any] | None = None
    examples: Sequence[Mapping[str, Any]] | None = None
    keywords: Sequence[str] | None = None
    related: Sequence[str] | None = None
    applies_to: Sequence[Mapping[str, Any]] | None = None
    # A restore copies every field of an older revision, rules included.
    restore_from: ArticleSnapshot | None = None


def publish(
    session: Session,
    kb: str,
    base_revision_id: int,
    change: Change,
    *,
    author: str,
    summary: str,
) -> ArticleSnapshot:
    """Add one revision built on `base_revision_id`; a stale base is PreconditionFailed.

    Two writers racing from the same base cannot both succeed: the conditional update of
    the article's current sequence and the unique (article, seq) constraint let exactly
    one commit, whatever the isolation level.
    """
    # Before any row lock: writers take this lock first, so they cannot deadlock on it.
    serialize_revision_writes(session)
    article = find_article(session, kb)
    current = session.scalars(
        select(Revision).where(
            Revision.article_id == article.id, Revision.seq == article.current_seq
        )
    ).one()
    if current.id != base_revision_id:
        raise PreconditionFailed(_stale(article))
    if change.rules is not None:
        validate_rules(change.rules, **STORAGE_LIMITS)
    new_seq = current.seq + 1
    moved = session.execute(
        update(Article)
        .where(Article.id == article.id, Article.current_seq == current.seq)
        .values(current_seq=new_seq)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise PreconditionFailed(_stale(article))
    taken = set(session.scalars(select(Revision.number).where(Revision.article_id == article.id)))
    source = change.restore_from
    revision = Revision(
        article_id=article.id,
        seq=new_seq,
        number=next_number(current.number, taken),
        created_at=utcnow(),
        author=author,
        summary=summary,
        keywords=list(_pick(change.keywords, source and source.keywords, current.keywords)),
        related=list(_pick(change.related, source and source.related, current.related)),
        applies_to=[
            dict(e)
            for e in _pick(change.applies_to, source and source.applies_to, current.applies_to)
        ],
        rules=_rules(change, current),
        examples=[
            dict(e) for e in _pick(change.examples, source and source.examples, current.examples)
        ],
    )
    session.add(revision)
    # Worded before the flush: a failed flush expires `article`, and reading it then
    # would raise instead of answering 412.
    stale = _stale(article)
    try:
        session.flush()
    except IntegrityError as exc:
        raise PreconditionFailed(stale) from exc
    _write_texts(session, article, current, revision, change)
    replace_applicability_index(session, article.id, revision.applies_to)
    session.flush()
    # Registered systems' verdicts change with the rules in this same transaction.
    registered_systems_follow(session, article, current, revision)
    index_article(session, article.id)
    feed.record(session, revision.id, feed.REVISED if source is None else feed.RESTORED)
    article.current_seq = new_seq
    session.expire(revision, ["texts"])
    return snapshot_of(article, revision)


def _stale(article: Article) -> str:
    return (
        f"Article KB{article.kb} has changed since the ETag in If-Match was issued; "
        "fetch it again and reapply the edit."
    )


def _pick(changed: Any, restored: Any, current: Any) -> Any:
    if changed is not None:
        return changed
    return restored if restored is not None else current


def _rules(change: Change, current: Revision) -> dict[str, Any] | None:
    if change.rules is not None:
        return dict(change.rules)
    if change.restore_from is not None:
        return dict(change.restore_from.rules) if change.restore_from.rules else None
    return current.rules


def _write_texts(
    session: Session, article: Article, current: Revision, revision: Revision, change: Change
) -> None:
    """Carry every locale's text forward, replacing the written ones.

    Staleness is data: the source text records the seq where it last changed, and each
    translation the source seq it was written from.
    """
    new = revision.seq
    previous = {text.locale: text for text in current.texts}
    rows: dict[str, RevisionText] = {
        locale: RevisionText(
            locale=locale,
            title=text.title,
            sections=text.sections,
            source_seq=text.source_seq,
            changed_seq=text.changed_seq,
        )
        for locale, text in previous.items()
    }
    source_locale = article.source_locale
    restored = change.restore_from
    if restored is not None:
        rows = {}
        for locale, text in restored.texts.items():
            sections = [{"heading": s.heading, "body": s.body} for s in text.sections]
            # An outdated translation stays outdated when its revision is restored.
            source_seq = text.source_seq if restored.is_outdated(locale) else new
            rows[locale] = RevisionText(
                locale=locale,
                title=text.title,
                sections=sections,
                source_seq=source_seq,
                changed_seq=new,
            )
    written = {
        locale: (title, [{"heading": s.get("heading"), "body": s["body"]} for s in sections])
        for locale, (title, sections) in change.texts.items()
    }
    if source_locale in written:
        title, sections = written.pop(source_locale)
        rows[source_locale] = RevisionText(
            locale=source_locale, title=title, sections=sections, source_seq=new, changed_seq=new
        )
    source_changed_seq = rows[source_locale].changed_seq
    for locale, (title, sections) in written.items():
        # Writing a translation records the source text it was written from.
        rows[locale] = RevisionText(
            locale=locale,
            title=title,
            sections=sections,
            source_seq=source_changed_seq,
            changed_seq=new,
        )
    for locale in sorted(rows):
        rows[locale].revision_id = revision.id
        session.add(rows[locale])


def restore(
    session: Session, kb: str, number: str, base_revision_id: int, *, author: str, summary: str
) -> ArticleSnapshot:
    """Publish an old revision's content again, as a new revision."""
    old = get_revision(session, kb, number)
    return publish(
        session,
        kb,
        base_revision_id,
        Change(restore_from=old),
        author=author,
        summary=summary or f"Restored revision {number}",
    )


def publish_recorded(
    session: Session,
    kb: str,
    base_revision_id: int,
    change: Change,
    *,
    actor: Actor,
    summary: str,
    action: str,
) -> ArticleSnapshot:
    """Publish one revision by `actor` and record it in the audit log, in one transaction."""
    snapshot = publish(session, kb, base_revision_id, change, author=actor.name, summary=summary)
    audit.record(
        session,
        actor,
        action,
        kb=snapshot.kb,
        revision=snapshot.revision.number,
        details={"summary": summary},
    )
    return snapshot
