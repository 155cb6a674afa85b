"""Rule indexes as of a past instant: each article judged by its revision current then.

The current index (index.RuleCache) answers today's questions. An as-of index holds, for
every article that existed at the instant, its latest revision created by then. Which
revisions those are depends only on the latest creation time at or before the instant,
so indexes are kept per that time (and the revision stamp, as an import may add older
revisions): every instant between two publications shares one.

An as-of index is the current one with the articles changed since the instant put back:
only articles with a revision created after it differ (found on the index of
`revisions.created_at`); their entries are replaced by older revisions' (read
now) or left out when the article did not exist yet. So its cost follows the number of
articles changed since, not the size of the corpus; an instant before most of the
corpus is built from scratch instead, reusing the indexed rules of revisions still
current.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from ..storage.lru import LRU
from ..storage.models import Article, Revision
from .index import IndexedRule, RuleIndex, load_indexed

# As-of indexes kept per process: support staff ask about a few dates at a time.
AS_OF_INDEXES_KEPT = 8
# Indexed rules of older revisions kept per process (a few hundred bytes each; their
# compiled rules are kept with the current revisions', compiled.CompiledRules).
OLDER_ENTRIES_KEPT = 4096


def _current_at(when: dt.datetime, article_ids: Select | None = None) -> Select:
    """Ids of each article's latest revision created at or before `when`."""
    latest = select(Revision.article_id, func.max(Revision.seq).label("seq")).where(
        Revision.created_at <= when
    )
    if article_ids is not None:
        latest = latest.where(Revision.article_id.in_(article_ids))
    found = latest.group_by(Revision.article_id).subquery()
    return select(Revision.id).join(
        found, (Revision.article_id == found.c.article_id) & (Revision.seq == found.c.seq)
    )


Load = Callable[[Session, list[int]], list[IndexedRule]]


def build_as_of(session: Session, when: dt.datetime, current: RuleIndex, load: Load) -> RuleIndex:
    """The rule index of the revisions current at `when`, derived from `current`.

    `load` gives the indexed rules of older revisions (read, or remembered).
    """
    later = select(Revision.article_id).where(Revision.created_at > when)
    # By article, not by time: the (article_id, seq) key finds the few changed articles'
    # revisions, where a range on created_at would read every revision up to `when`.
    seq_then = func.max(case((Revision.created_at <= when, Revision.seq)))
    then = (
        select(Revision.article_id, seq_then.label("seq"))
        .where(Revision.article_id.in_(later))
        .group_by(Revision.article_id)
        .subquery()
    )
    changed = session.execute(
        select(Article.kb, Revision.id)
        .select_from(then)
        .join(Article, Article.id == then.c.article_id)
        .outerjoin(
            Revision, (Revision.article_id == then.c.article_id) & (Revision.seq == then.c.seq)
        )
    ).all()
    if len(changed) <= len(current.entries) // 2:
        # Each of these articles has a newer revision: none of them is current. Those
        # without a revision by then did not exist yet.
        entries = load(session, [revision_id for _, revision_id in changed if revision_id])
        return current.replaced(entries, [kb for kb, revision_id in changed if not revision_id])
    indexed = {entry.revision_id: entry for entry in current.entries}
    then = list(session.scalars(_current_at(when)))
    older = load(session, [i for i in then if i not in indexed])
    return RuleIndex([*(indexed[i] for i in then if i in indexed), *older], current.rules)


class AsOfIndexes:
    """The as-of rule indexes of one process, the most recently used ones kept."""

    def __init__(self, kept: int = AS_OF_INDEXES_KEPT) -> None:
        self._indexes: LRU[tuple[int, dt.datetime], RuleIndex] = LRU(kept)
        # Older revisions' indexed rules, shared by the indexes of every instant.
        self._older: LRU[int, IndexedRule] = LRU(OLDER_ENTRIES_KEPT)
        self._lock = threading.Lock()

    def index(
        self,
        when: dt.datetime,
        stamp: int,
        current: RuleIndex,
        open_session: Callable[[], Session],
    ) -> RuleIndex:
        """The rules of the revisions current at `when`, as of revision stamp `stamp`."""
        with open_session() as session:
            latest = session.scalar(
                select(func.max(Revision.created_at)).where(Revision.created_at <= when)
            )
            if latest is None:
                return RuleIndex((), current.rules)
            key = (stamp, latest)
            index = self._indexes.get(key)
            if index is not None:
                return index
            with self._lock:
                index = self._indexes.get(key)
                if index is None:
                    index = build_as_of(session, latest, current, self._load)
                    self._indexes.put(key, index)
            return index

    def _load(self, session: Session, revision_ids: list[int]) -> list[IndexedRule]:
        """Indexed rules of the given revisions: remembered ones, the others read."""
        entries: list[IndexedRule] = []
        missing: list[int] = []
        for revision_id in revision_ids:
            entry = self._older.get(revision_id)
            if entry is None:
                missing.append(revision_id)
            else:
                entries.append(entry)
        for entry in load_indexed(session, missing):
            self._older.put(entry.revision_id, entry)
            entries.append(entry)
        return entries
