"""Search-box suggestions: article titles that match what has been typed so far.

Every complete word or Japanese run must be in the title (a run as written); the word
being typed is a prefix. Digits (`8853`, `KB8853`) suggest articles by KB number.

The cost does not grow with the number of words: repeated words count once, the query is
cut where it crosses MAX_QUERY_TERMS distinct terms (as the search cuts it), and all the
complete words are matched by one query over the titles with the rarest of them (after
one that counts them, and stops when a word is in no title).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..fulltext.models import SearchPosting
from ..fulltext.tokenizer import Run, Token, normalize, positioned_runs, runs
from ..storage.models import Article, Revision, RevisionText
from .parser import MAX_QUERY_TERMS, Phrase, run_phrase

# The word being typed matches at most this many index terms.
MAX_PREFIX_TERMS = 32
MIN_PREFIX = 2
_KB_PREFIX = re.compile(r"(?:kb)?\s*0*(\d{2,10})")
_postings = SearchPosting.__table__


@dataclass(frozen=True)
class Suggestion:
    """An article title to offer, in the locale it matched."""

    kb: str
    title: str
    locale: str


def suggest(
    session: Session, q: str, *, locale: str | None = None, limit: int = 8
) -> list[Suggestion]:
    """Up to `limit` titles for a search box: shortest first, in the preferred locale if any.

    Digits suggest articles by KB number first; titles with the number (`2003`) follow.
    """
    normalized = normalize(q)
    number = _KB_PREFIX.fullmatch(normalized.strip())
    by_number = _by_number(session, number.group(1), locale, limit) if number else []
    if len(by_number) == limit:
        return by_number
    found, _ = positioned_runs(list(runs(normalized)))
    if not found:
        return by_number
    typing = not found[-1][0].cjk and not normalized[-1].isspace()
    complete, prefix = _units(found, typing)
    documents = _prefixed(session, prefix) if prefix is not None else None
    if complete and documents != set():
        documents = _with_titles(session, complete, documents)
    matched: dict[int, set[str]] = {}
    for article_id, document_locale in documents or ():
        matched.setdefault(article_id, set()).add(document_locale)
    texts = sorted(_texts(session, matched, locale), key=lambda s: (len(s.title), len(s.kb), s.kb))
    numbered = {suggestion.kb for suggestion in by_number}
    return [*by_number, *(s for s in texts if s.kb not in numbered)][:limit]


def _by_number(session: Session, digits: str, locale: str | None, limit: int) -> list[Suggestion]:
    ids = list(
        session.scalars(
            select(Article.id)
            .where(Article.kb.startswith(digits))
            .order_by(func.length(Article.kb), Article.kb)
            .limit(limit)
        )
    )
    texts = _texts(session, dict.fromkeys(ids), locale)
    return sorted(texts, key=lambda s: (len(s.kb), s.kb))


def _prefixed(session: Session, prefix: str) -> set[tuple[int, str]]:
    """Documents with a title word that starts like `prefix`."""
    if len(prefix) < MIN_PREFIX:
        return set()
    connection = session.connection()
    # Terms that start with the prefix, and shorter terms that it starts with: the index
    # holds the stem `map` for `mappings`, typed so far as `mappi`.
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    terms = list(
        connection.scalars(
            select(_postings.c.term)
            .where(_postings.c.term >= prefix, _postings.c.term < after)
            .group_by(_postings.c.term)
            .order_by(_postings.c.term)
            .limit(MAX_PREFIX_TERMS)
        )
    )
    terms += [prefix[:length] for length in range(3, len(prefix))]
    rows = connection.execute(
        select(_postings.c.article_id, _postings.c.locale).where(
            _postings.c.term.in_(terms), _postings.c.title_positions != ""
        )
    )
    return {(article_id, document_locale) for article_id, document_locale in rows}


def _units(found: list[tuple[Run, list[Token]]], typing: bool) -> tuple[list[Phrase], str | None]:
    """The distinct phrases of the complete runs and the word being typed, if any.

    Like the search, the query is cut at the unit that would take it past MAX_QUERY_TERMS
    distinct terms; the word being typed counts as one.
    """
    phrases: dict[Phrase, None] = {}
    terms: set[str] = set()
    for run, tokens in found[:-1] if typing else found:
        phrase = run_phrase(tokens, run.cjk)
        new = {term for _, term in phrase.terms} - terms
        if len(terms) + len(new) > MAX_QUERY_TERMS:
            return list(phrases), None
        terms |= new
        phrases.setdefault(phrase)
    if typing and len(terms) < MAX_QUERY_TERMS:
        return list(phrases), found[-1][0].text
    return list(phrases), None


def _with_titles(
    session: Session, phrases: list[Phrase], documents: set[tuple[int, str]] | None
) -> set[tuple[int, str]]:
    """The documents (of `documents`, if given) whose title holds every phrase."""
    terms = list(dict.fromkeys(term for phrase in phrases for _, term in phrase.terms))
    connection = session.connection()
    in_titles = _postings.c.title_positions != ""
    frequencies = dict(
        connection.execute(
            select(_postings.c.term, func.count())
            .where(_postings.c.term.in_(terms), in_titles)
            .group_by(_postings.c.term)
        ).all()
    )
    if len(frequencies) < len(terms):
        return set()
    # The titles with the rarest term bound what is read. No self-join of one table per
    # term (as the search does): SQLite takes seconds to plan one of 32 tables.
    rarest = min(terms, key=lambda term: (frequencies[term], term))
    rows = connection.execute(
        select(
            _postings.c.article_id,
            _postings.c.locale,
            _postings.c.term,
            _postings.c.title_positions,
        ).where(
            _postings.c.term.in_(terms),
            in_titles,
            _postings.c.article_id.in_(
                select(_postings.c.article_id).where(_postings.c.term == rarest, in_titles)
            ),
        )
    )
    titles: dict[tuple[int, str], dict[str, str]] = {}
    for article_id, document_locale, term, positions in rows:
        titles.setdefault((article_id, document_locale), {})[term] = positions
    return {
        document
        for document, positions in titles.items()
        if len(positions) == len(terms)
        and (documents is None or document in documents)
        and all(_in_title(phrase, positions) for phrase in phrases)
    }


def _in_title(phrase: Phrase, positions: Mapping[str, str]) -> bool:
    """Whether a title (each term's space-separated positions in it) holds the phrase."""
    (origin, first), *rest = phrase.terms
    starts = [int(position) - origin for position in positions[first].split()]
    # Term by term, and stopping at the first miss: a pasted run of hundreds of bigrams
    # costs no more than its first few for a title that lacks it.
    for offset, term in rest:
        padded = f" {positions[term]} "
        starts = [start for start in starts if f" {start + offset} " in padded]
        if not starts:
            return False
    return True


def _texts(
    session: Session, matched: Mapping[int, set[str] | None], locale: str | None
) -> Iterable[Suggestion]:
    """One title per article: in the preferred locale if it matched (None: any did)."""
    if not matched:
        return []
    rows = session.execute(
        select(
            Article.id, Article.kb, Article.source_locale, RevisionText.locale, RevisionText.title
        )
        .join(Revision, (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq))
        .join(RevisionText, RevisionText.revision_id == Revision.id)
        .where(Article.id.in_(list(matched)))
    )
    titles: dict[int, dict[str, tuple[str, str, str]]] = {}
    for article_id, kb, source, text_locale, title in rows:
        titles.setdefault(article_id, {})[text_locale] = (kb, source, title)
    suggestions = []
    for article_id, by_locale in titles.items():
        candidates = matched[article_id] or set(by_locale)
        kb, source, _ = next(iter(by_locale.values()))
        if locale in candidates and locale in by_locale:
            chosen = locale
        elif source in candidates and source in by_locale:
            chosen = source
        else:
            chosen = min(candidates & by_locale.keys())
        suggestions.append(Suggestion(kb, by_locale[chosen][2], chosen))
    return suggestions
