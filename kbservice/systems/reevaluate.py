"""Keeping stored verdicts current when an article's rules change (and previewing that).

The rule index finds, for a system's product, the articles that can apply to it; here
the same logic runs in reverse: an article's old and new rules name the products they
can apply to (`CompiledRule.products`, None for rules that constrain none), and only the
registered systems of those products, or without a product, are evaluated again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, insert, or_, select, text
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..notify.outbox import VerdictChange, enqueue
from ..rules import PREFILTERED_FACTS, CompiledRule, compile_rules
from ..rules.applies_to import rules_from_applies_to
from ..storage.models import Article, Revision
from . import counts
from .models import RegisteredSystem, SystemVerdict
from .registry import NOT_APPLICABLE, chunks

Verdicts = dict[str, tuple[str, list[str]]]


@dataclass(frozen=True, slots=True)
class Reevaluation:
    """The verdicts an article's new rules give the registered systems they can reach."""

    before: Verdicts
    after: Verdicts
    changes: list[VerdictChange]


def rules_document(rules: Mapping[str, Any] | None, applies_to: Any) -> dict[str, Any]:
    """The rule document a revision is judged by: its rules, else its applies-to list."""
    return dict(rules) if rules is not None else rules_from_applies_to(applies_to)


def _reachable(old: CompiledRule | None, new: CompiledRule) -> frozenset[str] | None:
    """Products whose systems either rule set can apply to; None: every product."""
    if old is None:
        return new.products
    if old.products is None or new.products is None:
        return None
    return old.products | new.products


def _verdict(
    rule: CompiledRule, facts: Mapping[str, Any], ruled_out: dict[tuple[Any, ...], bool]
) -> tuple[str, list[str]] | None:
    # Inventories hold many machines of few platforms: the prefilter runs once a platform.
    # With the types: 1 and True are equal keys, but rules_out decides only on ints.
    platform = tuple((type(v), v) for v in (facts.get(fact) for fact in PREFILTERED_FACTS))
    try:
        out = ruled_out.get(platform)
    except TypeError:  # an unhashable fact value: nothing to share
        out = rule.rules_out(facts)
    if out is None:
        out = ruled_out[platform] = rule.rules_out(facts)
    if out:
        return None
    evaluation = rule.evaluate_unless_not_applicable(facts)
    if evaluation is None:
        return None
    return evaluation.verdict.value, list(evaluation.missing_facts)


def reevaluate(
    session: Session,
    article_id: int,
    kb: str,
    old_doc: dict[str, Any] | None,
    new_doc: dict[str, Any],
) -> Reevaluation:
    """Judge the registered systems `new_doc` or `old_doc` can reach by `new_doc`; no writes.

    `old_doc` is None for a new article: no system has a verdict on it yet.
    """
    old_rule = compile_rules(old_doc, validate=False) if old_doc is not None else None
    new_rule = compile_rules(new_doc, validate=False)
    products = _reachable(old_rule, new_rule)
    query = select(RegisteredSystem.id, RegisteredSystem.normalized).where(
        RegisteredSystem.recognised.is_(True)
    )
    if products is not None:
        query = query.where(
            or_(RegisteredSystem.product.in_(sorted(products)), RegisteredSystem.product.is_(None))
        )
    # Core rows, not ORM ones: a publish may read 100,000 systems.
    connection = session.connection()
    before: Verdicts = {
        system_id: (verdict, list(missing))
        for system_id, verdict, missing in connection.execute(
            select(
                SystemVerdict.system_id, SystemVerdict.verdict, SystemVerdict.missing_facts
            ).where(SystemVerdict.article_id == article_id)
        )
    }
    after: Verdicts = {}
    changes: list[VerdictChange] = []
    ruled_out: dict[tuple[Any, ...], bool] = {}
    for system_id, facts in connection.execute(query.order_by(RegisteredSystem.id)):
        judged = _verdict(new_rule, facts, ruled_out)
        if judged is not None:
            after[system_id] = judged
        old_verdict = before[system_id][0] if system_id in before else NOT_APPLICABLE
        new_verdict = judged[0] if judged is not None else NOT_APPLICABLE
        if old_verdict != new_verdict:
            changes.append(VerdictChange(system_id, kb, new_verdict, old_verdict))
    return Reevaluation(before, after, changes)


def store(session: Session, article_id: int, result: Reevaluation) -> None:
    """Write the verdicts that differ and enqueue the changes, in the caller's transaction."""
    stale = sorted(
        system_id
        for system_id in result.before.keys() | result.after.keys()
        if result.before.get(system_id) != result.after.get(system_id)
    )
    rows = [(s, *result.after[s]) for s in stale if s in result.after]
    if session.get_bind().dialect.name == "postgresql":
        removed = _replace_postgresql(session, article_id, stale, rows)
    else:
        removed = _replace(session, article_id, stale, rows)
    enqueue(session, result.changes)
    added = Counter(verdict for _, verdict, _ in rows)
    added.subtract(removed)
    counts.add(session, {(article_id, verdict): n for verdict, n in added.items()})


def _replace(
    session: Session, article_id: int, stale: list[str], rows: list[tuple[str, str, list[str]]]
) -> Counter[str]:
    """Delete the stale rows, insert `rows`; the verdicts of the rows deleted, counted."""
    table = SystemVerdict.__table__
    removed: Counter[str] = Counter()
    for part in chunks(stale):
        removed.update(
            session.connection()
            .execute(
                delete(table)
                .where(table.c.article_id == article_id, table.c.system_id.in_(part))
                .returning(table.c.verdict)
            )
            .scalars()
        )
    if rows:
        # Core, not the ORM's bulk insert: tens of thousands of rows, no objects needed.
        session.connection().execute(
            insert(SystemVerdict.__table__),
            [
                {"system_id": s, "article_id": article_id, "verdict": v, "missing_facts": m}
                for s, v, m in rows
            ],
        )
    return removed


# Two statements whatever the number of rows: the ids, verdicts and missing facts travel
# as three arrays (a statement per 500 ids and a multi-row INSERT per 1,000 rows took
# most of a 100,000-system publish on PostgreSQL).
# The deleted rows are counted by verdict in the same statement (for `counts`).
_DELETE_PG = text(
    "WITH gone AS (DELETE FROM system_verdicts WHERE article_id = :article "
    "AND system_id = ANY(:ids) RETURNING verdict) "
    "SELECT verdict, count(*) FROM gone GROUP BY verdict"
)
_INSERT_PG = text(
    "INSERT INTO system_verdicts (system_id, article_id, verdict, missing_facts) "
    "SELECT s, :article, v, CAST(m AS json) "
    "FROM unnest(CAST(:ids AS text[]), CAST(:verdicts AS text[]), CAST(:missing AS text[])) "
    "AS t(s, v, m)"
)


def _replace_postgresql(
    session: Session, article_id: int, stale: list[str], rows: list[tuple[str, str, list[str]]]
) -> Counter[str]:
    """`_replace` in two statements."""
    connection = session.connection()
    removed: Counter[str] = Counter()
    if stale:
        gone = connection.execute(_DELETE_PG, {"article": article_id, "ids": stale})
        removed.update({verdict: n for verdict, n in gone})
    if rows:
        connection.execute(
            _INSERT_PG,
            {
                "article": article_id,
                "ids": [s for s, _, _ in rows],
                "verdicts": [v for _, v, _ in rows],
                "missing": [orjson.dumps(m).decode() for _, _, m in rows],
            },
        )
    return removed


def on_published(
    session: Session,
    article_id: int,
    kb: str,
    old_doc: dict[str, Any] | None,
    new_doc: dict[str, Any],
) -> None:
    """Bring the stored verdicts of a newly published revision up to date.

    Runs inside the publishing transaction: the new revision, the verdicts it gives and
    the deliveries announcing them commit together or not at all. `old_doc` is None for
    a new article (no system has a verdict on it yet).
    """
    if old_doc == new_doc:
        return  # a text or metadata edit: the rules, hence the verdicts, are the same
    store(session, article_id, reevaluate(session, article_id, kb, old_doc, new_doc))


def preview_changes(session: Session, kb: str, new_rules: dict[str, Any]) -> list[VerdictChange]:
    """How the registered systems' verdicts on KB `kb` would change under `new_rules`.

    Writes nothing; `kb` is a normalized KB number (NotFound when no article has it).
    """
    row = session.execute(
        select(Article.id, Revision.rules, Revision.applies_to)
        .join(Revision, (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq))
        .where(Article.kb == kb)
    ).first()
    if row is None:
        raise NotFound(f"No article KB{kb} exists.")
    article_id, rules, applies_to = row
    return reevaluate(session, article_id, kb, rules_document(rules, applies_to), new_rules).changes


def registered_systems_follow(
    session: Session, article: Article, previous: Revision | None, published: Revision
) -> None:
    """`on_published` for the article's new current revision (`previous` None: a new article)."""
    on_published(
        session,
        article.id,
        article.kb,
        rules_document(previous.rules, previous.applies_to) if previous is not None else None,
        rules_document(published.rules, published.applies_to),
    )
