"""Keeping the search index in step with the articles' current revisions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from ..storage.models import Article, Revision, RevisionText
from .models import SearchDocument, SearchPosting
from .ranking import impact
from .tokenizer import tokenize, tokenize_segments

BATCH_SIZE = 500


@dataclass(frozen=True)
class IndexReport:
    """What an indexing run wrote."""

    articles: int
    documents: int
    postings: int


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
    """(Re)index many articles in batches; `progress(n)` is told of every n articles done."""
    documents = postings = 0
    for start in range(0, len(article_ids), BATCH_SIZE):
        batch = article_ids[start : start + BATCH_SIZE]
        session.execute(delete(SearchPosting).where(SearchPosting.article_id.in_(batch)))
        session.execute(delete(SearchDocument).where(SearchDocument.article_id.in_(batch)))
        written = _write(session, _load(session, batch))
        documents += written[0]
        postings += written[1]
        if progress is not None:
            progress(len(batch))
    return IndexReport(articles=len(article_ids), documents=documents, postings=postings)


def rebuild_index(
    session: Session, *, progress: Callable[[int], None] | None = None
) -> IndexReport:
    """Drop the whole index and build it again from every article's current revision."""
    session.execute(delete(SearchPosting))
    session.execute(delete(SearchDocument))
    ids = list(session.scalars(select(Article.id).order_by(Article.id)))
    return index_articles(session, ids, progress=progress)


def count_articles(session: Session) -> int:
    """How many articles a rebuild indexes."""
    return session.scalar(select(func.count()).select_from(Article)) or 0


def body_segments(sections: Iterable[Mapping[str, Any]]) -> list[str]:
    """The texts of an article body that are indexed: each heading and each section body."""
    segments: list[str] = []
    for section in sections:
        if section.get("heading"):
            segments.append(section["heading"])
        segments.append(section["body"])
    return segments


@dataclass(frozen=True)
class _Text:
    article_id: int
    kb: str
    revision_id: int
    locale: str
    title: str
    sections: Sequence[Mapping[str, Any]]


def _load(session: Session, article_ids: Sequence[int]) -> list[_Text]:
    rows = session.execute(
        select(
            Article.id,
            Article.kb,
            Revision.id,
            RevisionText.locale,
            RevisionText.title,
            RevisionText.sections,
        )
        .join(Revision, (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq))
        .join(RevisionText, RevisionText.revision_id == Revision.id)
        .where(Article.id.in_(article_ids))
        .order_by(Article.id, RevisionText.locale)
    )
    return [_Text(*row) for row in rows]


def _write(session: Session, texts: Sequence[_Text]) -> tuple[int, int]:
    documents: list[dict[str, Any]] = []
    postings: list[dict[str, Any]] = []
    for text in texts:
        document, found = _analyse(text)
        documents.append(document)
        postings.extend(found)
    # Core inserts: the ORM's bulk path would inspect every one of many thousand rows.
    if documents:
        session.execute(insert(SearchDocument.__table__), documents)
    if postings:
        # In key order: on PostgreSQL a term's postings then share heap pages (a bulk
        # build reads like a clustered table), on SQLite the B-tree fills page by page.
        postings.sort(key=itemgetter("term", "article_id", "locale"))
        session.execute(insert(SearchPosting.__table__), postings)
    return len(documents), len(postings)


def _analyse(text: _Text) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    title_tokens, _ = tokenize(text.title)
    body_tokens = tokenize_segments(body_segments(text.sections))
    positions: dict[str, tuple[list[int], list[int]]] = {}
    for field, tokens in ((0, title_tokens), (1, body_tokens)):
        for token in tokens:
            positions.setdefault(token.term, ([], []))[field].append(token.position)
    document = {
        "article_id": text.article_id,
        "locale": text.locale,
        "revision_id": text.revision_id,
    }
    postings = [
        {
            "term": term,
            "article_id": text.article_id,
            "locale": text.locale,
            "kb": text.kb,
            "impact": impact(len(title), len(body), len(title_tokens), len(body_tokens)),
            "title_length": len(title_tokens),
            "body_length": len(body_tokens),
            "title_positions": " ".join(map(str, title)),
            "body_positions": " ".join(map(str, body)),
        }
        for term, (title, body) in positions.items()
    ]
    return document, postings
