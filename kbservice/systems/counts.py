"""Per-article verdict counts, kept exact by every writer of `system_verdicts`.

A writer collects the (article id, verdict) of each row it inserted (+1) and each row its
DELETE … RETURNING actually removed (-1) — never the rows it expected to find, so a row a
concurrent transaction removed first is not counted twice — and calls `add` once, in the
same transaction. Rows of an article that is deleted go with their counts (both cascade).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import ArticleVerdictCount, SystemVerdict

Deltas = Counter[tuple[int, str]]
# Rows per upsert: 3 parameters each, far below SQLite's 32,766.
_CHUNK = 1000

_COUNTS = ArticleVerdictCount.__table__


def deltas(inserted: Iterable[tuple[int, str]], removed: Iterable[tuple[int, str]]) -> Deltas:
    """+1 per (article id, verdict) inserted, -1 per one removed."""
    found: Deltas = Counter(inserted)
    found.subtract(removed)
    return found


def add(session: Session, changes: Mapping[tuple[int, str], int]) -> None:
    """Add `changes` to the stored counts, in the caller's transaction.

    `systems = systems + excluded.systems` on the locked row, so concurrent writers never
    lose each other's increments; rows are locked in (article id, verdict) order, the
    same in every writer, so two writers touching the same articles cannot deadlock
    on them. Counts that reach 0 stay as rows: deleting one could race an increment.
    """
    rows = [
        {"article_id": article_id, "verdict": verdict, "systems": n}
        for (article_id, verdict), n in sorted(changes.items())
        if n
    ]
    make = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    connection = session.connection()
    for start in range(0, len(rows), _CHUNK):
        statement = make(_COUNTS).values(rows[start : start + _CHUNK])
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[_COUNTS.c.article_id, _COUNTS.c.verdict],
                set_={"systems": _COUNTS.c.systems + statement.excluded.systems},
            )
        )


_GROUPED = select(SystemVerdict.article_id, SystemVerdict.verdict, func.count()).group_by(
    SystemVerdict.article_id, SystemVerdict.verdict
)


def recount(session: Session) -> None:
    """Count every article's verdicts again from `system_verdicts` (after an import)."""
    connection = session.connection()
    connection.execute(delete(_COUNTS))
    connection.execute(insert(_COUNTS).from_select(["article_id", "verdict", "systems"], _GROUPED))


def count(session: Session, article_id: int, verdict: str) -> int:
    """How many systems have `verdict` on the article, as stored."""
    return (
        session.scalar(
            select(ArticleVerdictCount.systems).where(
                ArticleVerdictCount.article_id == article_id,
                ArticleVerdictCount.verdict == verdict,
            )
        )
        or 0
    )


def counts(session: Session, article_id: int) -> dict[str, int]:
    """The stored counts of the article by verdict (verdicts without a row left out)."""
    rows = session.execute(
        select(ArticleVerdictCount.verdict, ArticleVerdictCount.systems).where(
            ArticleVerdictCount.article_id == article_id
        )
    )
    return {verdict: systems for verdict, systems in rows}
