"""Matching and ranking in the database's own full-text index (FTS5 or tsvector + GIN).

A page is the documents that hold every required unit, each scored by the engine
(ranking.py), boosted in the preferred locale and by the bonus phrases; an article ranks
by its best document, then by KB number; the total comes with the page. SQLite reads
FTS5 alone (the rowid holds the article and locale), PostgreSQL search_documents.
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

from ..fulltext.documents import fts5_phrase, quote, tsquery_phrase
from ..fulltext.engines import FTS_TABLE
from ..fulltext.indexer import LOCALE_BITS
from ..fulltext.models import SearchDocument, SearchLocale
from ..fulltext.ranking import (
    LOCALE_BOOST,
    POSTGRESQL_NORMALIZATION,
    POSTGRESQL_WEIGHTS,
    SQLITE_WEIGHTS,
)
from ..storage.models import Article
from .parser import Phrase

# An article has a document per locale that matched: usually at most two.
DOCUMENTS_PER_ARTICLE = 2
# A query ranks and counts at most this many matching documents: those with the highest
# ids, i.e. of the newest articles (docs/search.md, "Bounded cost"). Beyond it every
# match would be scored, 12 µs each on PostgreSQL, 0.7 µs on SQLite.
MAX_RANKED = 10_000
_documents = SearchDocument.__table__
_locales = SearchLocale.__table__
_articles = Article.__table__
_SLOT_MASK = (1 << LOCALE_BITS) - 1
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
) -> tuple[list[Ranked], int, bool]:
    """The window of the ranking (articles not in `named`), its total, whether capped.

    Past MAX_RANKED matching documents only the newest MAX_RANKED are ranked and counted
    (same rule, same documents on both engines: their ids are computed alike).
    """
    if connection.dialect.name == "sqlite":
        return _rank_fts5(connection, required, bonus, locale, allowed, named, window)
    return _rank_tsvector(connection, required, bonus, locale, allowed, named, window)


def _rank_fts5(
    connection: Connection,
    required: Sequence[Phrase],
    bonus: Sequence[Phrase],
    locale: str | None,
    allowed: Any,
    named: Sequence[int],
    window: tuple[int, int],
) -> tuple[list[Ranked], int, bool]:
    """SQLite: rank and count on FTS5 alone; the rowid holds the article id and locale slot.

    The top documents by boosted score come from FTS5; only they are looked up for the KB
    number, the tiebreak. Rows tied with the last one fetched may continue past the
    limit, so only the rows scoring above it count as placed, and a short page fetches
    more. An article's best document is among them; whether it also matched in the
    preferred locale, if that is not, the count's pass tells (FTS5 scores nothing there).
    """
    names = dict(connection.execute(select(_locales.c.slot, _locales.c.locale)).all())
    preferred = next((slot for slot, name in names.items() if name == locale), -1)
    matched, parameters = _fts5_hits(required, bonus, preferred)
    article = _fts.c.rowid.op(">>")(LOCALE_BITS)
    conditions = []
    if named:
        conditions.append(article.not_in(named))
    if allowed is not None:
        conditions.append(article.in_(allowed))
    bound, total = _fts5_window(connection, parameters["match"], conditions)
    if bound is not None:
        conditions.append(_fts.c.rowid > bound)
    matched = matched.where(*conditions)
    start, end = window
    placed: list[Any] = []
    complete = False
    if end > start:
        ordered = matched.order_by(matched.selected_columns.boosted.desc())
        limit = DOCUMENTS_PER_ARTICLE * end
        while True:
            rows = connection.execute(ordered.limit(limit), parameters).all()
            complete = len(rows) < limit
            placed = rows if complete else [row for row in rows if row.boosted > rows[-1].boosted]
            placed = _fts5_order(connection, placed, names)
            if complete or len({row.id >> LOCALE_BITS for row in placed}) >= end:
                break
            limit *= 4
    best: dict[int, Any] = {}
    in_preferred: set[int] = set()
    for row in placed:
        best.setdefault(row.id >> LOCALE_BITS, row)
        if row.id & _SLOT_MASK == preferred:
            in_preferred.add(row.id >> LOCALE_BITS)
    page = list(best)[start:end]
    unsure = [a for a in page if a not in in_preferred] if preferred >= 0 and not complete else []
    if unsure:
        in_preferred |= _fts5_in_locale(
            connection, parameters["match"], conditions, preferred, unsure
        )
    shown = {a: preferred if a in in_preferred else best[a].id & _SLOT_MASK for a in page}
    ranked = [Ranked(a, names[shown[a]], float(best[a].boosted)) for a in page]
    return ranked, total, bound is not None


def _fts5_window(
    connection: Connection, match: str, conditions: list[Any]
) -> tuple[int | None, int]:
    """The cap's bound (None if no more than MAX_RANKED documents match) and the total.

    One walk down FTS5's matches by rowid, newest first and unscored: the first
    MAX_RANKED + 1 are kept, the last of them is the bound, the articles of the others
    are counted.
    """
    article = literal_column("id").op(">>")(LOCALE_BITS)
    newest = (
        select(_fts.c.rowid.label("id"))
        .where(text("search_fts MATCH :match"), *conditions)
        .order_by(_fts.c.rowid.desc())
        .limit(MAX_RANKED + 1)
        .cte("newest")
        .prefix_with("MATERIALIZED")
    )
    span = select(func.count().label("n"), func.min(newest.c.id).label("lowest")).cte("span")
    counted = (
        select(func.count(article.distinct()))
        .select_from(newest)
        .where((span.c.n <= MAX_RANKED) | (newest.c.id > span.c.lowest))
        .scalar_subquery()
    )
    found, lowest, total = connection.execute(
        select(span.c.n, span.c.lowest, counted), {"match": match}
    ).one()
    return (lowest if found > MAX_RANKED else None), int(total)


def _fts5_in_locale(
    connection: Connection, match: str, conditions: list[Any], slot: int, articles: list[int]
) -> set[int]:
    """Which of `articles` match in the locale of `slot` (FTS5 looks up each document)."""
    documents = [article << LOCALE_BITS | slot for article in articles]
    found = connection.scalars(
        select(_fts.c.rowid).where(
            text("search_fts MATCH :match"), _fts.c.rowid.in_(documents), *conditions
        ),
        {"match": match},
    )
    return {document >> LOCALE_BITS for document in found}


def _fts5_order(connection: Connection, rows: Sequence[Any], names: dict[int, str]) -> list[Any]:
    """`rows` (id, boosted) in ranking order: score, then KB number, then locale."""
    if not rows:
        return []
    kbs = dict(
        connection.execute(
            select(_articles.c.id, _articles.c.kb).where(
                _articles.c.id.in_({row.id >> LOCALE_BITS for row in rows})
            )
        ).all()
    )

    def key(row: Any) -> tuple[float, int, str, str]:
        kb = kbs[row.id >> LOCALE_BITS]
        return (-row.boosted, len(kb), kb, names[row.id & _SLOT_MASK])

    return sorted(rows, key=key)


def _rank_tsvector(
    connection: Connection,
    required: Sequence[Phrase],
    bonus: Sequence[Phrase],
    locale: str | None,
    allowed: Any,
    named: Sequence[int],
    window: tuple[int, int],
) -> tuple[list[Ranked], int, bool]:
    """PostgreSQL: one statement for the page, the total with it or in a second one.

    Sorted by the ranking key (boosted score, then KB number), the matching documents
    list every article first at its best document, so the first n distinct articles of
    `ORDER BY key LIMIT m` are the first n of the ranking: the database keeps a top-m heap
    instead of grouping every document.
    """
    columns, score, parameters = _tsvector_hits(required, bonus)
    # Only the boosted score is selected: PostgreSQL would compute a second copy for every
    # match, reading its tsvector again.
    boosted = (score * case((_documents.c.locale == locale, LOCALE_BOOST), else_=1.0)).label(
        "boosted"
    )
    conditions = []
    if named:
        conditions.append(_documents.c.article_id.not_in(named))
    if allowed is not None:
        conditions.append(_documents.c.article_id.in_(allowed))
    bound = _tsvector_bound(connection, required, parameters["match"], conditions)
    if bound is not None:
        # `id + 0`: the matches come from GIN. On the bare id the planner may walk the
        # primary key through the window instead, reading every document's tsvector to
        # test `@@` (849 ms against 59 ms for a word in 5 % of 400,000 documents).
        conditions.append(_documents.c.id + 0 > bound)
    matched = columns.add_columns(boosted).where(*conditions)
    start, end = window
    leading: list[int] = []
    total: int | None = None
    if end > start:
        # Only a phrase makes PostgreSQL read each candidate's tsvector to count it.
        one_pass = any(len(phrase.terms) > 1 for phrase in required)
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
        return [], total, bound is not None
    scores: dict[int, dict[str, float]] = {}
    for row in connection.execute(matched.where(_documents.c.article_id.in_(page)), parameters):
        scores.setdefault(row.article_id, {})[row.locale] = float(row.boosted)
    ranked = [_best(article_id, scores[article_id], locale) for article_id in page]
    return ranked, total, bound is not None


def _tsvector_bound(
    connection: Connection, required: Sequence[Phrase], match: str, conditions: list[Any]
) -> int | None:
    """The id below which PostgreSQL's matches are past MAX_RANKED; None if they are not.

    A phrase is checked against each candidate's tsvector, so its words alone (which GIN
    answers by itself) are asked first: fewer documents than the cap hold them all, fewer
    hold the phrase. `id + 0` keeps the planner from walking the primary key backwards
    and reading a tsvector per row until it has found enough.
    """
    terms = _documents.c.terms
    if any(len(phrase.terms) > 1 for phrase in required):
        words = " & ".join(quote(term) for phrase in required for _, term in phrase.terms)
        over = (
            select(literal_column("1"))
            .where(terms.op("@@")(cast(bindparam("words"), TSQUERY)), *conditions)
            .offset(MAX_RANKED)
            .limit(1)
        )
        if connection.scalar(over, {"words": words}) is None:
            return None
    capped = (
        select(_documents.c.id)
        .where(terms.op("@@")(cast(bindparam("match"), TSQUERY)), *conditions)
        .order_by((_documents.c.id + 0).desc())
        .offset(MAX_RANKED)
        .limit(1)
    )
    return connection.scalar(capped, {"match": match})


def _ordered(matched: Any, with_total: bool) -> Any:
    """The matching documents by the ranking key, with the total beside each row if asked.

    PostgreSQL checks a phrase against every candidate's tsvector (GIN holds no positions),
    in each statement that matches: with the total beside the page, the candidates are
    read once, kept in a materialized CTE and counted there. For single words (GIN alone
    counts them), keeping every match costs more than a second statement.
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


def _fts5_hits(
    required: Sequence[Phrase], bonus: Sequence[Phrase], preferred: int
) -> tuple[Any, dict[str, str]]:
    """FTS5's documents holding every required unit: rowid and boosted score."""
    parameters = {"match": fts5_match(required)}
    score: Any = literal_column(f"-bm25(search_fts, {SQLITE_WEIGHTS})")
    source: Any = _fts
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
        source = source.outerjoin(extra, extra.c.id == _fts.c.rowid)
        score = score + func.coalesce(extra.c.bonus, 0)
    in_preferred = _fts.c.rowid.op("&")(_SLOT_MASK) == preferred
    boosted = (score * case((in_preferred, LOCALE_BOOST), else_=1.0)).label("boosted")
    query = select(_fts.c.rowid.label("id"), boosted).select_from(source)
    return query.where(text("search_fts MATCH :match")), parameters


def _tsvector_hits(
    required: Sequence[Phrase], bonus: Sequence[Phrase]
) -> tuple[Any, Any, dict[str, str]]:
    """The documents holding every required unit (article id, locale, KB number), their score."""
    columns = (_documents.c.article_id, _documents.c.locale, _documents.c.kb)
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
