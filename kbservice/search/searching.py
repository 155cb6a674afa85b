"""Answering queries from the index: matching, BM25 ranking, KB numbers first, snippets.

Postings carry precomputed integer BM25 weights (kbservice.search.ranking), so:

- a one-term query (`推奨`, `ipsec`, `885348`) is counted, ranked and paged in SQL, by
  integers, without reading more than a page of hits;
- any other query reads the postings of the documents that hold every required term
  (one self-join, rarest term first), checks phrases on positions and adds up the
  weights in Python, then sorts with a total order.

Either way SQLite and PostgreSQL rank every hit identically.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, distinct, func, literal, select
from sqlalchemy.orm import Session

from ..articles import ArticleListHit, ArticlePage, RevisionInfo, applicability_filter
from ..models import Article, Revision, RevisionText
from .indexer import body_segments
from .models import SearchDocument, SearchPosting
from .parser import ParsedQuery, parse_query
from .postings import documents_with, phrase_counts
from .ranking import BOOSTED, IMPACT_SCALE, LOCALE_BOOST, PLAIN, PROXIMITY_WEIGHT, idf, impact
from .snippets import Highlighter, make_snippet

_postings = SearchPosting.__table__
_documents = SearchDocument.__table__


class _Match(NamedTuple):
    """An article's best document. As tuples, matches sort best first, then by KB number."""

    negated_score: float
    kb_length: int
    kb: str
    article_id: int
    locale: str
    score: float


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
) -> ArticlePage:
    """Articles matching `q`, best first: KB numbers named in `q`, then by relevance.

    `locale` is preferred, not required: its documents score 1.25 times higher. The
    filters are those of the article list (applies-to).
    """
    parsed = parse_query(q)
    if parsed.empty:
        return ArticlePage(items=[], total=0)
    condition = applicability_filter(product, edition, architecture, service_pack)
    allowed = select(Article.id).where(condition) if condition is not None else None
    named = _named_articles(session, parsed.kb_numbers, allowed)
    # The page is a window on `named + ranked`.
    start, end = (page - 1) * per_page, page * per_page
    window = (max(start - len(named), 0), max(end - len(named), 0))
    frequencies, documents = _frequencies(session, parsed.terms)
    term_idf = {term: idf(frequencies[term], documents) for term in parsed.terms}
    if any(frequencies[term] == 0 for p in parsed.required for _, term in p.terms):
        ranked: list[_Match] = []
        total = 0
    elif len(parsed.required) == 1 and len(parsed.terms) == 1:
        (term,) = parsed.terms
        ranked, total = _rank_one_term(
            session, term, term_idf[term], locale, allowed, named, window
        )
    else:
        matches = [
            m
            for m in _match(session, parsed, frequencies, term_idf, locale, allowed)
            if m.article_id not in named
        ]
        total = len(matches)
        ranked = heapq.nsmallest(window[1], matches)[window[0] :]
    found = {match.article_id: match for match in ranked}
    ids = [*named[start:end], *found]
    return ArticlePage(items=_hits(session, ids, found, parsed, locale), total=len(named) + total)


def _named_articles(session: Session, numbers: Sequence[str], allowed: Any) -> list[int]:
    if not numbers:
        return []
    query = select(Article.kb, Article.id).where(Article.kb.in_(numbers))
    if allowed is not None:
        query = query.where(Article.id.in_(allowed))
    by_kb = {kb: article_id for kb, article_id in session.execute(query)}
    return [by_kb[kb] for kb in numbers if kb in by_kb]


def _frequencies(session: Session, terms: Sequence[str]) -> tuple[dict[str, int], int]:
    """Document frequency of each term, and the number of documents, in one round trip."""
    documents = select(func.count()).select_from(_documents).scalar_subquery()
    rows = (
        session.connection()
        .execute(
            select(_postings.c.term, func.count(), documents)
            .where(_postings.c.term.in_(terms))
            .group_by(_postings.c.term)
        )
        .all()
    )
    found = {term: int(count) for term, count, _ in rows}
    return {term: found.get(term, 0) for term in terms}, int(rows[0][2]) if rows else 0


def _rank_one_term(
    session: Session,
    term: str,
    term_idf: float,
    locale: str | None,
    allowed: Any,
    named: Sequence[int],
    window: tuple[int, int],
) -> tuple[list[_Match], int]:
    """The window of a one-term query's ranking, and its total, computed in SQL.

    Articles rank by their best (boosted) integer impact, then by KB number; one
    statement returns the window with the total and each article's postings.
    """
    connection = session.connection()
    parameters: dict[str, Any] = {"term": term, "locale": locale, "named": list(named)}
    if window[1] <= window[0]:
        count = _one_term_count(bool(named), allowed)
        return [], int(connection.scalar(count, parameters) or 0)
    parameters.update(offset=window[0], limit=window[1] - window[0])
    rows = connection.execute(_one_term_page(bool(locale), bool(named), allowed), parameters).all()
    if not rows:
        count = _one_term_count(bool(named), allowed)
        return [], int(connection.scalar(count, parameters) or 0)
    order: dict[int, tuple[int, int, str]] = {}
    scores: dict[int, dict[str, float]] = {}
    for article_id, kb, weight, _, document_locale, impact_value in rows:
        order[article_id] = (-weight, len(kb), kb)
        boost_factor = LOCALE_BOOST if document_locale == locale else 1.0
        scores.setdefault(article_id, {})[document_locale] = (
            term_idf * impact_value / IMPACT_SCALE * boost_factor
        )
    ranked = sorted(order, key=order.__getitem__)
    matches = [_best_document(a, order[a][2], scores[a], locale) for a in ranked]
    return matches, int(rows[0][3])


def _one_term_conditions(named: bool, allowed: Any) -> list[Any]:
    conditions = [_postings.c.term == bindparam("term")]
    if named:
        conditions.append(_postings.c.article_id.not_in(bindparam("named", expanding=True)))
    if allowed is not None:
        conditions.append(_postings.c.article_id.in_(allowed))
    return conditions


def _one_term_count(named: bool, allowed: Any) -> Any:
    """How many articles hold the term."""
    conditions = _one_term_conditions(named, allowed)
    return select(func.count(distinct(_postings.c.article_id))).where(*conditions)


def _one_term_page(preferred: bool, named: bool, allowed: Any) -> Any:
    """A window of the articles holding the term, best first, with the total and postings."""
    if allowed is None:
        return _cached_one_term_page(preferred, named)
    return _build_one_term_page(preferred, named, allowed)


@functools.lru_cache(maxsize=8)
def _cached_one_term_page(preferred: bool, named: bool) -> Any:
    # Without filters the statement has a handful of shapes: build each once.
    return _build_one_term_page(preferred, named, None)


def _build_one_term_page(preferred: bool, named: bool, allowed: Any) -> Any:
    boost = (
        case((_postings.c.locale == bindparam("locale"), BOOSTED), else_=PLAIN)
        if preferred
        else literal(PLAIN)
    )
    best = func.max(_postings.c.impact * boost).label("best")
    page = (
        select(
            _postings.c.article_id,
            _postings.c.kb,
            best,
            func.count().over().label("total"),
        )
        .where(*_one_term_conditions(named, allowed))
        .group_by(_postings.c.article_id, _postings.c.kb)
        .order_by(best.desc(), func.length(_postings.c.kb), _postings.c.kb)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
        .cte("page")
    )
    # Each article's postings come along: they tell which locale it matched in.
    other = _postings.alias("other")
    return select(page, other.c.locale, other.c.impact).join(
        other, (other.c.term == bindparam("term")) & (other.c.article_id == page.c.article_id)
    )


def _match(
    session: Session,
    parsed: ParsedQuery,
    frequencies: Mapping[str, int],
    term_idf: Mapping[str, float],
    locale: str | None,
    allowed: Any,
) -> list[_Match]:
    """Every article with a document that holds every required unit, with its best score."""
    required = list(dict.fromkeys(t for p in parsed.required for _, t in p.terms))
    positional = {
        t for p in (*parsed.required, *parsed.proximity) if len(p.terms) > 1 for _, t in p.terms
    }
    # Rarest term first: it drives the join, the others are primary-key lookups.
    ordered = sorted(required, key=lambda term: (frequencies[term], term))
    query, parameters = documents_with(ordered, positional, allowed)
    rows = session.connection().execute(query, parameters).all()
    optional = _optional(session, [p.first for p in parsed.optional])
    # The column of each term's impact; its positions, when fetched, follow it.
    columns: dict[str, int] = {}
    column = 5
    for term in ordered:
        columns[term] = column
        column += 3 if term in positional else 1
    # (the impact column of one term, or the (offset, column) pairs of a phrase; the IDF
    # weight, which for a phrase is the sum of its terms' IDF, as in Lucene; required)
    plan: list[tuple[Any, float, bool]] = []
    for phrases, share, is_required in (
        (parsed.required, 1.0, True),
        (parsed.proximity, PROXIMITY_WEIGHT, False),
    ):
        for phrase in phrases:
            weight = share * sum(term_idf[t] for _, t in phrase.terms) / IMPACT_SCALE
            spec = (
                columns[phrase.first]
                if len(phrase.terms) == 1
                else [(offset, columns[term]) for offset, term in phrase.terms]
            )
            plan.append((spec, weight, is_required))
    scores: dict[int, tuple[str, dict[str, float]]] = {}
    for row in rows:
        score = 0.0
        for spec, weight, is_required in plan:
            if isinstance(spec, int):
                score += weight * row[spec]
                continue
            title_tf, body_tf = phrase_counts(spec, row)
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
    return [
        _best_document(article_id, kb, by_locale, locale)
        for article_id, (kb, by_locale) in scores.items()
    ]


def _best_document(
    article_id: int, kb: str, scores: Mapping[str, float], locale: str | None
) -> _Match:
    """An article ranks by its best document; it is shown in the preferred locale if it matched.

    Otherwise in the locale that scored best (on a tie, the first by name).
    """
    if len(scores) == 1:
        ((only, score),) = scores.items()
        return _Match(-score, len(kb), kb, article_id, only, score)
    score = max(scores.values())
    if locale not in scores:
        locale = min(scores, key=lambda name: (-scores[name], name))
    return _Match(-score, len(kb), kb, article_id, locale, score)


def _optional(
    session: Session, terms: Sequence[str]
) -> list[tuple[str, dict[tuple[int, str], int]]]:
    """The impacts of the optional terms, per document."""
    found = []
    for term in terms:
        rows = session.connection().execute(
            select(_postings.c.article_id, _postings.c.locale, _postings.c.impact).where(
                _postings.c.term == term
            )
        )
        found.append((term, {(article_id, loc): weight for article_id, loc, weight in rows}))
    return found


def _hits(
    session: Session,
    ids: Sequence[int],
    matches: Mapping[int, _Match],
    parsed: ParsedQuery,
    locale: str | None,
) -> list[ArticleListHit]:
    """The page's hits, with snippets from the locale each matched in, in one query.

    (articles.list_hits would load every revision's texts a second time, in three.)
    """
    if not ids:
        return []
    rows = session.execute(
        select(
            Article.id,
            Article.kb,
            Article.source_locale,
            Revision.seq,
            Revision.number,
            Revision.created_at,
            Revision.author,
            Revision.summary,
            RevisionText.locale,
            RevisionText.title,
            RevisionText.sections,
        )
        .join(Revision, (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq))
        .join(RevisionText, RevisionText.revision_id == Revision.id)
        .where(Article.id.in_(ids))
    ).all()
    texts: dict[int, dict[str, tuple[str, list[dict[str, Any]]]]] = {}
    heads: dict[int, tuple[str, str, RevisionInfo]] = {}
    for article_id, kb, source, seq, number, created, author, summary, loc, title, sections in rows:
        heads[article_id] = (kb, source, RevisionInfo(seq, number, created, author, summary))
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
        title, sections = by_locale[matched_locale]
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
