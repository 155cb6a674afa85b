"""Keeping the search index in step with the articles' current revisions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from ..storage.bulk import copy_rows
from ..storage.models import Article, Revision, RevisionText
from .documents import IndexForm
from .engines import bulk_build, clear, fts_add, fts_remove, is_sqlite
from .models import SearchDocument, SearchLocale
from .workers import Source, Tokenizers, index_forms

BATCH_SIZE = 500
# A document id's low bits: its locale's slot (up to 255 locales).
LOCALE_BITS = 8
_documents = SearchDocument.__table__
_locales = SearchLocale.__table__


@dataclass(frozen=True)
class IndexReport:
    """What an indexing run wrote."""

    articles: int
    documents: int
    tokens: int


def index_article(session: Session, article_id: int) -> None:
    """(Re)index the article's current revision in every locale, in the caller's transaction.

    Every writer of a revision calls this, so the index never lags behind a commit.
    """
    index_articles(session, [article_id])


def index_articles(
    session: Session,
    article_ids: Sequence[int],
    *,
    progress: Callable[[int], None] | None = None,
) -> IndexReport:
    """(Re)index many articles in batches; `progress(n)` is told of every n articles done.

    A document whose indexed revision is current is left as it is.
    """
    sqlite = is_sqlite(session)
    documents = tokens = 0
    for start in range(0, len(article_ids), BATCH_SIZE):
        batch = article_ids[start : start + BATCH_SIZE]
        current = _load(session, Revision.seq == Article.current_seq, Article.id.in_(batch))
        indexed_now = {
            (row.article_id, row.locale): row
            for row in session.execute(
                select(
                    _documents.c.id,
                    _documents.c.article_id,
                    _documents.c.locale,
                    _documents.c.revision_id,
                ).where(_documents.c.article_id.in_(batch))
            )
        }
        fresh = []
        for found in current:
            row = indexed_now.pop((found.article_id, found.locale), None)
            if row is None or row.revision_id != found.revision_id:
                fresh.append(found)
                if row is not None:
                    indexed_now[(found.article_id, found.locale)] = row
        _remove(session, list(indexed_now.values()), sqlite)
        written = _add(session, fresh, sqlite)
        documents += len(fresh)
        tokens += written
        if progress is not None:
            progress(len(batch))
    return IndexReport(articles=len(article_ids), documents=documents, tokens=tokens)


def rebuild_index(
    session: Session, *, progress: Callable[[int], None] | None = None, jobs: int = 1
) -> IndexReport:
    """Drop the whole index and build it again from every article's current revision.

    With jobs > 1, that many worker processes tokenize while this one reads and writes.
    """
    clear(session)
    ids = list(session.scalars(select(Article.id).order_by(Article.id)))
    documents = tokens = 0
    with (
        bulk_build(session),
        Tokenizers(jobs, tsvector=not is_sqlite(session)) as tokenizers,
    ):
        for (batch, texts), forms in tokenizers.forms(
            _current_texts(session, ids), lambda found: sources(found[1])
        ):
            tokens += write_documents(session, texts, forms)
            documents += len(texts)
            if progress is not None:
                progress(len(batch))
    return IndexReport(articles=len(ids), documents=documents, tokens=tokens)


def _current_texts(
    session: Session, ids: Sequence[int]
) -> Iterator[tuple[Sequence[int], list[DocumentText]]]:
    """Batches of article ids with the texts of their current revisions, read as needed."""
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start : start + BATCH_SIZE]
        yield batch, _load(session, Revision.seq == Article.current_seq, Article.id.in_(batch))


def count_articles(session: Session) -> int:
    """How many articles a rebuild indexes."""
    return session.scalar(select(func.count()).select_from(Article)) or 0


def document_id(article_id: int, slot: int) -> int:
    """A document's id (and FTS5 rowid): its article id above its locale's slot.

    So SQLite ranks, boosts the preferred locale and counts articles on FTS5 alone, and
    the documents of an article are neighbours in every engine's id order.
    """
    return article_id << LOCALE_BITS | slot


def locale_slots(session: Session, locales: Iterable[str]) -> dict[str, int]:
    """Each locale's slot, giving a new locale the next free one."""
    wanted = set(locales)
    slots = {
        locale: slot for slot, locale in session.execute(select(_locales.c.slot, _locales.c.locale))
    }
    for locale in sorted(wanted - slots.keys()):
        slot = max(slots.values(), default=0) + 1
        if slot >= 1 << LOCALE_BITS:
            raise ValueError(f"more than {(1 << LOCALE_BITS) - 1} locales in the search index")
        session.execute(insert(_locales).values(slot=slot, locale=locale))
        slots[locale] = slot
    return slots


def body_segments(sections: Iterable[Mapping[str, Any]]) -> list[str]:
    """The texts of an article body that are indexed: each heading and each section body."""
    segments: list[str] = []
    for section in sections:
        if section.get("heading"):
            segments.append(section["heading"])
        segments.append(section["body"])
    return segments


@dataclass(frozen=True)
class DocumentText:
    """What one document is indexed from: an article's text in one locale."""

    article_id: int
    kb: str
    revision_id: int
    locale: str
    title: str
    sections: Sequence[Mapping[str, Any]]


def _load(session: Session, *conditions: Any) -> list[DocumentText]:
    rows = session.execute(
        select(
            Article.id,
            Article.kb,
            Revision.id,
            RevisionText.locale,
            RevisionText.title,
            RevisionText.sections,
        )
        .join(Revision, Revision.article_id == Article.id)
        .join(RevisionText, RevisionText.revision_id == Revision.id)
        .where(*conditions)
        .order_by(Article.id, RevisionText.locale)
    )
    return [DocumentText(*row) for row in rows]


def sources(texts: Iterable[DocumentText]) -> list[Source]:
    """What the tokenizer reads of each text: the title and the body's segments."""
    return [(text.title, body_segments(text.sections)) for text in texts]


def _add(session: Session, texts: Sequence[DocumentText], sqlite: bool) -> int:
    """Tokenize and insert documents in-process; how many tokens they hold."""
    return write_documents(session, texts, index_forms(sources(texts), tsvector=not sqlite))


def write_documents(
    session: Session, texts: Sequence[DocumentText], forms: Sequence[IndexForm]
) -> int:
    """Insert new documents (and on SQLite their FTS5 entries); how many tokens they hold."""
    if not texts:
        return 0
    slots = locale_slots(session, {text.locale for text in texts})
    ids = [document_id(text.article_id, slots[text.locale]) for text in texts]
    rows = [
        {
            "id": doc_id,
            "article_id": text.article_id,
            "locale": text.locale,
            "revision_id": text.revision_id,
            "kb": text.kb,
            "terms": form.tsvector,
        }
        for doc_id, text, form in zip(ids, texts, forms, strict=True)
    ]
    if not is_sqlite(session):
        copy_rows(session, _documents, rows)
        return sum(form.tokens for form in forms)
    # Core inserts: the ORM's bulk path would inspect every one of many thousand rows.
    session.execute(insert(_documents), rows)
    fts_add(
        session,
        [
            {"id": doc_id, "title": form.fts_title, "body": form.fts_body}
            for doc_id, form in zip(ids, forms, strict=True)
        ],
    )
    return sum(form.tokens for form in forms)


def _remove(session: Session, rows: Sequence[Any], sqlite: bool) -> None:
    """Delete documents; on SQLite first from FTS5, with the text they were indexed from."""
    if not rows:
        return
    if sqlite:
        by_key = {(row.revision_id, row.locale): row.id for row in rows}
        old = _load(session, Revision.id.in_({row.revision_id for row in rows}))
        old = [found for found in old if (found.revision_id, found.locale) in by_key]
        fts_remove(
            session,
            [
                {
                    "id": by_key[(found.revision_id, found.locale)],
                    "title": form.fts_title,
                    "body": form.fts_body,
                }
                for found, form in zip(old, index_forms(sources(old), tsvector=False), strict=True)
            ],
        )
    session.execute(delete(_documents).where(_documents.c.id.in_([row.id for row in rows])))
