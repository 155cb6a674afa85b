"""Compiled rules of revisions, compiled on first use and kept per process in a bounded LRU."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..rules import CompiledRule, RuleValidationError, compile_rules, validate_rules
from ..rules.applies_to import rules_from_applies_to
from ..storage.lru import LRU
from ..storage.models import Article, Revision, RevisionText

# The logger keeps the name operators filter on, from before the module moved.
log = logging.getLogger("kbservice.applicability")

# Revisions loaded by one query (an IN list of their ids).
_BATCH = 500


@dataclass(frozen=True, slots=True)
class RuleEntry:
    """The compiled rules of one article's revision, with what results display."""

    article_id: int
    kb: str
    revision_id: int
    revision_number: str
    source_locale: str
    titles: Mapping[str, str]
    rule: CompiledRule

    def title(self, locale: str) -> str:
        """The title in `locale`, else in the source locale."""
        return self.titles.get(locale) or self.titles.get(self.source_locale, "")


class CompiledRules:
    """RuleEntry by revision id: the most recently used `kept` ones, the others compiled
    from the database when asked for.

    Revisions are immutable, so an entry never goes stale; the bound keeps a worker's
    memory to the rules its traffic uses instead of the whole corpus (docs/architecture.md).
    `open_sessions` are tried in order for revisions the previous ones lack (a replica
    that lags behind the primary the index was read from).
    """

    def __init__(
        self,
        kept: int,
        open_sessions: Sequence[Callable[[], Session]],
        record: Callable[[int], None] | None = None,
    ) -> None:
        self._entries: LRU[int, RuleEntry] = LRU(kept)
        # Revisions whose stored rules do not compile: logged once, then left out.
        self._broken: set[int] = set()
        self._open_sessions = tuple(open_sessions)
        # Told how many entries are kept, now and after each compilation (a metric).
        self._record = record
        if record is not None:
            record(0)

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self, revision_ids: Sequence[int]) -> dict[int, RuleEntry]:
        """The entries of `revision_ids` that compile, by revision id."""
        found: dict[int, RuleEntry] = {}
        missing: list[int] = []
        for revision_id in revision_ids:
            entry = self._entries.get(revision_id)
            if entry is not None:
                found[revision_id] = entry
            elif revision_id not in self._broken:
                missing.append(revision_id)
        for open_session in self._open_sessions:
            if not missing:
                break
            with open_session() as session:
                for start in range(0, len(missing), _BATCH):
                    batch = missing[start : start + _BATCH]
                    for entry in self._compile(session, batch):
                        found[entry.revision_id] = entry
            missing = [revision_id for revision_id in missing if revision_id not in found]
            if self._record is not None:
                self._record(len(self._entries))
        return found

    def _compile(self, session: Session, revision_ids: Sequence[int]) -> list[RuleEntry]:
        compiled: list[RuleEntry] = []
        for row, titles in _rows(session, revision_ids):
            article_id, kb, source_locale, revision_id, number, rules, applies_to = row
            rule = compile_stored(kb, number, rules, applies_to)
            if rule is None:
                self._broken.add(revision_id)
                continue
            entry = RuleEntry(article_id, kb, revision_id, number, source_locale, titles, rule)
            self._entries.put(revision_id, entry)
            compiled.append(entry)
        return compiled


def _rows(
    session: Session, revision_ids: Sequence[int]
) -> list[tuple[tuple[Any, ...], dict[str, str]]]:
    """The stored rules of the given revisions, each with its titles by locale."""
    titles: dict[int, dict[str, str]] = {}
    for revision_id, locale, title in session.execute(
        select(RevisionText.revision_id, RevisionText.locale, RevisionText.title).where(
            RevisionText.revision_id.in_(revision_ids)
        )
    ):
        titles.setdefault(revision_id, {})[locale] = title
    rows = session.execute(
        select(
            Article.id,
            Article.kb,
            Article.source_locale,
            Revision.id,
            Revision.number,
            Revision.rules,
            Revision.applies_to,
        )
        .join(Revision, Revision.article_id == Article.id)
        .where(Revision.id.in_(revision_ids))
    ).all()
    return [(tuple(row), titles.get(row[3], {})) for row in rows]


def stored_document(rules: Any, applies_to: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The rule document of a stored revision: its rules, or those of its `applies_to`."""
    return rules if rules is not None else rules_from_applies_to(applies_to)


def compile_stored(
    kb: str, number: str, rules: Any, applies_to: Sequence[Mapping[str, Any]]
) -> CompiledRule | None:
    """The compiled rules of a stored revision; None, logged, if they cannot be compiled."""
    doc = stored_document(rules, applies_to)
    try:
        # Stored rules were validated when they were written: compiling is all that is left.
        return compile_rules(doc, validate=False)
    except Exception:
        report_broken(kb, number, doc)
        return None


def report_broken(kb: str, number: str, doc: Any) -> None:
    """Log that a revision's stored rules cannot be used, and why."""
    # Unless they were written around kbservice (SQL): then any error may come out of
    # the compiler, a RecursionError too. One article must not take the service down.
    try:
        validate_rules(doc)
        problem = "the compiler failed on them"
    except RuleValidationError as exc:
        problem = str(exc)
    log.error(
        "KB%s revision %s is left out of applicability answers: its stored rules "
        "cannot be compiled (%s). Replace them: PUT /api/v1/articles/%s/rules.",
        kb,
        number,
        problem,
        kb,
    )
