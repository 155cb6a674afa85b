"""The change feed: every published revision once, in the order publication made it visible.

A position is taken by the INSERT that records the revision: one more than the highest
position the inserting statement can see, under the primary key. So position p can only
be committed by a transaction that saw p-1 committed, and positions become visible in
their order on every engine and isolation level: a reader that sees p sees everything
below it, and a cursor never moves past an entry that commits later. A writer that saw
the same highest position as another waits for it at the key and fails rather than
overtake it; publishing writers never get there, as they take turns anyway
(storage.db.serialize_revision_writes). A rolled-back write leaves no gap.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..storage.models import Article, FeedEntry, Revision

CREATED = "created"
REVISED = "revised"
RESTORED = "restored"

_PREFIX = "kbfeed:"
_POSITION = re.compile(r"^(0|[1-9][0-9]{0,17})$")


def record(session: Session, revision_id: int, kind: str) -> None:
    """Give the new revision `revision_id` the next feed position (call it last, before commit)."""
    session.execute(
        insert(FeedEntry).from_select(
            ["position", "revision_id", "kind"],
            select(
                func.coalesce(func.max(FeedEntry.position), 0) + 1,
                literal(revision_id),
                literal(kind),
            ),
        )
    )


def record_many(session: Session, revision_ids: Sequence[int], kind: str) -> None:
    """Feed positions for revisions inserted in bulk, in the order given."""
    start = session.scalar(select(func.coalesce(func.max(FeedEntry.position), 0))) or 0
    if revision_ids:
        # Core: the ORM's bulk path would inspect each of many thousand rows (synth).
        session.execute(
            insert(FeedEntry.__table__),
            [
                {"position": start + offset, "revision_id": revision_id, "kind": kind}
                for offset, revision_id in enumerate(revision_ids, start=1)
            ],
        )


def encode_cursor(position: int) -> str:
    """The opaque cursor that continues after feed position `position`."""
    return base64.urlsafe_b64encode(f"{_PREFIX}{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The feed position a cursor continues after; 0 for none. Malformed → ValidationFailed."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    number = raw.removeprefix(_PREFIX) if raw.startswith(_PREFIX) else ""
    if not _POSITION.match(number) or encode_cursor(int(number)) != cursor:
        raise ValidationFailed(
            "The cursor is not one this feed handed out.",
            errors={"after": ["Not a valid cursor: pass `next` of an earlier page unchanged."]},
        )
    return int(number)


@dataclass(frozen=True)
class FeedItem:
    """One published revision in the feed."""

    position: int
    kb: str
    number: str
    created_at: dt.datetime
    kind: str


@dataclass(frozen=True)
class FeedPage:
    """Up to `limit` items after a position, and the position to continue after."""

    items: list[FeedItem]
    after: int

    @property
    def next(self) -> int:
        return self.items[-1].position if self.items else self.after

    def tag(self, limit: int) -> str:
        """A strong validator: items are immutable, so a page is fixed by its bounds."""
        bounds = f"{self.after}:{limit}:{self.next}:{len(self.items)}"
        return hashlib.sha256(bounds.encode()).hexdigest()[:32]


def read_page(session: Session, after: int, limit: int) -> FeedPage:
    """The feed entries after position `after`, at most `limit`, by the primary key's order."""
    rows = session.execute(
        select(FeedEntry.position, Article.kb, Revision.number, Revision.created_at, FeedEntry.kind)
        .join(Revision, Revision.id == FeedEntry.revision_id)
        .join(Article, Article.id == Revision.article_id)
        .where(FeedEntry.position > after)
        .order_by(FeedEntry.position)
        .limit(limit)
    )
    return FeedPage([FeedItem(*row) for row in rows], after)
