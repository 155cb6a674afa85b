"""Registering, reading and listing systems; a registration's verdict changes go to the outbox."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from ..errors import NotFound, ValidationFailed
from ..notify.outbox import VerdictChange, enqueue
from ..storage.db import utcnow
from ..storage.models import Article
from . import counts
from .models import RegisteredSystem, SystemVerdict

# `batch` is taken by the batch endpoint's path (POST /api/v1/systems/batch).
SYSTEM_ID_IN_PATH = r"(?!batch(?![A-Za-z0-9._:-]))[A-Za-z0-9._:-]{1,200}"
SYSTEM_ID = re.compile(SYSTEM_ID_IN_PATH)
NOT_APPLICABLE = "not_applicable"
# Rows per IN (...) list: SQLite allows 32,766 parameters, and shorter lists plan better.
_CHUNK = 500
_VERDICTS = SystemVerdict.__table__


@dataclass(frozen=True, slots=True)
class Judged:
    """A stored verdict: the article's KB number, `applies` or `unknown`, missing facts."""

    kb: str
    verdict: str
    missing_facts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Registration:
    """A system to store: its id, facts as sent and normalized, verdicts by article id."""

    id: str
    facts: Mapping[str, Any]
    normalized: Mapping[str, Any]
    product: str | None
    recognised: bool
    verdicts: Mapping[int, Judged]


def check_system_id(system_id: object, path: str = "id") -> str:
    """`system_id` if it is 1–200 of `A-Za-z0-9._:-` and not `batch`; else a 422 naming `path`."""
    if not isinstance(system_id, str) or not SYSTEM_ID.fullmatch(system_id):
        raise ValidationFailed(
            "A system id is 1 to 200 letters, digits, '.', '_', '-' or ':', and not 'batch'.",
            errors={path: ["must be 1–200 of letters, digits, '.', '_', '-', ':' (not 'batch')"]},
        )
    return system_id


def chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    """`items` in slices short enough for an IN list."""
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def stored_verdicts(session: Session, system_ids: Sequence[str]) -> dict[str, dict[int, Judged]]:
    """The stored verdicts of the systems, by system id and article id."""
    found: dict[str, dict[int, Judged]] = {}
    for part in chunks(system_ids):
        rows = session.execute(
            select(
                SystemVerdict.system_id,
                SystemVerdict.article_id,
                Article.kb,
                SystemVerdict.verdict,
                SystemVerdict.missing_facts,
            )
            .join(Article, Article.id == SystemVerdict.article_id)
            .where(SystemVerdict.system_id.in_(part))
        )
        for system_id, article_id, kb, verdict, missing in rows:
            found.setdefault(system_id, {})[article_id] = Judged(kb, verdict, tuple(missing))
    return found


def verdict_changes(
    system_id: str, before: Mapping[int, Judged] | None, after: Mapping[int, Judged]
) -> list[VerdictChange]:
    """What changed between two verdict maps of one system (None before: first seen)."""
    if before is None:
        return [VerdictChange(system_id, j.kb, j.verdict, None) for j in after.values()]
    changes = []
    for article_id in sorted(before.keys() | after.keys()):
        old, new = before.get(article_id), after.get(article_id)
        old_verdict = old.verdict if old else NOT_APPLICABLE
        new_verdict = new.verdict if new else NOT_APPLICABLE
        if old_verdict != new_verdict:
            kb = (new or old).kb  # type: ignore[union-attr]
            changes.append(VerdictChange(system_id, kb, new_verdict, old_verdict))
    return changes


def register(session: Session, registrations: Sequence[Registration]) -> list[bool]:
    """Store each system (later entries of one id replace earlier ones); True where new.

    The verdicts that differ from the stored ones are enqueued as `verdict.changed`
    deliveries in the same transaction.
    """
    ids = list(dict.fromkeys(r.id for r in registrations))
    existing: set[str] = set()
    for part in chunks(ids):
        existing.update(
            session.scalars(select(RegisteredSystem.id).where(RegisteredSystem.id.in_(part)))
        )
    state: dict[str, dict[int, Judged] | None] = {i: None for i in ids if i not in existing}
    state.update(stored_verdicts(session, [i for i in ids if i in existing]))
    for system_id in existing:
        state.setdefault(system_id, {})
    created: list[bool] = []
    changes: list[VerdictChange] = []
    final: dict[str, Registration] = {}
    for item in registrations:
        created.append(item.id not in existing and item.id not in final)
        changes += verdict_changes(item.id, state[item.id], item.verdicts)
        state[item.id] = dict(item.verdicts)
        final[item.id] = item
    now = utcnow()
    rows = [
        {
            "id": r.id,
            "facts": dict(r.facts),
            "normalized": dict(r.normalized),
            "product": r.product,
            "recognised": r.recognised,
            "updated_at": now,
        }
        for r in final.values()
    ]
    new_rows = [{**row, "created_at": now} for row in rows if row["id"] not in existing]
    # Core inserts, not the ORM's bulk path: a batch is thousands of rows.
    connection = session.connection()
    if new_rows:
        connection.execute(insert(RegisteredSystem.__table__), new_rows)
    replaced = [row for row in rows if row["id"] in existing]
    if replaced:
        session.execute(update(RegisteredSystem), replaced)
    removed = remove_verdicts(session, [row["id"] for row in replaced])
    verdict_rows = [
        {
            "system_id": r.id,
            "article_id": article_id,
            "verdict": judged.verdict,
            "missing_facts": list(judged.missing_facts),
        }
        for r in final.values()
        for article_id, judged in r.verdicts.items()
    ]
    if verdict_rows:
        connection.execute(insert(SystemVerdict.__table__), verdict_rows)
    enqueue(session, changes)
    inserted = ((row["article_id"], row["verdict"]) for row in verdict_rows)
    counts.add(session, counts.deltas(inserted, removed))
    return created


def remove_verdicts(session: Session, system_ids: Sequence[str]) -> list[tuple[int, str]]:
    """Delete the systems' verdicts; the (article id, verdict) of each row deleted."""
    removed: list[tuple[int, str]] = []
    for part in chunks(system_ids):
        rows = session.connection().execute(
            delete(_VERDICTS)
            .where(_VERDICTS.c.system_id.in_(part))
            .returning(_VERDICTS.c.article_id, _VERDICTS.c.verdict)
        )
        removed += ((article_id, verdict) for article_id, verdict in rows)
    return removed


def get_system(session: Session, system_id: str) -> RegisteredSystem:
    """The registered system `system_id`; NotFound when there is none."""
    row = session.get(RegisteredSystem, system_id)
    if row is None:
        raise NotFound(f"No system {system_id!r} is registered.")
    return row


def delete_system(session: Session, system_id: str) -> None:
    """Forget a system and its verdicts; NotFound when there is none."""
    system = get_system(session, system_id)
    removed = remove_verdicts(session, [system_id])
    session.delete(system)
    session.flush()
    counts.add(session, counts.deltas((), removed))


def list_systems(
    session: Session, *, page: int, per_page: int
) -> tuple[list[RegisteredSystem], int]:
    """One page of registered systems by id, and how many there are."""
    total = session.scalar(select(func.count()).select_from(RegisteredSystem)) or 0
    rows = session.scalars(
        select(RegisteredSystem)
        .order_by(RegisteredSystem.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def article_systems(
    session: Session, article_id: int, verdict: str, *, page: int, per_page: int
) -> tuple[list[tuple[str, list[str]]], int]:
    """One page of (system id, missing facts) with `verdict` on the article, and the total."""
    condition = (SystemVerdict.article_id == article_id) & (SystemVerdict.verdict == verdict)
    # Stored, not counted: a count(*) over 50,000 index entries took 11-100 ms.
    total = counts.count(session, article_id, verdict)
    skip = (page - 1) * per_page
    if skip >= total:
        return [], total
    # The skipped rows are read from the (article_id, verdict, system_id) index alone, one
    # entry at a time; a page in the back half is counted from the end (the total tells
    # where that is), so no page skips more than half of them.
    order = SystemVerdict.system_id.asc()
    take = min(per_page, total - skip)
    if 2 * skip + per_page > total:
        order, skip = SystemVerdict.system_id.desc(), total - skip - take
    # Only the page's own rows are fetched for their missing facts.
    page_ids = (
        select(SystemVerdict.system_id)
        .where(condition)
        .order_by(order)
        .limit(take)
        .offset(skip)
        .subquery()
    )
    rows = session.execute(
        select(SystemVerdict.system_id, SystemVerdict.missing_facts)
        .join(page_ids, page_ids.c.system_id == SystemVerdict.system_id)
        .where(SystemVerdict.article_id == article_id)
        .order_by(SystemVerdict.system_id)
    ).all()
    return [(system_id, list(missing)) for system_id, missing in rows], total


def verdict_counts(session: Session, article_id: int) -> dict[str, int]:
    """How many registered systems the article `applies` to, and is `unknown` for."""
    return {"applies": 0, "unknown": 0, **counts.counts(session, article_id)}
