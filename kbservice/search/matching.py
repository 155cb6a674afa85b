"""Matching and ranking in the database's own full-text index (FTS5 or tsvector + GIN).

A page is the documents that hold every required unit, each scored by the engine
(ranking.py), boosted in the preferred locale and by the bonus phrases; an article ranks
by its best document, then by KB number; the total comes with the page. SQLite reads
FTS5 alone (the rowid holds the article and locale), PostgreSQL search_documents.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
from sqlalchemy.dialects.postgresql import TSQUERY, array

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
    """PostgreSQL: the cap's window, its ranking and its total in one statement.

    GIN finds the documents holding every word; sorted by id, newest first, the first
    MAX_RANKED + 1 that also hold the phrases are scored (each tsvector is read only
    there, never for the older matches), the newest MAX_RANKED of them kept, grouped by
    article and ordered by the ranking key (best boosted score, then KB number).
    """
    conditions = []
    if named:
        conditions.append(_documents.c.article_id.not_in(named))
    if allowed is not None:
        conditions.append(_documents.c.article_id.in_(allowed))
    statement, parameters = _tsvector_page(required, bonus, locale, conditions, window)
    with _bitmap_scans(connection):
        rows = connection.execute(statement, parameters).all()
    total, capped = int(rows[0].total), bool(rows[0].capped)
    ranked = [
        _best(row.article_id, dict(zip(row.locales, map(float, row.scores), strict=True)), locale)
        for row in rows
        if row.article_id is not None
    ]
    return ranked, total, capped


def _tsvector_page(
    required: Sequence[Phrase],
    bonus: Sequence[Phrase],
    locale: str | None,
    conditions: list[Any],
    window: tuple[int, int],
) -> tuple[Any, dict[str, Any]]:
    """The statement of _rank_tsvector: a row per article of the page, in ranking order.

    Each row holds the article's matching documents' locales and boosted scores, the
    total and whether the cap was reached; a page past the last article is one row of
    the total alone. The sort by `id + 0` keeps the planner from walking the primary key
    backwards, testing `@@` on each row's tsvector (a TOAST read each).
    """
    terms = _documents.c.terms
    parameters: dict[str, Any] = {"match": tsquery(required)}
    phrases = any(len(phrase.terms) > 1 for phrase in required)
    # GIN answers a conjunction of words exactly; a phrase needs each candidate's tsvector.
    words = " & ".join(quote(term) for phrase in required for _, term in phrase.terms)
    parameters["words"] = words if phrases else parameters["match"]
    names = ("id", "article_id", "locale", "kb")
    candidates = (
        select(*(_documents.c[name] for name in names), terms)
        .where(terms.op("@@")(cast(bindparam("words"), TSQUERY)), *conditions)
        .order_by((_documents.c.id + 0).desc())
    )
    if phrases:
        # OFFSET 0 keeps the phrase test above the sort: only the newest candidates are
        # read, until MAX_RANKED + 1 hold the phrase.
        candidates = _read_once(candidates.offset(0).subquery("candidates"), names)
        candidates = select(candidates).where(
            candidates.c.terms.op("@@")(cast(bindparam("match"), TSQUERY))
        )
    newest = candidates.limit(MAX_RANKED + 1).subquery("newest")
    if bonus and not phrases:
        newest = _read_once(newest, names)
    score = _tsvector_score(newest.c.terms, bonus, parameters)
    boosted = score * case((newest.c.locale == locale, LOCALE_BOOST), else_=1.0)
    hits = (
        select(newest.c.id, newest.c.article_id, newest.c.locale, newest.c.kb)
        .add_columns(boosted.label("boosted"))
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    # Past the cap, the oldest of the MAX_RANKED + 1 is the bound: only newer ones count.
    bound = select(
        case((func.count() > MAX_RANKED, func.min(hits.c.id)), else_=-1)
    ).scalar_subquery()
    kept = select(hits).where(hits.c.id > bound).cte("kept")
    best = func.max(kept.c.boosted).label("best")
    start, end = window
    # An article's documents come as arrays beside it: no join back to 10,000 rows.
    leading = (
        select(
            kept.c.article_id,
            kept.c.kb,
            best,
            func.array_agg(kept.c.locale).label("locales"),
            func.array_agg(kept.c.boosted).label("scores"),
        )
        .group_by(kept.c.article_id, kept.c.kb)
        .order_by(best.desc(), func.length(kept.c.kb), kept.c.kb)
        .offset(start)
        .limit(max(end - start, 0))
        .subquery("leading")
    )
    counts = select(
        func.count(kept.c.article_id.distinct()).label("total"),
        (select(func.count()).select_from(hits).scalar_subquery() > MAX_RANKED).label("capped"),
    ).subquery("counts")
    statement = (
        select(counts, leading.c.article_id, leading.c.locales, leading.c.scores)
        .select_from(counts.outerjoin(leading, literal_column("true")))
        .order_by(leading.c.best.desc(), func.length(leading.c.kb), leading.c.kb)
    )
    return statement, parameters


def _read_once(rows: Any, names: Sequence[str]) -> Any:
    """`rows` with each one's tsvector read (detoasted) once for all its uses above.

    PostgreSQL reads a TOASTed value again for every function given it (`@@`, each
    `ts_rank`); an array holds its elements detoasted, so `(ARRAY[terms])[1]` computed
    once per row below an OFFSET 0 fence is read once.
    """
    copy = array([rows.c.terms])[1].label("terms")
    return select(*(rows.c[name] for name in names), copy).offset(0).subquery()


@contextmanager
def _bitmap_scans(connection: Connection) -> Iterator[None]:
    """Plan with GIN's bitmap scans, serially and without JIT, until the block ends.

    The planner prices `@@` on a row as one operator, but it reads the row's TOASTed
    tsvector (≈ 3 µs): for a word in 40 % of 400,000 documents it chose a parallel
    sequential scan over every row (1.4 s) over GIN (50 ms); a statement priced that
    high also gets JIT-compiled. The settings are local to the transaction and set back
    afterwards.
    """
    names, values = list(_PLANNER_SETTINGS), list(_PLANNER_SETTINGS.values())
    before = connection.execute(_SWAP_SETTINGS, {"names": names, "values": values}).all()
    try:
        yield
    finally:
        connection.execute(_SWAP_SETTINGS, {"names": names, "values": [row[0] for row in before]})


# On a loaded two-core machine parallel workers made the statement slower (360 vs 249 ms).
_PLANNER_SETTINGS = {"enable_seqscan": "off", "jit": "off", "max_parallel_workers_per_gather": "0"}
# Each row reads a setting, then sets it (a select list is evaluated left to right).
_SWAP_SETTINGS = text(
    "SELECT current_setting(name), set_config(name, value, true) "
    "FROM unnest(CAST(:names AS text[]), CAST(:values AS text[])) AS s(name, value)"
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


def _tsvector_score(terms: Any, bonus: Sequence[Phrase], parameters: dict[str, Any]) -> Any:
    """`ts_rank` of the required units in `terms`, plus that of the bonus phrases held."""
    match = cast(bindparam("match"), TSQUERY)
    weights = literal_column(f"'{POSTGRESQL_WEIGHTS}'::float4[]")
    score = func.ts_rank(weights, terms, match, POSTGRESQL_NORMALIZATION)
    if bonus:
        parameters["bonus"] = tsquery(bonus, " | ")
        extra_match = cast(bindparam("bonus"), TSQUERY)
        score = score + case(
            (
                terms.op("@@")(extra_match),
                func.ts_rank(weights, terms, extra_match, POSTGRESQL_NORMALIZATION),
            ),
            else_=0,
        )
    return score
