"""Rule indexes as of a past instant: each article judged by its revision current then.

The current index (index.RuleCache) answers today's questions. An as-of index holds, for
every article that existed at the instant, its latest revision created by then. Which
revisions those are depends only on the latest creation time at or before the instant,
so indexes are kept per that time (and the revision stamp, as an import may add older
revisions): every instant between two publications shares one. Revisions still current
reuse the current index's compiled rules; only older ones are compiled.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..storage.lru import LRU
from ..storage.models import Revision
from .index import RuleEntry, RuleIndex, load_entries

# As-of indexes kept per process: support staff ask about a few dates at a time.
AS_OF_INDEXES_KEPT = 8
_BATCH = 500


def revisions_current_at(session: Session, when: dt.datetime) -> list[int]:
    """Ids of every article's latest revision created at or before `when`."""
    latest = (
        select(Revision.article_id, func.max(Revision.seq).label("seq"))
        .where(Revision.created_at <= when)
        .group_by(Revision.article_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(Revision.id).join(
                latest,
                (Revision.article_id == latest.c.article_id) & (Revision.seq == latest.c.seq),
            )
        )
    )


class AsOfIndexes:
    """The as-of rule indexes of one process, the most recently used ones kept."""

    def __init__(self, kept: int = AS_OF_INDEXES_KEPT) -> None:
        self._indexes: LRU[tuple[int, dt.datetime], RuleIndex] = LRU(kept)
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
                return RuleIndex(())
            key = (stamp, latest)
            index = self._indexes.get(key)
            if index is not None:
                return index
            with self._lock:
                index = self._indexes.get(key)
                if index is None:
                    index = RuleIndex(self._entries(session, latest, current))
                    self._indexes.put(key, index)
            return index

    def _entries(self, session: Session, when: dt.datetime, current: RuleIndex) -> list[RuleEntry]:
        compiled = {entry.revision_id: entry for entry in current.entries}
        entries: list[RuleEntry] = []
        older: list[int] = []
        for revision_id in revisions_current_at(session, when):
            entry = compiled.get(revision_id)
            if entry is not None:
                entries.append(entry)
            else:
                older.append(revision_id)
        for start in range(0, len(older), _BATCH):
            entries += load_entries(session, older[start : start + _BATCH])
        return entries
