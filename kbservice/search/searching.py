"""Answering queries: KB numbers named in the query first, then the ranked page, snippets.

Matching, ranking and counting happen in the database's own full-text index
(kbservice.search.matching); this module adds the named articles, the revisions and the
snippets. Answers are cached per process, under a stamp of the index
(kbservice.search.cache).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Text, bindparam, cast, select
from sqlalchemy.orm import Session

from ..articles.reading import ArticleListHit, ArticlePage, RevisionInfo, applicability_filter
from ..fulltext.indexer import body_segments
from ..storage.models import Article, Revision, RevisionText
from ..storage.readers import ThreadReaders
from .cache import open_cache, open_cache_for_reads
from .matching import Ranked, rank_page
from .parser import ParsedQuery, parse_query
from .snippets import Highlighter, make_snippet

_articles = Article.__table__
_revisions = Revision.__table__
_texts = RevisionText.__table__

# Parsing is pure; the same queries come again and again.
_parse = functools.lru_cache(maxsize=512)(parse_query)

# The applies-to filters: product, edition, architecture, service pack.
Filters = tuple[str | None, str | None, str | None, int | None]
_NO_FILTERS: Filters = (None, None, None, None)


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
    key = _cache_key(parsed, locale, filters, page, per_page)
    found = cache.page(key) if cache is not None else None
    if found is None:
        found = _search(session, parsed, locale, filters, page, per_page)
        if cache is not None:
            cache.keep_page(key, found)
    return found


def cached_search(
    readers: ThreadReaders, q: str, *, locale: str | None, page: int, per_page: int
) -> ArticlePage | None:
    """What `search_articles` answers for `q` without filters, if cached; else None.

    The cache is checked against the index as `search_articles` checks it, so the answer
    is the one it would give (api/fastpath.CachedSearches answers with it).
    """
    parsed = _parse(q)
    if parsed.empty:
        return ArticlePage(items=[], total=0)
    key = _cache_key(parsed, locale, _NO_FILTERS, page, per_page)
    return open_cache_for_reads(readers).page(key)


def _cache_key(
    parsed: ParsedQuery, locale: str | None, filters: Filters, page: int, per_page: int
) -> tuple[Any, ...]:
    # The parsed query is the normalized one: `IPSec` and `ＩＰＳＥＣ` share an entry.
    return (parsed, locale, filters, page, per_page)


def _search(
    session: Session,
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
    ranked, total, capped = rank_page(
        connection,
        parsed.required,
        (*parsed.optional, *parsed.proximity),
        locale,
        allowed,
        named,
        window,
    )
    found = {match.article_id: match for match in ranked}
    ids = [*named[start:end], *found]
    return ArticlePage(
        items=_hits(connection, ids, found, parsed, locale),
        total=len(named) + total,
        total_relation="gte" if capped else "eq",
    )


def _named_articles(connection: Connection, numbers: Sequence[str], allowed: Any) -> list[int]:
    if not numbers:
        return []
    query = select(_articles.c.kb, _articles.c.id).where(_articles.c.kb.in_(numbers))
    if allowed is not None:
        query = query.where(_articles.c.id.in_(allowed))
    by_kb = {kb: article_id for kb, article_id in connection.execute(query)}
    return [by_kb[kb] for kb in numbers if kb in by_kb]


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
    matches: Mapping[int, Ranked],
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
