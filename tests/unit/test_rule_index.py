"""The rule index updated by edits equals the index built from scratch."""

from __future__ import annotations

import random

import pytest

from kbservice.applicability.compiled import CompiledRules
from kbservice.applicability.index import IndexedRule, RuleIndex
from kbservice.rules import validate_rules
from kbservice.rules.engine import outline

PRODUCTS = ["p1", "p2", "p3", "p4"]
SYSTEMS = [
    {"product": product, "edition": edition, "service_pack": sp}
    for product in [*PRODUCTS, "p9"]
    for edition in ("e1", "e2")
    for sp in (0, 2)
]


def _rule(rng: random.Random) -> dict:
    """A rule naming one or two products, or none (a candidate for every system)."""
    shape = rng.randrange(4)
    if shape == 0:
        return {"fact": "behind_nat", "equals": True}
    named = rng.sample(PRODUCTS, rng.choice([1, 2]))
    alternatives = [
        {"all": [{"product": product}, {"edition": rng.choice(["e1", "e2"])}]} for product in named
    ]
    if shape == 1:
        alternatives.append(
            {"all": [{"product": named[0]}, {"service_pack": {"min": 1, "max": 2}}]}
        )
    return {"any": alternatives}


# Selecting candidates compiles nothing: no database to compile from is needed.
RULES = CompiledRules(1, ())


def _entry(kb: str, revision_id: int, rule: dict) -> IndexedRule:
    validate_rules(rule)
    return IndexedRule(kb, int(kb), revision_id, "en", *outline(rule))


def _shape(index: RuleIndex) -> tuple:
    return (
        [(e.kb, e.revision_id) for e in index.entries],
        {kb: e.revision_id for kb, e in index.by_kb.items()},
        {p: [(e.kb, e.revision_id) for e in items] for p, items in index.by_product.items()},
        [e.kb for e in index.unconstrained],
        [[(e.kb, e.revision_id) for e in index.for_platform(system)] for system in SYSTEMS],
    )


@pytest.mark.parametrize("seed", range(20))
def test_replaced_equals_a_fresh_build(seed: int) -> None:
    rng = random.Random(seed)
    revision = iter(range(1, 10_000))
    current = {
        kb: _entry(kb, next(revision), _rule(rng))
        for kb in (str(rng.randrange(100, 2000)) for _ in range(30))
    }
    index = RuleIndex(current.values(), RULES)
    for _ in range(6):
        _shape(index)  # fill the per-platform lists, which edits must keep or drop
        kbs = [rng.choice(sorted(current)) for _ in range(rng.randrange(1, 4))]
        kbs += [str(rng.randrange(100, 2000)) for _ in range(rng.randrange(0, 3))]
        changed = [_entry(kb, next(revision), _rule(rng)) for kb in kbs]
        current.update((entry.kb, entry) for entry in changed)
        index = index.replaced(changed)
        assert _shape(index) == _shape(RuleIndex(current.values(), RULES))


@pytest.mark.parametrize("seed", range(20))
def test_replaced_with_removals_equals_a_fresh_build(seed: int) -> None:
    """As-of indexes leave out articles that did not exist yet (applicability/asof.py)."""
    rng = random.Random(seed)
    revision = iter(range(1, 10_000))
    current = {
        kb: _entry(kb, next(revision), _rule(rng))
        for kb in (str(rng.randrange(100, 2000)) for _ in range(30))
    }
    index = RuleIndex(current.values(), RULES)
    for _ in range(6):
        _shape(index)
        removed = rng.sample(sorted(current), rng.randrange(0, min(4, len(current))))
        removed.append(str(rng.randrange(2000, 3000)))  # never there: ignored
        kept = [kb for kb in current if kb not in removed]
        changed = [_entry(kb, next(revision), _rule(rng)) for kb in rng.sample(kept, 1)]
        for kb in removed:
            current.pop(kb, None)
        current.update((entry.kb, entry) for entry in changed)
        index = index.replaced(changed, removed)
        assert _shape(index) == _shape(RuleIndex(current.values(), RULES))
