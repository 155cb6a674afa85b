"""'Does this apply to my system?': compiled rules of current revisions, indexed by product."""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..articles.reading import normalize_kb
from ..catalog.facts import PRODUCT_NOT_RECOGNISED, NormalizedSystem
from ..errors import NotFound
from ..rules import (
    PREFILTERED_FACTS,
    CompiledRule,
    Evaluation,
    RuleValidationError,
    Verdict,
    compile_rules,
    validate_rules,
)
from ..rules.applies_to import rules_from_applies_to
from ..storage.lru import LRU
from ..storage.models import Article, Revision, RevisionText

# The logger keeps the name operators filter on, from before the module moved.
log = logging.getLogger("kbservice.applicability")


@dataclass(frozen=True, slots=True)
class RuleEntry:
    """The compiled rules of one article's current revision, with what results display."""

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


# Distinct platforms (product, edition, architecture) whose candidate lists are kept.
_PLATFORMS_KEPT = 4096


def _kb_order(entry: RuleEntry) -> tuple[int, str]:
    return (len(entry.kb), entry.kb)


class RuleIndex:
    """Rule entries by KB number and by the products they can apply to."""

    def __init__(self, entries: Iterable[RuleEntry]) -> None:
        ordered = sorted(entries, key=_kb_order)
        self.entries: tuple[RuleEntry, ...] = tuple(ordered)
        self.by_kb = {entry.kb: entry for entry in ordered}
        self.unconstrained = tuple(e for e in ordered if e.rule.products is None)
        by_product: dict[str, list[RuleEntry]] = {}
        for entry in ordered:
            for product in entry.rule.products or ():
                by_product.setdefault(product, []).append(entry)
        self.by_product = {product: tuple(items) for product, items in by_product.items()}
        self._platforms: LRU[Hashable, tuple[RuleEntry, ...]] = LRU(_PLATFORMS_KEPT)

    def replaced(self, changed: Sequence[RuleEntry], removed: Iterable[str] = ()) -> RuleIndex:
        """A new index with `changed` entries added or replacing those of the same KB, and
        the entries of the `removed` KB numbers left out.

        Only the product lists that old or new entries belong to are rebuilt, and only
        their platforms' filtered lists are dropped; entries stay sorted by insertion at
        their place. One edit costs about a millisecond on 20,000 articles, where a
        rebuild costs 25.
        """
        latest = {entry.kb: entry for entry in changed}
        gone = {kb for kb in removed if kb in self.by_kb and kb not in latest}
        if not latest and not gone:
            return self
        by_kb = dict(self.by_kb)
        entries = list(self.entries)
        touched: set[str | None] = set()
        for kb in gone:
            previous = by_kb.pop(kb)
            touched.update(previous.rule.products or (None,))
            del entries[bisect.bisect_left(entries, _kb_order(previous), key=_kb_order)]
        for kb, entry in latest.items():
            previous = by_kb.get(kb)
            for version in (previous, entry):
                if version is not None:
                    touched.update(version.rule.products or (None,))
            by_kb[kb] = entry
            place = bisect.bisect_left(entries, _kb_order(entry), key=_kb_order)
            if previous is not None:
                entries[place] = entry
            else:
                entries.insert(place, entry)
        index = RuleIndex.__new__(RuleIndex)
        index.entries = tuple(entries)
        index.by_kb = by_kb
        index.unconstrained = (
            tuple(e for e in index.entries if e.rule.products is None)
            if None in touched
            else self.unconstrained
        )
        by_product = {p: items for p, items in self.by_product.items() if p not in touched}
        for product in touched:
            if product is None:
                continue
            kept = [
                e
                for e in self.by_product.get(product, ())
                if e.kb not in latest and e.kb not in gone
            ]
            # `kept` is still sorted: the few new entries are put in their places.
            for entry in latest.values():
                if product in (entry.rule.products or ()):
                    bisect.insort(kept, entry, key=_kb_order)
            if kept:
                by_product[product] = tuple(kept)
        index.by_product = by_product
        index._platforms = LRU(_PLATFORMS_KEPT)
        if None not in touched:
            # Platforms of untouched products have the same candidates as before: an
            # edit should not cost every other product's systems their filtered lists.
            for key, kept_entries in self._platforms.items():
                if isinstance(key[0], str) and key[0] not in touched:
                    index._platforms.put(key, kept_entries)
        return index

    def candidates(self, product: object) -> Sequence[RuleEntry]:
        """Entries that can apply to `product`; every entry when the product is unknown."""
        if not isinstance(product, str):
            return self.entries
        specific = self.by_product.get(product, ())
        if not self.unconstrained:
            return specific
        merged = {entry.kb: entry for entry in (*specific, *self.unconstrained)}
        return sorted(merged.values(), key=_kb_order)

    def for_platform(self, facts: Mapping[str, object]) -> Sequence[RuleEntry]:
        """Candidates whose rules the system's platform facts do not rule out.

        `CompiledRule.rules_out` reads only PREFILTERED_FACTS (edition, architecture,
        service pack), and inventories describe many machines of few platforms, so the
        filtered list is kept per product and values of those facts.
        """
        key = (facts.get("product"), *(facts.get(fact) for fact in PREFILTERED_FACTS))
        try:
            kept = self._platforms.get(key)
        except TypeError:  # an unhashable fact value: nothing to share
            return [e for e in self.candidates(key[0]) if not e.rule.rules_out(facts)]
        if kept is None:
            kept = tuple(e for e in self.candidates(key[0]) if not e.rule.rules_out(facts))
            self._platforms.put(key, kept)
        return kept

    def resolve(self, kbs: Sequence[str]) -> list[RuleEntry]:
        """The entries of the requested KB numbers, in request order; unknown ones → NotFound.

        A KB requested twice (in any spelling, "KB885348" or "885348") counts once, at its
        first place: 1,000 copies of one number must not cost 1,000 evaluations.
        """
        resolved: dict[str, RuleEntry] = {}
        missing: list[str] = []
        for kb in kbs:
            number = normalize_kb(kb) if isinstance(kb, str) else None
            entry = self.by_kb.get(number) if number else None
            if entry is None:
                missing.append(str(kb))
            else:
                resolved.setdefault(entry.kb, entry)
        if missing:
            raise NotFound(f"No article exists for: {', '.join(missing)}.")
        return list(resolved.values())


class RuleCache:
    """The RuleIndex of one process, refreshed incrementally when a revision is added.

    Revisions are immutable, only ever added, and their ids become visible in order
    (db.serialize_revision_writes). So the highest revision id (freshness.Stamps) tells
    every worker process whether its index is current, and the current revisions above
    the id it saw last are exactly what it has to compile.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._index = RuleIndex(())

    def index(self, stamp: int, open_session: Callable[[], Session]) -> RuleIndex:
        """The index as of revision id `stamp`; a session is opened only to load changes."""
        if stamp == self._stamp:
            return self._index
        with self._lock:
            if stamp != self._stamp:
                with open_session() as session:
                    changed = self._load(session, since=self._stamp)
                self._index = self._index.replaced(changed)
                self._stamp = stamp
            return self._index

    @property
    def stamp(self) -> int | None:
        """The revision id the index is current as of (None before the first build)."""
        return self._stamp

    def current(self, stamp: int) -> RuleIndex | None:
        """The index if it is already as of revision id `stamp`; None, not a refresh.

        For readers with another way to their answer (an article GET can ask the
        database for the current revision): after an edit they need not wait for the
        changed rules to be loaded and compiled; the next applicability request does it.
        """
        return self._index if stamp == self._stamp else None

    def _load(self, session: Session, *, since: int | None) -> list[RuleEntry]:
        """Entries of the current revisions with ids above `since` (all when None)."""
        current = select(Revision.id).join(
            Article, (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq)
        )
        if since is not None:
            current = current.where(Revision.id > since)
        revision_ids = list(session.scalars(current))
        entries: list[RuleEntry] = []
        for start in range(0, len(revision_ids), 500):
            entries += load_entries(session, revision_ids[start : start + 500])
        return entries


def load_entries(session: Session, revision_ids: Sequence[int]) -> list[RuleEntry]:
    """Rule entries of the given revisions, compiled; those that do not compile are logged."""
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
    return [
        RuleEntry(
            article_id=article_id,
            kb=kb,
            revision_id=revision_id,
            revision_number=number,
            source_locale=source_locale,
            titles=titles.get(revision_id, {}),
            rule=rule,
        )
        for article_id, kb, source_locale, revision_id, number, rules, applies_to in rows
        if (rule := _compile_stored(kb, number, rules, applies_to)) is not None
    ]


def _compile_stored(
    kb: str, number: str, rules: Any, applies_to: Sequence[Mapping[str, Any]]
) -> CompiledRule | None:
    """The compiled rules of a stored revision; None, logged, if they cannot be compiled."""
    doc = rules if rules is not None else rules_from_applies_to(applies_to)
    try:
        # Stored rules were validated when they were written: compiling is all that is left.
        return compile_rules(doc, validate=False)
    except Exception:
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
        return None


# A NamedTuple for the reason Evaluation is one: immutable and cheap to build.
class Assessment(NamedTuple):
    """The verdict on one article for one system."""

    entry: RuleEntry
    verdict: Verdict
    evaluation: Evaluation | None
    # Set when the verdict was decided before any rule ran (product not recognised).
    fixed_reasons: Mapping[str, str] | None = None

    def reasons(self, locale: str) -> list[str]:
        """Human-readable reasons in `locale`."""
        if self.fixed_reasons is not None:
            return [self.fixed_reasons.get(locale) or self.fixed_reasons["en"]]
        assert self.evaluation is not None
        return self.evaluation.reason_texts(locale)

    @property
    def missing_facts(self) -> tuple[str, ...]:
        """Facts that would let an `unknown` verdict be decided."""
        return self.evaluation.missing_facts if self.evaluation is not None else ()


def assess(
    index: RuleIndex,
    system: NormalizedSystem,
    *,
    requested: Sequence[RuleEntry] | None = None,
    explain: bool = False,
) -> list[Assessment]:
    """Evaluate `system` against the requested articles, or every candidate article.

    Without a request, only verdicts `applies` and `unknown` are returned.
    """
    if not system.product_recognised:
        warning = next(w for w in system.warnings if w.code == PRODUCT_NOT_RECOGNISED)
        fixed = {"en": warning.text("en"), "ja": warning.text("ja")}
        return [Assessment(entry, Verdict.NOT_APPLICABLE, None, fixed) for entry in requested or ()]
    facts = system.facts
    if requested is not None:
        return [
            _assessment(entry, entry.rule.evaluate(facts, explain=explain)) for entry in requested
        ]
    results: list[Assessment] = []
    for entry in index.for_platform(facts):
        evaluation = entry.rule.evaluate_unless_not_applicable(facts, explain=explain)
        if evaluation is not None:
            results.append(_assessment(entry, evaluation))
    return results


def judged(
    index: RuleIndex, system: NormalizedSystem, requested: Sequence[RuleEntry] | None = None
) -> int:
    """How many articles `assess` would judge `system` against, found without judging.

    It bounds the results of the answer (without a request only `applies` and `unknown`
    are kept), so a request's work can be refused before it is done. The platform's
    candidate list is cached, so `assess` does not filter it again.
    """
    if requested is not None:
        return len(requested)
    if not system.product_recognised:
        return 0
    return len(index.for_platform(system.facts))


def _assessment(entry: RuleEntry, evaluation: Evaluation) -> Assessment:
    return Assessment(entry, evaluation.verdict, evaluation)
