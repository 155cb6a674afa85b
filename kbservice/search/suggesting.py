"""Search-box suggestions: article titles that match what has been typed so far.

Every complete word or Japanese run must be in the title (a run as written); the word
being typed is a prefix. Digits (`8853`, `KB8853`) suggest articles by KB number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Article, Revision, RevisionText
from .models import SearchPosting
from .parser import Phrase, run_phrase
from .postings import documents_with, phrase_counts
from .tokenizer import normalize, positioned_runs, runs

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
    documents = _prefixed(session, found[-1][0].text) if typing else None
    for run, tokens in found[:-1] if typing else found:
        documents = _with_title(session, run_phrase(tokens, run.cjk), documents)
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


def _with_title(
    session: Session, phrase: Phrase, documents: set[tuple[int, str]] | None
) -> set[tuple[int, str]]:
    """The documents (of `documents`, if given) whose title holds the phrase."""
    terms = list(dict.fromkeys(term for _, term in phrase.terms))
    query, parameters = documents_with(terms, set(terms), None)
    rows = session.connection().execute(query, parameters)
    columns = {term: 5 + 3 * index for index, term in enumerate(terms)}
    spec = [(offset, columns[term]) for offset, term in phrase.terms]
    return {
        (row[0], row[1])
        for row in rows
        if (documents is None or (row[0], row[1]) in documents) and phrase_counts(spec, row)[0]
    }


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
