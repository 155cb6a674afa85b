"""'Does this apply to my system?': the current revisions' rules, indexed by product.

The index holds an outline of each revision's rules (IndexedRule: what selecting
candidates needs); the rules themselves are compiled only for the candidates a request
judges, and kept per process in a bounded LRU (compiled.CompiledRules).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..articles.reading import normalize_kb
from ..catalog.facts import PRODUCT_NOT_RECOGNISED, NormalizedSystem
from ..errors import NotFound
from ..rules import PREFILTERED_FACTS, Evaluation, Verdict
from ..rules.engine import Analyses, Box, outline, platform_rules_out
from ..storage.lru import LRU
from ..storage.models import Article, Revision
from .compiled import CompiledRules, RuleEntry, report_broken, stored_document

__all__ = ["Assessment", "IndexedRule", "RuleCache", "RuleEntry", "RuleIndex", "assess"]


# A NamedTuple of shared or small values: 200,000 of them are built before the
# workers fork, so each must be cheap to build and small (docs/architecture.md).
class IndexedRule(NamedTuple):
    """What selecting candidates needs of one article's revision, without its rules."""

    kb: str
    article_id: int
    revision_id: int
    source_locale: str
    # CompiledRule.products and .platform of the revision's rules (rules.engine.outline).
    products: frozenset[str] | None
    platform: tuple[Box, ...] | None

    def rules_out(self, facts: Mapping[str, object]) -> bool:
        """CompiledRule.rules_out of the revision's rules."""
        return platform_rules_out(self.platform, facts)


# Distinct platforms (product, edition, architecture) whose candidate lists are kept.
_PLATFORMS_KEPT = 4096
# Revisions read by one IN list (and rows streamed at a time).
_BATCH = 500


def _kb_order(entry: IndexedRule) -> tuple[int, str]:
    return (len(entry.kb), entry.kb)


class RuleIndex:
    """Indexed rules by KB number and by the products they can apply to."""

    def __init__(self, entries: Iterable[IndexedRule], rules: CompiledRules) -> None:
        ordered = sorted(entries, key=_kb_order)
        self.rules = rules
        self.entries: tuple[IndexedRule, ...] = tuple(ordered)
        self.by_kb = {entry.kb: entry for entry in ordered}
        self.unconstrained = tuple(e for e in ordered if e.products is None)
        by_product: dict[str, list[IndexedRule]] = {}
        for entry in ordered:
            for product in entry.products or ():
                by_product.setdefault(product, []).append(entry)
        self.by_product = {product: tuple(items) for product, items in by_product.items()}
        self._platforms: LRU[Hashable, tuple[IndexedRule, ...]] = LRU(_PLATFORMS_KEPT)

    def replaced(self, changed: Sequence[IndexedRule], removed: Iterable[str] = ()) -> RuleIndex:
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
            touched.update(previous.products or (None,))
            del entries[bisect.bisect_left(entries, _kb_order(previous), key=_kb_order)]
        for kb, entry in latest.items():
            previous = by_kb.get(kb)
            for version in (previous, entry):
                if version is not None:
                    touched.update(version.products or (None,))
            by_kb[kb] = entry
            place = bisect.bisect_left(entries, _kb_order(entry), key=_kb_order)
            if previous is not None:
                entries[place] = entry
            else:
                entries.insert(place, entry)
        index = RuleIndex.__new__(RuleIndex)
        index.rules = self.rules
        index.entries = tuple(entries)
        index.by_kb = by_kb
        index.unconstrained = (
            tuple(e for e in index.entries if e.products is None)
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
                if product in (entry.products or ()):
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

    def candidates(self, product: object) -> Sequence[IndexedRule]:
        """Entries that can apply to `product`; every entry when the product is unknown."""
        if not isinstance(product, str):
            return self.entries
        specific = self.by_product.get(product, ())
        if not self.unconstrained:
            return specific
        merged = {entry.kb: entry for entry in (*specific, *self.unconstrained)}
        return sorted(merged.values(), key=_kb_order)

    def for_platform(self, facts: Mapping[str, object]) -> Sequence[IndexedRule]:
        """Candidates whose rules the system's platform facts do not rule out.

        `CompiledRule.rules_out` reads only PREFILTERED_FACTS (edition, architecture,
        service pack), and inventories describe many machines of few platforms, so the
        filtered list is kept per product and values of those facts.
        """
        key = (facts.get("product"), *(facts.get(fact) for fact in PREFILTERED_FACTS))
        try:
            kept = self._platforms.get(key)
        except TypeError:  # an unhashable fact value: nothing to share
            return [e for e in self.candidates(key[0]) if not e.rules_out(facts)]
        if kept is None:
            kept = tuple(e for e in self.candidates(key[0]) if not e.rules_out(facts))
            self._platforms.put(key, kept)
        return kept

    def resolve(self, kbs: Sequence[str]) -> list[RuleEntry]:
        """The entries of the requested KB numbers, in request order; unknown ones → NotFound.

        A KB requested twice (in any spelling, "KB885348" or "885348") counts once, at its
        first place: 1,000 copies of one number must not cost 1,000 evaluations.
        """
        resolved: dict[str, IndexedRule] = {}
        asked: list[tuple[str, IndexedRule | None]] = []
        for kb in kbs:
            number = normalize_kb(kb) if isinstance(kb, str) else None
            entry = self.by_kb.get(number) if number else None
            asked.append((str(kb), entry))
            if entry is not None:
                resolved.setdefault(entry.kb, entry)
        compiled = self.rules.entries([entry.revision_id for entry in resolved.values()])
        # An article whose stored rules do not compile is as good as absent.
        missing = [kb for kb, entry in asked if entry is None or entry.revision_id not in compiled]
        if missing:
            raise NotFound(f"No article exists for: {', '.join(missing)}.")
        return [compiled[entry.revision_id] for entry in resolved.values()]

    def compiled(self, entries: Sequence[IndexedRule]) -> list[RuleEntry]:
        """The compiled entries of `entries`, in their order; those that do not compile
        are left out."""
        found = self.rules.entries([entry.revision_id for entry in entries])
        return [found[e.revision_id] for e in entries if e.revision_id in found]


class RuleCache:
    """The RuleIndex of one process, refreshed incrementally when a revision is added.

    Revisions are immutable, only ever added, and their ids become visible in order
    (db.serialize_revision_writes). So the highest revision id (freshness.Stamps) tells
    every worker process whether its index is current, and the current revisions above
    the id it saw last are exactly what it has to outline.
    """

    def __init__(self, rules: CompiledRules) -> None:
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._index = RuleIndex((), rules)

    def index(self, stamp: int, open_session: Callable[[], Session]) -> RuleIndex:
        """The index as of revision id `stamp`; a session is opened only to load changes."""
        if stamp == self._stamp:
            return self._index
        with self._lock:
            if stamp != self._stamp:
                with open_session() as session:
                    changed = self._load(session, since=self._stamp)
                if self._stamp is None:
                    # The first load holds every article: sorting them once beats
                    # inserting 200,000 entries one by one (quadratic in `replaced`).
                    self._index = RuleIndex(changed, self._index.rules)
                else:
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
        changed rules to be loaded and outlined; the next applicability request does it.
        """
        return self._index if stamp == self._stamp else None

    def _load(self, session: Session, *, since: int | None) -> list[IndexedRule]:
        """Indexed rules of the current revisions with ids above `since` (all when None)."""
        current = Revision.seq == Article.current_seq
        return _indexed(session, current if since is None else current & (Revision.id > since))


def load_indexed(session: Session, revision_ids: Sequence[int]) -> list[IndexedRule]:
    """Indexed rules of the given revisions; those whose rules cannot be read are logged."""
    indexed: list[IndexedRule] = []
    for start in range(0, len(revision_ids), _BATCH):
        indexed += _indexed(session, Revision.id.in_(revision_ids[start : start + _BATCH]))
    return indexed


def _indexed(session: Session, which: Any) -> list[IndexedRule]:
    rows = session.execute(
        select(
            Article.kb,
            Article.id,
            Revision.id,
            Article.source_locale,
            Revision.number,
            Revision.rules,
            Revision.applies_to,
        )
        .join(Revision, Revision.article_id == Article.id)
        .where(which)
        # Streamed: 200,000 parsed rule documents held at once took a gigabyte.
        .execution_options(yield_per=_BATCH)
    )
    indexed: list[IndexedRule] = []
    memo: dict[bytes, Analyses] = {}
    for kb, article_id, revision_id, source_locale, number, rules, applies_to in rows:
        doc = stored_document(rules, applies_to)
        try:
            products, platform = outline(doc, memo)
        except Exception:
            # Rules written around kbservice (SQL) may break anything; see compiled.py.
            report_broken(kb, number, doc)
            continue
        indexed.append(IndexedRule(kb, article_id, revision_id, source_locale, products, platform))
    return indexed


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
    for entry in index.compiled(index.for_platform(facts)):
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
