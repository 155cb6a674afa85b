"""'Does this apply to my system?': compiled rules of current revisions, indexed by product."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .articles import normalize_kb
from .errors import NotFound
from .facts import PRODUCT_NOT_RECOGNISED, NormalizedSystem
from .models import Article, Revision, RevisionText
from .rules import CompiledRule, Evaluation, Verdict, compile_rules


def platform_rule(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The rule that one applies-to entry stands for: product, edition, architecture, SPs."""
    tests: list[dict[str, Any]] = [{"product": entry["product"]}]
    for key in ("edition", "architecture"):
        if entry.get(key):
            tests.append({key: entry[key]})
    bounds = {
        bound: entry[f"service_pack_{bound}"]
        for bound in ("min", "max")
        if entry.get(f"service_pack_{bound}") is not None
    }
    if bounds:
        tests.append({"service_pack": bounds})
    return {"all": tests}


def rules_from_applies_to(applies_to: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A rule document equivalent to an applies-to list, for articles without rules."""
    alternatives = [platform_rule(entry) for entry in applies_to]
    # An article that names no product can never be shown to apply.
    return {"any": alternatives} if alternatives else {"not": {"fact": "product", "exists": True}}


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


class RuleIndex:
    """Rule entries by KB number and by the products they can apply to."""

    def __init__(self, entries: Iterable[RuleEntry]) -> None:
        ordered = sorted(entries, key=lambda e: (len(e.kb), e.kb))
        self.entries: tuple[RuleEntry, ...] = tuple(ordered)
        self.by_kb = {entry.kb: entry for entry in ordered}
        self.unconstrained = tuple(e for e in ordered if e.rule.products is None)
        by_product: dict[str, list[RuleEntry]] = {}
        for entry in ordered:
            for product in entry.rule.products or ():
                by_product.setdefault(product, []).append(entry)
        self.by_product = {product: tuple(items) for product, items in by_product.items()}

    def candidates(self, product: object) -> Sequence[RuleEntry]:
        """Entries that can apply to `product`; every entry when the product is unknown."""
        if not isinstance(product, str):
            return self.entries
        specific = self.by_product.get(product, ())
        if not self.unconstrained:
            return specific
        merged = {entry.kb: entry for entry in (*specific, *self.unconstrained)}
        return sorted(merged.values(), key=lambda e: (len(e.kb), e.kb))

    def resolve(self, kbs: Sequence[str]) -> list[RuleEntry]:
        """The entries of the requested KB numbers, in request order; unknown ones → NotFound."""
        resolved: list[RuleEntry] = []
        missing: list[str] = []
        for kb in kbs:
            number = normalize_kb(kb) if isinstance(kb, str) else None
            entry = self.by_kb.get(number) if number else None
            if entry is None:
                missing.append(str(kb))
            else:
                resolved.append(entry)
        if missing:
            raise NotFound(f"No article exists for: {', '.join(missing)}.")
        return resolved


class RuleCache:
    """The RuleIndex of one process, refreshed incrementally when a revision is added.

    Revisions are immutable and only ever added, so the highest revision id tells every
    worker process, with one indexed query, whether its index is still current.
    """

    def __init__(self, *, max_depth: int = 32, max_nodes: int = 1000) -> None:
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._index = RuleIndex(())
        self._by_article: dict[int, RuleEntry] = {}
        self._limits = {"max_depth": max_depth, "max_nodes": max_nodes}

    def index(self, session: Session) -> RuleIndex:
        """The current index; recompiles only articles whose revision changed."""
        stamp = session.scalar(select(func.max(Revision.id))) or 0
        if stamp == self._stamp:
            return self._index
        with self._lock:
            if stamp != self._stamp:
                self._refresh(session)
                self._stamp = stamp
            return self._index

    def _refresh(self, session: Session) -> None:
        current = dict(
            session.execute(
                select(Article.id, Revision.id).join(
                    Revision,
                    (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq),
                )
            ).all()
        )
        kept = {
            article_id: entry
            for article_id, entry in self._by_article.items()
            if current.get(article_id) == entry.revision_id
        }
        changed = [rid for aid, rid in current.items() if aid not in kept]
        for start in range(0, len(changed), 500):
            for entry in self._load(session, changed[start : start + 500]):
                kept[entry.article_id] = entry
        self._by_article = kept
        self._index = RuleIndex(kept.values())

    def _load(self, session: Session, revision_ids: list[int]) -> list[RuleEntry]:
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
                rule=compile_rules(
                    rules if rules is not None else rules_from_applies_to(applies_to),
                    **self._limits,
                ),
            )
            for article_id, kb, source_locale, revision_id, number, rules, applies_to in rows
        ]


@dataclass(frozen=True, slots=True)
class Assessment:
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
    for entry in index.candidates(facts.get("product")):
        evaluation = entry.rule.evaluate(facts, explain=explain)
        if evaluation.verdict is not Verdict.NOT_APPLICABLE:
            results.append(_assessment(entry, evaluation))
    return results


def _assessment(entry: RuleEntry, evaluation: Evaluation) -> Assessment:
    return Assessment(entry, evaluation.verdict, evaluation)
