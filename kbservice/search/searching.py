"""Answering queries from the index: matching, BM25 ranking, KB numbers first, snippets.

Postings carry precomputed integer BM25 weights (kbservice.fulltext.ranking), so:

- a one-term query (`推奨`, `ipsec`, `885348`) is counted, ranked and paged in SQL, by
  integers, without reading more than a page of hits (kbservice.search.one_term);
- any other query reads the postings of the documents that hold every required term
  (one self-join, rarest term first), checks phrases on positions and adds up the
  weights in Python, then keeps the page's best with a total order.

Either way SQLite and PostgreSQL rank every hit identically. Answers and term
frequencies are cached per process, under a stamp of the index (kbservice.search.cache).
"""

from __future__ import annotations

import functools
import heapq
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Text, bindparam, cast, func, select
from sqlalchemy.orm import Session

from ..articles.reading import ArticleListHit, ArticlePage, RevisionInfo, applicability_filter
from ..fulltext.indexer import body_segments
from ..fulltext.models import SearchDocument, SearchPosting
from ..fulltext.ranking import (
    IMPACT_SCALE,
    LOCALE_BOOST,
    PROXIMITY_WEIGHT,
    Match,
    best_document,
    idf,
    impact,
)
from ..storage.models import Article, Revision, RevisionText
from ..storage.readers import ThreadReaders
from .cache import CacheView, open_cache, open_cache_for_reads
from .one_term import rank_one_term
from .parser import ParsedQuery, parse_query
from .postings import PhraseCounter, documents_with, phrase_counter
from .snippets import Highlighter, make_snippet

_postings = SearchPosting.__table__
_documents = SearchDocument.__table__
_articles = Article.__table__
_revisions = Revision.__table__
_texts = RevisionText.__table__

# Parsing is pure; the same queries come again and again.
_parse = functools.lru_cache(maxsize=512)(parse_query)

# The applies-to filters: product, edition, architecture, service pack.
Filters = tuple[str | None, str | None, str | None, int | None]
# Per matching article: its KB number and the score of each locale's document.
Scores = dict[int, tuple[str, dict[str, float]]]


def search_articles(
    session: Session,
    q: str,
    *,
    locale: str | None = None,
    product: str | None = None,
    edition: str | None = None,
    architecture: str | None = None,
    service_pack: int | None = None,
    page: int = 1,
    per_page: int = 20,
    readers: ThreadReaders | None = None,
) -> ArticlePage:
    """Articles matching `q`, best first: KB numbers named in `q`, then by relevance.

    `locale` is preferred, not required: its documents score 1.25 times higher. The
    filters are those of the article list (applies-to). Public reads, whose session
    never writes, pass `readers`: a cached answer then costs one autocommit query.
    """
    parsed = _parse(q)
    if parsed.empty:
        return ArticlePage(items=[], total=0)
    filters: Filters = (product, edition, architecture, service_pack)
    cache = open_cache_for_reads(readers) if readers is not None else open_cache(session)
    # The parsed query is the normalized one: `IPSec` and `ＩＰＳＥＣ` share an entry.
    key = (parsed, locale, filters, page, per_page)
    found = cache.page(key) if cache is not None else None
    if found is None:
        found = _search(session, cache, parsed, locale, filters, page, per_page)
        if cache is not None:
            cache.keep_page(key, found)
    return found


def _search(
    session: Session,
    cache: CacheView | None,
    parsed: ParsedQuery,
    locale: str | None,
    filters: Filters,
    page: int,
    per_page: int,
) -> ArticlePage:
    """One page of the answer, computed."""
    connection = session.connection()
    condition = applicability_filter(*filters)
    allowed = select(Article.id).where(condition) if condition is not None else None
    named = _named_articles(connection, parsed.kb_numbers, allowed)
    # The page is a window on `named + ranked`.
    start, end = (page - 1) * per_page, page * per_page
    window = (max(start - len(named), 0), max(end - len(named), 0))
    frequencies, documents = _frequencies(connection, parsed.terms, cache)
    term_idf = {term: idf(frequencies[term], documents) for term in parsed.terms}
    if any(frequencies[term] == 0 for p in parsed.required for _, term in p.terms):
        ranked: list[Match] = []
        total = 0
    elif len(parsed.required) == 1 and len(parsed.terms) == 1:
        (term,) = parsed.terms
        ranked, total = rank_one_term(
            connection, term, term_idf[term], locale, allowed, named, window
        )
    else:
        scores = _match(connection, parsed, frequencies, term_idf, locale, allowed)
        ranked, total = _window(scores, named, locale, window)
    found = {match.article_id: match for match in ranked}
    ids = [*named[start:end], *found]
    return ArticlePage(
        items=_hits(connection, ids, found, parsed, locale), total=len(named) + total
    )


def _named_articles(connection: Connection, numbers: Sequence[str], allowed: Any) -> list[int]:
    if not numbers:
        return []
    query = select(_articles.c.kb, _articles.c.id).where(_articles.c.kb.in_(numbers))
    if allowed is not None:
        query = query.where(_articles.c.id.in_(allowed))
    by_kb = {kb: article_id for kb, article_id in connection.execute(query)}
    return [by_kb[kb] for kb in numbers if kb in by_kb]


def _frequencies(
    connection: Connection, terms: Sequence[str], cache: CacheView | None
) -> tuple[dict[str, int], int]:
    """Document frequency of each term, and the number of documents: cached, or counted."""
    known, documents = cache.frequencies(terms) if cache is not None else ({}, None)
    missing = [term for term in terms if term not in known]
    if missing or documents is None:
        counted, documents = _count_frequencies(connection, missing)
        known.update(counted)
        if cache is not None:
            cache.keep_frequencies(counted, documents)
    return {term: known[term] for term in terms}, documents


def _count_frequencies(connection: Connection, terms: Sequence[str]) -> tuple[dict[str, int], int]:
    """Document frequencies and the number of documents, in one round trip if any term occurs."""
    rows = connection.execute(_frequency_rows(), {"terms": list(terms)}).all() if terms else []
    found = {term: int(count) for term, count, _ in rows}
    documents = rows[0][2] if rows else connection.scalar(_document_count())
    return {term: found.get(term, 0) for term in terms}, int(documents or 0)


@functools.cache
def _document_count() -> Any:
    return select(func.count()).select_from(_documents)


@functools.cache
def _frequency_rows() -> Any:
    return (
        select(_postings.c.term, func.count(), _document_count().scalar_subquery())
        .where(_postings.c.term.in_(bindparam("terms", expanding=True)))
        .group_by(_postings.c.term)
    )


def _window(
    scores: Scores, named: Sequence[int], locale: str | None, window: tuple[int, int]
) -> tuple[list[Match], int]:
    """The window of the ranking of `scores` (best first, then by KB), and its total."""
    for article_id in named:
        scores.pop(article_id, None)
    leading = heapq.nsmallest(
        window[1],
        ((-max(by.values()), len(kb), kb, a) for a, (kb, by) in scores.items()),
    )
    page = [best_document(a, kb, scores[a][1], locale) for _, _, kb, a in leading[window[0] :]]
    return page, len(scores)


# One scoring step: a term's impact column (no counter), or a phrase's counter; its IDF
# weight (for a phrase the sum of its terms' IDF, as in Lucene); whether it is required.
_Step = tuple[PhraseCounter | None, int, float, bool]


def _match(
    connection: Connection,
    parsed: ParsedQuery,
    frequencies: Mapping[str, int],
    term_idf: Mapping[str, float],
    locale: str | None,
    allowed: Any,
) -> Scores:
    """Every article with a document that holds every required unit, scored per document."""
    required = list(dict.fromkeys(t for p in parsed.required for _, t in p.terms))
    positional = {
        t for p in (*parsed.required, *parsed.proximity) if len(p.terms) > 1 for _, t in p.terms
    }
    # Rarest term first: it drives the join, the others are primary-key lookups.
    ordered = sorted(required, key=lambda term: (frequencies[term], term))
    query, parameters = documents_with(ordered, positional, allowed)
    rows = connection.execute(query, parameters).all()
    optional = _optional(connection, [p.first for p in parsed.optional])
    steps = _plan(parsed, ordered, positional, term_idf)
    scores: Scores = {}
    for row in rows:
        # The same additions in the same order as ever: scores are floats.
        score = 0.0
        for counter, column, weight, is_required in steps:
            if counter is None:
                score += weight * row[column]
                continue
            title_tf, body_tf = counter(row)
            if title_tf or body_tf:
                score += weight * impact(title_tf, body_tf, row[3], row[4])
            elif is_required:
                break
        else:
            article_id, document_locale = row[0], row[1]
            for term, weights in optional:
                score += (
                    term_idf[term] * weights.get((article_id, document_locale), 0) / IMPACT_SCALE
                )
            if document_locale == locale:
                score *= LOCALE_BOOST
            scores.setdefault(article_id, (row[2], {}))[1][document_locale] = score
    return scores


def _plan(
    parsed: ParsedQuery,
    ordered: Sequence[str],
    positional: set[str],
    term_idf: Mapping[str, float],
) -> list[_Step]:
    """The scoring steps of the required units, then of the proximity bonuses."""
    # The column of each term's impact (documents_with); its positions, if fetched, follow.
    columns: dict[str, int] = {}
    column = 5
    for term in ordered:
        columns[term] = column
        column += 3 if term in positional else 1
    steps: list[_Step] = []
    for phrases, share, is_required in (
        (parsed.required, 1.0, True),
        (parsed.proximity, PROXIMITY_WEIGHT, False),
    ):
        for phrase in phrases:
            weight = share * sum(term_idf[t] for _, t in phrase.terms) / IMPACT_SCALE
            if len(phrase.terms) == 1:
                steps.append((None, columns[phrase.first], weight, is_required))
            else:
                spec = [(offset, columns[term]) for offset, term in phrase.terms]
                steps.append((phrase_counter(spec), 0, weight, is_required))
    return steps


def _optional(
    connection: Connection, terms: Sequence[str]
) -> list[tuple[str, dict[tuple[int, str], int]]]:
    """The impacts of the optional terms, per document."""
    found = []
    for term in terms:
        rows = connection.execute(
            select(_postings.c.article_id, _postings.c.locale, _postings.c.impact).where(
                _postings.c.term == term
            )
        )
        found.append((term, {(article_id, loc): weight for article_id, loc, weight in rows}))
    return found


@functools.cache
def _hit_rows() -> Any:
    """Each article's current revision with its texts; sections as stored (JSON text)."""
    current = (_revisions.c.article_id == _articles.c.id) & (
        _revisions.c.seq == _articles.c.current_seq
    )
    return (
        select(
            _articles.c.id,
            _articles.c.kb,
            _articles.c.source_locale,
            _revisions.c.seq,
            _revisions.c.number,
            _revisions.c.created_at,
            _revisions.c.author,
            _revisions.c.summary,
            _texts.c.locale,
            _texts.c.title,
            # Decoded in Python, and only for the locale that the snippet comes from.
            cast(_texts.c.sections, Text),
        )
        .select_from(
            _articles.join(_revisions, current).join(
                _texts, _texts.c.revision_id == _revisions.c.id
            )
        )
        .where(_articles.c.id.in_(bindparam("ids", expanding=True)))
    )


def _hits(
    connection: Connection,
    ids: Sequence[int],
    matches: Mapping[int, Match],
    parsed: ParsedQuery,
    locale: str | None,
) -> list[ArticleListHit]:
    """The page's hits, with snippets from the locale each matched in, in one query.

    (articles.list_hits would load every revision's texts a second time, in three.)
    """
    if not ids:
        return []
    texts: dict[int, dict[str, tuple[str, str]]] = {}
    heads: dict[int, tuple[str, str, RevisionInfo]] = {}
    for row in connection.execute(_hit_rows(), {"ids": list(ids)}):
        article_id, kb, source, *revision, loc, title, sections = row
        heads[article_id] = (kb, source, RevisionInfo(*revision))
        texts.setdefault(article_id, {})[loc] = (title, sections)
    highlighter = Highlighter(parsed.highlights)
    items: list[ArticleListHit] = []
    for article_id in ids:
        kb, source, revision = heads[article_id]
        by_locale = texts[article_id]
        match = matches.get(article_id)
        if match is not None and match.locale in by_locale:
            matched_locale = match.locale
        else:
            matched_locale = locale if locale in by_locale else source
        title, stored = by_locale[matched_locale]
        sections = json.loads(stored)
        items.append(
            ArticleListHit(
                kb=kb,
                source_locale=source,
                titles={name: text[0] for name, text in by_locale.items()},
                revision=revision,
                snippet=make_snippet(
                    highlighter,
                    title,
                    body_segments(sections),
                    intro=sections[0]["body"] if sections else title,
                ),
                matched_locale=matched_locale,
                score=round(match.score, 4) if match else 0.0,
            )
        )
    return items
