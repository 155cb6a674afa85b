"""One-term queries (`推奨`, `ipsec`, `885348`), ranked and paged in SQL by integers.

An article ranks by its best posting's boosted integer impact, then by KB number. Sorted
by that same key, the postings of the term list every article first at its best posting,
so the first n distinct articles of `ORDER BY key LIMIT m` are exactly the first n of
the ranking: the database keeps a top-m heap instead of grouping every posting, and
nothing but the page and its postings reaches Python.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, case, distinct, func, select

from ..fulltext.models import SearchPosting
from ..fulltext.ranking import BOOSTED, IMPACT_SCALE, LOCALE_BOOST, PLAIN, Match, best_document

_postings = SearchPosting.__table__
# An article has a posting per locale that holds the term: usually at most two.
POSTINGS_PER_ARTICLE = 2


def rank_one_term(
    connection: Connection,
    term: str,
    term_idf: float,
    locale: str | None,
    allowed: Any,
    named: Sequence[int],
    window: tuple[int, int],
) -> tuple[list[Match], int]:
    """The window of a one-term query's ranking, and its total (articles not in `named`)."""
    parameters: dict[str, Any] = {"term": term, "locale": locale, "named": list(named)}
    start, end = window
    if end <= start:
        return [], _count(connection, parameters, bool(named), allowed)
    leading, complete = _leading_articles(connection, parameters, locale, named, allowed, end)
    total = len(leading) if complete else _count(connection, parameters, bool(named), allowed)
    page = leading[start:end]
    if not page:
        return [], total
    scores = _scores(connection, term, term_idf, locale, [article_id for article_id, _ in page])
    return [best_document(a, kb, scores[a], locale) for a, kb in page], total


def _leading_articles(
    connection: Connection,
    parameters: dict[str, Any],
    locale: str | None,
    named: Sequence[int],
    allowed: Any,
    wanted: int,
) -> tuple[list[tuple[int, str]], bool]:
    """The first `wanted` articles (id, KB) of the ranking; True if that is all of them."""
    statement = _ordered_postings(bool(locale), bool(named), allowed)
    limit = POSTINGS_PER_ARTICLE * wanted
    while True:
        rows = connection.execute(statement, {**parameters, "limit": limit}).all()
        articles: dict[int, str] = {}
        for article_id, kb in rows:
            articles.setdefault(article_id, kb)  # at its first (best) posting
        leading = list(articles.items())
        complete = len(rows) < limit
        if complete or len(leading) >= wanted:
            return leading, complete
        limit *= 4


def _count(connection: Connection, parameters: dict[str, Any], named: bool, allowed: Any) -> int:
    """How many articles hold the term."""
    query = _cached_count(named) if allowed is None else _build_count(named, allowed)
    return int(connection.scalar(query, parameters) or 0)


@functools.lru_cache(maxsize=4)
def _cached_count(named: bool) -> Any:
    return _build_count(named, None)


def _build_count(named: bool, allowed: Any) -> Any:
    return select(func.count(distinct(_postings.c.article_id))).where(*_conditions(named, allowed))


def _scores(
    connection: Connection, term: str, term_idf: float, locale: str | None, ids: list[int]
) -> dict[int, dict[str, float]]:
    """Each article's score per locale that holds the term: its BM25 weight, boosted."""
    scores: dict[int, dict[str, float]] = {}
    for article_id, document_locale, impact_value in connection.execute(
        _page_postings(), {"term": term, "ids": ids}
    ):
        boost_factor = LOCALE_BOOST if document_locale == locale else 1.0
        scores.setdefault(article_id, {})[document_locale] = (
            term_idf * impact_value / IMPACT_SCALE * boost_factor
        )
    return scores


def _conditions(named: bool, allowed: Any) -> list[Any]:
    conditions = [_postings.c.term == bindparam("term")]
    if named:
        conditions.append(_postings.c.article_id.not_in(bindparam("named", expanding=True)))
    if allowed is not None:
        conditions.append(_postings.c.article_id.in_(allowed))
    return conditions


def _ordered_postings(preferred: bool, named: bool, allowed: Any) -> Any:
    if allowed is None:
        return _cached_ordered_postings(preferred, named)
    return _build_ordered_postings(preferred, named, allowed)


@functools.lru_cache(maxsize=8)
def _cached_ordered_postings(preferred: bool, named: bool) -> Any:
    # Without filters the statement has a handful of shapes: build each once.
    return _build_ordered_postings(preferred, named, None)


def _build_ordered_postings(preferred: bool, named: bool, allowed: Any) -> Any:
    """The term's postings (article id, KB) in ranking order, the first `limit` of them."""
    # Without a preferred locale every weight is × PLAIN: ordering by impact is the same.
    weight = (
        _postings.c.impact * case((_postings.c.locale == bindparam("locale"), BOOSTED), else_=PLAIN)
        if preferred
        else _postings.c.impact
    )
    return (
        select(_postings.c.article_id, _postings.c.kb)
        .where(*_conditions(named, allowed))
        .order_by(weight.desc(), func.length(_postings.c.kb), _postings.c.kb)
        .limit(bindparam("limit"))
    )


@functools.cache
def _page_postings() -> Any:
    return select(_postings.c.article_id, _postings.c.locale, _postings.c.impact).where(
        _postings.c.term == bindparam("term"),
        _postings.c.article_id.in_(bindparam("ids", expanding=True)),
    )
