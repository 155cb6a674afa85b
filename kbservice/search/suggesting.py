"""Search-box suggestions: article titles that match what has been typed so far.

Every complete word or Japanese run must be in the title (a run as written); the word
being typed is a prefix. Digits (`8853`, `KB8853`) suggest articles by KB number.

The cost does not grow with the number of words: repeated words count once, the query is
cut where it crosses MAX_QUERY_TERMS distinct terms (as the search cuts it), and the
words are matched by one query on the title field of the full-text index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..fulltext.documents import TITLE_LABEL, quote
from ..fulltext.tokenizer import Run, Token, normalize, positioned_runs, runs
from ..storage.models import Article, Revision, RevisionText
from .matching import fts5_match, tsquery
from .parser import MAX_QUERY_TERMS, Phrase, run_phrase

MIN_PREFIX = 2
_KB_PREFIX = re.compile(r"(?:kb)?\s*0*(\d{2,10})")


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
    documents = _titles_with(session, complete, prefix) if complete or prefix else set()
    matched: dict[int, set[str]] = {}
    for article_id, document_locale in documents:
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


def _prefix_units(prefix: str) -> list[str] | None:
    """The title terms that the word being typed may stand for; None if it is too short.

    Terms that start with the prefix, and shorter terms that it starts with: the index
    holds the stem `map` for `mappings`, typed so far as `mappi`.
    """
    if len(prefix) < MIN_PREFIX:
        return None
    return [prefix[:length] for length in range(3, len(prefix))]


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


def _titles_with(
    session: Session, phrases: list[Phrase], prefix: str | None
) -> set[tuple[int, str]]:
    """The documents whose title holds every phrase and, if given, a word starting with `prefix`."""
    connection = session.connection()
    shorter = _prefix_units(prefix) if prefix is not None else []
    if shorter is None:
        return set()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        parts = [fts5_match(phrases)] if phrases else []
        if prefix is not None:
            alternatives = [f'"{prefix}" *', *(f'"{term}"' for term in shorter)]
            parts.append("(" + " OR ".join(alternatives) + ")")
        query = text(
            "SELECT d.article_id, d.locale FROM search_fts "
            "JOIN search_documents d ON d.id = search_fts.rowid "
            "WHERE search_fts MATCH :match"
        )
        match = "{title} : (" + " AND ".join(parts) + ")"
    else:
        parts = [tsquery(phrases, label=TITLE_LABEL)] if phrases else []
        if prefix is not None:
            alternatives = [f"{quote(prefix)}:*{TITLE_LABEL}"]
            alternatives += [f"{quote(term)}:{TITLE_LABEL}" for term in shorter]
            parts.append("(" + " | ".join(alternatives) + ")")
        query = text(
            "SELECT article_id, locale FROM search_documents WHERE terms @@ CAST(:match AS tsquery)"
        )
        match = " & ".join(parts)
    return {(article_id, loc) for article_id, loc in connection.execute(query, {"match": match})}


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
