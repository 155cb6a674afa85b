"""Articles and their immutable revisions: reading snapshots and creating articles."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, bindparam, cast, delete, func, select
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound
from ..fulltext import index_article
from ..rules import STORAGE_LIMITS, validate_rules
from ..storage.db import load_stored_json, serialize_revision_writes, utcnow
from ..storage.models import Article, ArticleApplicability, Revision, RevisionText
from ..storage.readers import Row, ThreadReaders
from ..systems.reevaluate import registered_systems_follow
from . import feed

_KB_PATTERN = re.compile(r"^(?:kb)?0*([0-9]{1,10})$", re.IGNORECASE)  # ASCII digits only


def normalize_kb(value: str) -> str | None:
    """Return the bare KB number of `885348` or `KB885348`, or None if it is not one."""
    match = _KB_PATTERN.match(value.strip())
    return match.group(1) if match else None


@dataclass(frozen=True)
class Section:
    """One section of an article text: optional heading and a Markdown body."""

    heading: str | None
    body: str


@dataclass(frozen=True)
class LocalizedText:
    """An article's title and sections in one locale at one revision."""

    locale: str
    title: str
    sections: tuple[Section, ...]
    source_seq: int
    changed_seq: int


@dataclass(frozen=True)
class RevisionInfo:
    """Who published a revision, when, and why."""

    seq: int
    number: str
    created_at: dt.datetime
    author: str
    summary: str


@dataclass(frozen=True)
class ArticleSnapshot:
    """An article exactly as it was at one revision, in every locale it had."""

    article_id: int
    kb: str
    source_locale: str
    revision: RevisionInfo
    revision_id: int
    keywords: tuple[str, ...]
    related: tuple[str, ...]
    applies_to: tuple[Mapping[str, Any], ...]
    rules: Mapping[str, Any] | None
    texts: Mapping[str, LocalizedText] = field(repr=False)
    # Named systems with the verdict the rules must give them (docs/rules.md, "Examples").
    examples: tuple[Mapping[str, Any], ...] = ()

    @property
    def available_locales(self) -> list[str]:
        """Locales this revision has text in, sorted."""
        return sorted(self.texts)

    def text(self, locale: str) -> LocalizedText:
        """The text in `locale`, falling back to the source locale."""
        return self.texts.get(locale) or self.texts[self.source_locale]

    def is_outdated(self, locale: str) -> bool:
        """True when `locale`'s text was written from an older source text."""
        source = self.texts[self.source_locale]
        text = self.texts.get(locale)
        return text is not None and text.source_seq < source.changed_seq

    def in_locale(self, locale: str) -> LocalizedArticle:
        """What the representation in `locale` (else the source locale) is made of."""
        text = self.text(locale)
        return LocalizedArticle(
            kb=self.kb,
            source_locale=self.source_locale,
            revision=self.revision,
            revision_id=self.revision_id,
            keywords=self.keywords,
            related=self.related,
            applies_to=self.applies_to,
            text=text,
            available_locales=self.available_locales,
            translation_outdated=self.is_outdated(text.locale),
        )


@dataclass(frozen=True, slots=True)
class LocalizedArticle:
    """An article at one revision as its representation in one locale needs it.

    `text` is the requested locale's, or the source locale's when the revision has none.
    """

    kb: str
    source_locale: str
    revision: RevisionInfo
    revision_id: int
    keywords: tuple[str, ...]
    related: tuple[str, ...]
    applies_to: tuple[Mapping[str, Any], ...]
    text: LocalizedText
    available_locales: list[str]
    translation_outdated: bool


def snapshot_of(article: Article, revision: Revision) -> ArticleSnapshot:
    texts = {
        text.locale: _localized(
            text.locale, text.title, text.sections, text.source_seq, text.changed_seq
        )
        for text in revision.texts
    }
    return ArticleSnapshot(
        article_id=article.id,
        kb=article.kb,
        source_locale=article.source_locale,
        revision=revision_info(revision),
        revision_id=revision.id,
        keywords=tuple(revision.keywords),
        related=tuple(revision.related),
        applies_to=tuple(revision.applies_to),
        rules=revision.rules,
        texts=texts,
        examples=tuple(revision.examples or ()),
    )


def _localized(
    locale: str, title: str, sections: Sequence[Mapping[str, Any]], source_seq: int, changed: int
) -> LocalizedText:
    return LocalizedText(
        locale=locale,
        title=title,
        sections=tuple(Section(s.get("heading"), s["body"]) for s in sections),
        source_seq=source_seq,
        changed_seq=changed,
    )


# Built once, from table columns: building a statement per call, or selecting ORM
# attributes (whose result columns SQLAlchemy matches by comparison), costs more than
# running it.
_articles, _revisions, _texts = Article.__table__.c, Revision.__table__.c, RevisionText.__table__.c


# How many of the `snapshot_columns` come from the article and its revision (the rest,
# from one of its texts).
REVISION_COLUMNS = 13


def snapshot_columns(revisions: Any, texts: Any) -> list[Any]:
    """The columns `snapshot_from_rows` reads, from these revisions and texts tables."""
    return [
        _articles.id,
        _articles.kb,
        _articles.source_locale,
        revisions.c.seq,
        revisions.c.number,
        revisions.c.created_at,
        revisions.c.author,
        revisions.c.summary,
        revisions.c.keywords,
        revisions.c.related,
        revisions.c.applies_to,
        revisions.c.rules,
        revisions.c.examples,
        texts.c.locale,
        texts.c.title,
        texts.c.sections,
        texts.c.source_seq,
        texts.c.changed_seq,
    ]


# One row per locale: the revision's columns repeat (and are decoded once), which costs
# less than a second round trip to the database.
def _revision_rows(columns: list[Any]) -> Any:
    """`columns` of one revision (`revision_id`), a row per text, with its article's."""
    return (
        select(*columns)
        .join_from(Revision.__table__, Article.__table__, _articles.id == _revisions.article_id)
        .join(RevisionText.__table__, _texts.revision_id == _revisions.id)
        .where(_revisions.id == bindparam("revision_id"))
    )


def _read_revision_rows(
    readers: ThreadReaders, statement: Any, shared: int, revision_id: int
) -> list[Row]:
    """`statement`'s rows for this revision, its `shared` first columns decoded once."""
    rows = readers.prepare(statement).all_sharing(shared, revision_id=revision_id)
    if not rows:
        raise NotFound(f"No revision {revision_id} exists.")
    return rows


_SNAPSHOT = _revision_rows(snapshot_columns(Revision.__table__, RevisionText.__table__))


def load_snapshot(readers: ThreadReaders, revision_id: int) -> ArticleSnapshot:
    """The article as it was at the revision with this (internal) id, or NotFound.

    What an article GET that misses the cache pays when freshness.StampReader.article
    did not bring the rows: one prepared statement, a tenth of the CPU of loading the
    same rows as ORM objects.
    """
    rows = _read_revision_rows(readers, _SNAPSHOT, REVISION_COLUMNS, revision_id)
    return snapshot_from_rows(revision_id, rows)


def snapshot_from_rows(revision_id: int, rows: Sequence[Sequence[Any]]) -> ArticleSnapshot:
    """The snapshot of revision `revision_id` from its `snapshot_columns` rows (one per text)."""
    row = rows[0]
    (article_id, kb, source_locale, seq, number, created_at, author, summary) = row[:8]
    keywords, related, applies_to, rules, examples = row[8:13]
    texts = [text[13:] for text in rows]
    return ArticleSnapshot(
        article_id=article_id,
        kb=kb,
        source_locale=source_locale,
        revision=RevisionInfo(seq, number, created_at, author, summary),
        revision_id=revision_id,
        keywords=tuple(keywords),
        related=tuple(related),
        applies_to=tuple(applies_to),
        rules=rules,
        texts={text[0]: _localized(*text) for text in texts},
        examples=tuple(examples or ()),
    )


# What a representation in one locale reads (`localized_from_rows`): the revision's
# columns a body shows, once per text, and each text's sections — only the chosen
# locale's are decoded, and the rules and examples are not read at all. JSON comes as
# text (psycopg would decode it in every row, whatever is used), decoded here once.
LOCALIZED_REVISION_COLUMNS = 10


def localized_columns(revisions: Any, texts: Any) -> list[Any]:
    """The columns `localized_from_rows` reads, from these revisions and texts tables."""
    return [
        _articles.kb,
        _articles.source_locale,
        revisions.c.seq,
        revisions.c.number,
        revisions.c.created_at,
        revisions.c.author,
        revisions.c.summary,
        cast(revisions.c.keywords, Text),
        cast(revisions.c.related, Text),
        cast(revisions.c.applies_to, Text),
        texts.c.locale,
        texts.c.title,
        cast(texts.c.sections, Text),
        texts.c.source_seq,
        texts.c.changed_seq,
    ]


_LOCALIZED = _revision_rows(localized_columns(Revision.__table__, RevisionText.__table__))


def load_localized_rows(readers: ThreadReaders, revision_id: int) -> list[Row]:
    """The `localized_columns` rows of the revision with this (internal) id, or NotFound."""
    return _read_revision_rows(readers, _LOCALIZED, LOCALIZED_REVISION_COLUMNS, revision_id)


def localized_from_rows(
    revision_id: int, rows: Sequence[Sequence[Any]], locale: str
) -> LocalizedArticle:
    """Revision `revision_id` in `locale` (else its source locale), from `localized_columns` rows.

    What an article GET that misses the rendered cache builds: only the chosen locale's
    sections are decoded, and no object is made for another locale's text.
    """
    row = rows[0]
    (kb, source_locale, seq, number, created_at, author, summary) = row[:7]
    keywords, related, applies_to = row[7:10]
    chosen = source = None
    for text in rows:
        if text[10] == locale:
            chosen = text
        if text[10] == source_locale:
            source = text
    assert source is not None  # every revision has its source locale's text
    if chosen is None:
        chosen = source
    _, title, sections, source_seq, changed_seq = chosen[10:]
    return LocalizedArticle(
        kb=kb,
        source_locale=source_locale,
        revision=RevisionInfo(seq, number, created_at, author, summary),
        revision_id=revision_id,
        keywords=tuple(load_stored_json(keywords)),
        related=tuple(load_stored_json(related)),
        applies_to=tuple(load_stored_json(applies_to)),
        text=_localized(chosen[10], title, load_stored_json(sections), source_seq, changed_seq),
        available_locales=sorted(text[10] for text in rows),
        translation_outdated=source_seq < source[14],
    )


def revision_info(revision: Revision) -> RevisionInfo:
    """The public facts of a revision."""
    return RevisionInfo(
        seq=revision.seq,
        number=revision.number,
        created_at=revision.created_at,
        author=revision.author,
        summary=revision.summary,
    )


def find_article(session: Session, kb: str) -> Article:
    """The article with KB number `kb`, or NotFound."""
    number = normalize_kb(kb)
    article = (
        session.scalar(select(Article).where(Article.kb == number)) if number is not None else None
    )
    if article is None:
        raise NotFound(f"No article KB{number or kb} exists.")
    return article


def get_article(session: Session, kb: str) -> ArticleSnapshot:
    """The current revision of article `kb` (`885348` or `KB885348`)."""
    article = find_article(session, kb)
    revision = session.scalars(
        select(Revision).where(
            Revision.article_id == article.id, Revision.seq == article.current_seq
        )
    ).one()
    return snapshot_of(article, revision)


def get_revision(session: Session, kb: str, number: str) -> ArticleSnapshot:
    """Article `kb` exactly as it was at revision `number` (e.g. `2.2`)."""
    article = find_article(session, kb)
    revision = session.scalar(
        select(Revision).where(Revision.article_id == article.id, Revision.number == number)
    )
    if revision is None:
        raise NotFound(f"Article KB{article.kb} has no revision {number!r}.")
    return snapshot_of(article, revision)


def get_revision_as_of(session: Session, kb: str, when: dt.datetime) -> ArticleSnapshot:
    """Article `kb` as it was at instant `when`: its latest revision created by then."""
    article = find_article(session, kb)
    revision = session.scalar(
        select(Revision)
        .where(Revision.article_id == article.id, Revision.created_at <= when)
        .order_by(Revision.seq.desc())
        .limit(1)
    )
    if revision is None:
        raise NotFound(f"Article KB{article.kb} had no revision yet at {when.isoformat()}.")
    return snapshot_of(article, revision)


def list_revisions(session: Session, kb: str) -> list[RevisionInfo]:
    """Every revision of article `kb`, newest first."""
    article = find_article(session, kb)
    revisions = session.scalars(
        select(Revision).where(Revision.article_id == article.id).order_by(Revision.seq.desc())
    )
    return [revision_info(revision) for revision in revisions]


@dataclass(frozen=True)
class NewArticle:
    """Everything needed to create an article with its first revision."""

    kb: str
    source_locale: str
    texts: Mapping[str, tuple[str, Sequence[Mapping[str, Any]]]]  # locale → (title, sections)
    applies_to: Sequence[Mapping[str, Any]] = ()
    rules: Mapping[str, Any] | None = None
    examples: Sequence[Mapping[str, Any]] = ()
    keywords: Sequence[str] = ()
    related: Sequence[str] = ()
    number: str = "1.0"
    created_at: dt.datetime | None = None
    author: str = "kbservice"
    summary: str = "Created"


def create_article(session: Session, new: NewArticle) -> ArticleSnapshot:
    """Insert an article with its first revision; an existing KB number is a conflict."""
    kb = normalize_kb(new.kb)
    if kb is None:
        raise NotFound(f"{new.kb!r} is not a KB number.")
    serialize_revision_writes(session)
    if session.scalar(select(func.count()).where(Article.kb == kb)):
        raise Conflict(f"Article KB{kb} already exists.")
    if new.rules is not None:
        validate_rules(new.rules, **STORAGE_LIMITS)
    created_at = new.created_at or utcnow()
    article = Article(kb=kb, source_locale=new.source_locale, created_at=created_at, current_seq=1)
    session.add(article)
    session.flush()
    revision = Revision(
        article_id=article.id,
        seq=1,
        number=new.number,
        created_at=created_at,
        author=new.author,
        summary=new.summary,
        keywords=list(new.keywords),
        related=list(new.related),
        applies_to=[dict(entry) for entry in new.applies_to],
        rules=dict(new.rules) if new.rules is not None else None,
        examples=[dict(example) for example in new.examples],
    )
    session.add(revision)
    session.flush()
    for locale, (title, sections) in new.texts.items():
        session.add(
            RevisionText(
                revision_id=revision.id,
                locale=locale,
                title=title,
                sections=[{"heading": s.get("heading"), "body": s["body"]} for s in sections],
                source_seq=1,
                changed_seq=1,
            )
        )
    replace_applicability_index(session, article.id, revision.applies_to)
    session.flush()
    # Registered systems get their verdicts on the new article in this same transaction.
    registered_systems_follow(session, article, None, revision)
    index_article(session, article.id)
    feed.record(session, revision.id, feed.CREATED)
    session.expire(revision, ["texts"])
    return snapshot_of(article, revision)


def replace_applicability_index(
    session: Session, article_id: int, applies_to: Sequence[Mapping[str, Any]]
) -> None:
    """Make the filter index reflect the applies-to list of the current revision."""
    session.execute(
        delete(ArticleApplicability).where(ArticleApplicability.article_id == article_id)
    )
    for entry in applies_to:
        session.add(
            ArticleApplicability(
                article_id=article_id,
                product=entry["product"],
                edition=entry.get("edition"),
                architecture=entry.get("architecture"),
                sp_min=entry.get("service_pack_min"),
                sp_max=entry.get("service_pack_max"),
            )
        )


@dataclass(frozen=True)
class ArticleListHit:
    """One article in a list or search result."""

    kb: str
    source_locale: str
    titles: Mapping[str, str]
    revision: RevisionInfo
    snippet: str | None = None
    matched_locale: str | None = None
    score: float | None = None


@dataclass(frozen=True)
class ArticlePage:
    """One page of a list, with the total count of matches.

    `total_relation` is "gte" when a search stopped counting at its cap (search/matching.py,
    MAX_RANKED): `total` is then a lower bound.
    """

    items: list[ArticleListHit]
    total: int
    total_relation: str = "eq"


def applicability_filter(
    product: str | None,
    edition: str | None,
    architecture: str | None,
    service_pack: int | None,
) -> Any:
    """A `Article.id IN (…)` clause for the applies-to filters, or None without filters."""
    if not any(value is not None for value in (product, edition, architecture, service_pack)):
        return None
    entry = select(ArticleApplicability.article_id)
    if product is not None:
        entry = entry.where(ArticleApplicability.product == product)
    # An entry without an edition or architecture covers them all.
    if edition is not None:
        entry = entry.where(
            (ArticleApplicability.edition == edition) | ArticleApplicability.edition.is_(None)
        )
    if architecture is not None:
        entry = entry.where(
            (ArticleApplicability.architecture == architecture)
            | ArticleApplicability.architecture.is_(None)
        )
    if service_pack is not None:
        entry = entry.where(
            (ArticleApplicability.sp_min.is_(None) | (ArticleApplicability.sp_min <= service_pack))
            & (
                ArticleApplicability.sp_max.is_(None)
                | (ArticleApplicability.sp_max >= service_pack)
            )
        )
    return Article.id.in_(entry)


def list_hits(session: Session, article_ids: Sequence[int]) -> dict[int, ArticleListHit]:
    """Titles and current revision of the given articles, in two queries."""
    if not article_ids:
        return {}
    rows = session.execute(
        select(Article.id, Article.kb, Article.source_locale, Revision)
        .join(Revision, (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq))
        .where(Article.id.in_(article_ids))
    ).all()
    revision_ids = [row.Revision.id for row in rows]
    titles: dict[int, dict[str, str]] = {}
    for revision_id, locale, title in session.execute(
        select(RevisionText.revision_id, RevisionText.locale, RevisionText.title).where(
            RevisionText.revision_id.in_(revision_ids)
        )
    ):
        titles.setdefault(revision_id, {})[locale] = title
    return {
        row.id: ArticleListHit(
            kb=row.kb,
            source_locale=row.source_locale,
            titles=titles.get(row.Revision.id, {}),
            revision=revision_info(row.Revision),
        )
        for row in rows
    }


def list_articles(
    session: Session,
    *,
    product: str | None = None,
    edition: str | None = None,
    architecture: str | None = None,
    service_pack: int | None = None,
    page: int = 1,
    per_page: int = 20,
) -> ArticlePage:
    """Articles by KB number, filtered by applies-to (a query goes to kbservice.search)."""
    query = select(Article.id)
    condition = applicability_filter(product, edition, architecture, service_pack)
    if condition is not None:
        query = query.where(condition)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(
        session.scalars(
            query.order_by(func.length(Article.kb), Article.kb)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    hits = list_hits(session, ids)
    return ArticlePage(items=[hits[i] for i in ids], total=total)


def current_revision_ids(session: Session, product: str | None = None) -> list[int]:
    """The ids of every article's current revision, in KB order; only `product`'s if given."""
    query = select(Revision.id).join(
        Article, (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq)
    )
    condition = applicability_filter(product, None, None, None)
    if condition is not None:
        query = query.where(condition)
    return list(session.scalars(query.order_by(func.length(Article.kb), Article.kb)))
