"""Matching and ranking in the database's own full-text index (FTS5 or tsvector + GIN).

One statement answers a page: the documents that hold every required unit, each scored by
the engine (ranking.py), boosted in the preferred locale and by the bonus phrases; an
article ranks by its best document, then by KB number; the total comes with the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    case,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from ..fulltext.documents import fts5_phrase, tsquery_phrase
from ..fulltext.engines import FTS_TABLE
from ..fulltext.models import SearchDocument
from ..fulltext.ranking import (
    LOCALE_BOOST,
    POSTGRESQL_NORMALIZATION,
    POSTGRESQL_WEIGHTS,
    SQLITE_WEIGHTS,
)
from .parser import Phrase

# An article has a document per locale that matched: usually at most two.
DOCUMENTS_PER_ARTICLE = 2
_documents = SearchDocument.__table__
_fts = table(FTS_TABLE, column("rowid"))


@dataclass(frozen=True)
class Ranked:
    """One article of the page: its best document's locale and score."""

    article_id: int
    locale: str
    score: float


def fts5_match(phrases: Sequence[Phrase], joiner: str = " AND ") -> str:
    """An FTS5 query requiring (or, with " OR ", allowing) every phrase."""
    return joiner.join(fts5_phrase(phrase.terms) for phrase in phrases)


def tsquery(phrases: Sequence[Phrase], joiner: str = " & ", label: str = "") -> str:
    """A tsquery requiring (or, with " | ", allowing) every phrase."""
    return joiner.join(tsquery_phrase(phrase.terms, label) for phrase in phrases)


def rank_page(
    connection: Connection,
    required: Sequence[Phrase],
    bonus: Sequence[Phrase],
    locale: str | None,
    allowed: Any,
    named: Sequence[int],
    window: tuple[int, int],
) -> tuple[list[Ranked], int]:
    """The window of the ranking (articles not in `named`), and its total.

    Sorted by the ranking key (boosted score, then KB number), the matching documents
    list every article first at its best document, so the first n distinct articles of
    `ORDER BY key LIMIT m` are the first n of the ranking: the database keeps a top-m heap
    instead of grouping every document.
    """
    sqlite = connection.dialect.name == "sqlite"
    columns, score, parameters = _hits(sqlite, required, bonus)
    # Only the boosted score is selected: PostgreSQL computes a second copy for every
    # match, reading its tsvector again (FTS5 computes bm25() once either way).
    boosted = (score * case((_documents.c.locale == locale, LOCALE_BOOST), else_=1.0)).label(
        "boosted"
    )
    conditions = []
    if named:
        conditions.append(_documents.c.article_id.not_in(named))
    if allowed is not None:
        conditions.append(_documents.c.article_id.in_(allowed))
    matched = columns.add_columns(boosted).where(*conditions)
    start, end = window
    leading: list[int] = []
    total: int | None = None
    if end > start:
        # Only a phrase makes PostgreSQL read each candidate's tsvector to count it.
        one_pass = not sqlite and any(len(phrase.terms) > 1 for phrase in required)
        ordered = _ordered(matched, one_pass)
        limit = DOCUMENTS_PER_ARTICLE * end
        while True:
            rows = connection.execute(ordered.limit(limit), parameters).all()
            leading = list(dict.fromkeys(row.article_id for row in rows))
            complete = len(rows) < limit
            if complete:
                total = len(leading)
            elif one_pass:
                total = int(rows[0].total)
            if complete or len(leading) >= end:
                break
            limit *= 4
    if total is None:
        counted = select(func.count()).select_from(
            matched.with_only_columns(_documents.c.article_id).distinct().subquery()
        )
        total = int(connection.scalar(counted, parameters) or 0)
    page = leading[start:end]
    if not page:
        return [], total
    scores: dict[int, dict[str, float]] = {}
    for row in connection.execute(matched.where(_documents.c.article_id.in_(page)), parameters):
        scores.setdefault(row.article_id, {})[row.locale] = float(row.boosted)
    return [_best(article_id, scores[article_id], locale) for article_id in page], total


def _ordered(matched: Any, with_total: bool) -> Any:
    """The matching documents by the ranking key, with the total beside each row if asked.

    PostgreSQL checks a phrase against every candidate's tsvector (GIN holds no positions),
    in each statement that matches: with the total beside the page, the candidates are
    read once, kept in a materialized CTE and counted there. For single words (GIN alone
    counts them) and on SQLite, keeping every match costs more than a second statement.
    """
    if not with_total:
        kb, locale, boosted = _documents.c.kb, _documents.c.locale, matched.selected_columns.boosted
        return matched.order_by(boosted.desc(), func.length(kb), kb, locale)
    hits = matched.cte("hits").prefix_with("MATERIALIZED")
    total = select(func.count(hits.c.article_id.distinct())).scalar_subquery()
    return select(hits, total.label("total")).order_by(
        hits.c.boosted.desc(), func.length(hits.c.kb), hits.c.kb, hits.c.locale
    )


def _best(article_id: int, scores: dict[str, float], locale: str | None) -> Ranked:
    """An article scores as its best document; shown in the preferred locale if it matched."""
    best = max(scores.values())
    if locale not in scores:
        locale = min(scores, key=lambda name: (-scores[name], name))
    return Ranked(article_id, locale, best)


def _hits(
    sqlite: bool, required: Sequence[Phrase], bonus: Sequence[Phrase]
) -> tuple[Any, Any, dict[str, str]]:
    """The documents holding every required unit (article id, locale, KB number), their score."""
    columns = (_documents.c.article_id, _documents.c.locale, _documents.c.kb)
    if sqlite:
        parameters = {"match": fts5_match(required)}
        score: Any = literal_column(f"-bm25(search_fts, {SQLITE_WEIGHTS})")
        source: Any = _fts.join(_documents, _documents.c.id == _fts.c.rowid)
        if bonus:
            parameters["bonus"] = fts5_match(bonus, " OR ")
            extra = (
                select(
                    literal_column("rowid").label("id"),
                    literal_column(f"-bm25(search_fts, {SQLITE_WEIGHTS})").label("bonus"),
                )
                .select_from(_fts)
                .where(text("search_fts MATCH :bonus"))
                .subquery("b")
            )
            source = source.outerjoin(extra, extra.c.id == _documents.c.id)
            score = score + func.coalesce(extra.c.bonus, 0)
        query = select(*columns).select_from(source)
        return query.where(text("search_fts MATCH :match")), score, parameters
    parameters = {"match": tsquery(required)}
    match = cast(bindparam("match"), TSQUERY)
    weights = literal_column(f"'{POSTGRESQL_WEIGHTS}'::float4[]")
    score = func.ts_rank(weights, _documents.c.terms, match, POSTGRESQL_NORMALIZATION)
    if bonus:
        parameters["bonus"] = tsquery(bonus, " | ")
        extra_match = cast(bindparam("bonus"), TSQUERY)
        score = score + case(
            (
                _documents.c.terms.op("@@")(extra_match),
                func.ts_rank(weights, _documents.c.terms, extra_match, POSTGRESQL_NORMALIZATION),
            ),
            else_=0,
        )
    query = select(*columns).where(_documents.c.terms.op("@@")(match))
    return query, score, parameters
