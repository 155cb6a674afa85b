"""Property tests: the engine against an independent oracle, and the three-valued laws."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kbservice.rules import Reason, Truth, Verdict, compile_rules

Rule = dict[str, Any]
Facts = dict[str, Any]


def _cidr(value: object) -> bool:
    addresses = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    network = ipaddress.ip_network("10.0.0.0/8")
    for address in addresses:
        try:
            if isinstance(address, str) and ipaddress.ip_address(address) in network:
                return True
        except ValueError:
            continue
    return False


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Leaves with the oracle's own reading of each test (value is present and not None).
LEAVES: list[tuple[Rule, Callable[[object], bool]]] = [
    ({"fact": "a", "equals": True}, lambda v: v is True),
    ({"fact": "b", "equals": True}, lambda v: v is True),
    ({"fact": "c", "equals": False}, lambda v: v is False),
    ({"fact": "n", "lt": 5}, lambda v: _number(v) and v < 5),
    ({"fact": "n", "ge": 2}, lambda v: _number(v) and v >= 2),
    ({"fact": "tags", "contains": "kb1"}, lambda v: isinstance(v, list) and "KB1" in v),
    ({"fact": "ip", "in_cidr": "10.0.0.0/8"}, _cidr),
    ({"fact": "v", "version_ge": "5.2"}, lambda v: v in ("5.2", "5.10", "6.0")),
    ({"product": "p1"}, lambda v: v == "p1"),
    ({"product": ["p1", "p2"]}, lambda v: v in ("p1", "p2")),
    ({"fact": "product", "equals": "p3"}, lambda v: v == "p3"),
    ({"fact": "product", "in": ["p2", "p4"]}, lambda v: v in ("p2", "p4")),
    ({"edition": "e1"}, lambda v: v == "e1"),
    ({"fact": "edition", "in": ["e2", "e3"]}, lambda v: v in ("e2", "e3")),
    ({"architecture": ["x86", "x64"]}, lambda v: v in ("x86", "x64")),
    ({"fact": "architecture", "equals": "ia64"}, lambda v: v == "ia64"),
    ({"service_pack": 2}, lambda v: _number(v) and v == 2),
    ({"service_pack": {"min": 1, "max": 2}}, lambda v: _number(v) and 1 <= v <= 2),
    ({"service_pack": {"min": 2}}, lambda v: _number(v) and v >= 2),
    ({"fact": "service_pack", "in": [0, 3]}, lambda v: _number(v) and v in (0, 3)),
    ({"fact": "service_pack", "equals": 2.0}, lambda v: _number(v) and v == 2),
]
EXISTS_LEAVES: list[tuple[Rule, Callable[[object], bool]]] = [
    ({"fact": "a", "exists": True}, lambda v: True),
    ({"fact": "n", "exists": False}, lambda v: False),
]
CHECKS = {json.dumps(rule, sort_keys=True): check for rule, check in LEAVES + EXISTS_LEAVES}

FACT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "a": st.sampled_from([True, False, None, 1, "yes"]),
    "b": st.booleans(),
    "c": st.sampled_from([True, False, 0]),
    "n": st.sampled_from([0, 1, 2, 4.5, 5, 7, True, "3"]),
    "tags": st.sampled_from([[], ["KB1"], ["kb2"], ["KB2", "KB1"], "KB1"]),
    "ip": st.sampled_from(["10.1.2.3", "192.168.1.1", ["8.8.8.8", "10.0.0.1"], [], "x", "fd00::1"]),
    "v": st.sampled_from(["5.2", "5.10", "6.0", "5.1", "4", "bad"]),
    "product": st.sampled_from(["p1", "p2", "p3", "p4", "p5"]),
    "edition": st.sampled_from(["e1", "e2", "e3", "e4", 1]),
    "architecture": st.sampled_from(["x86", "x64", "ia64", ["x86"]]),
    "service_pack": st.sampled_from([0, 1, 2, 3, 2.0, 1.5, True, "2", [2]]),
}

facts_strategy = st.fixed_dictionaries({}, optional=FACT_VALUES)


def rules_strategy(leaves: list[tuple[Rule, Callable[[object], bool]]]) -> st.SearchStrategy[Rule]:
    leaf = st.sampled_from([rule for rule, _ in leaves]).map(lambda rule: dict(rule))

    def combine(children: st.SearchStrategy[Rule]) -> st.SearchStrategy[Rule]:
        node = st.one_of(
            st.lists(children, min_size=1, max_size=4).map(lambda items: {"all": items}),
            st.lists(children, min_size=1, max_size=4).map(lambda items: {"any": items}),
            children.map(lambda item: {"not": item}),
        )
        # Labelled combinators report grouped reasons; they must not change any result.
        return st.tuples(node, st.booleans()).map(
            lambda pair: {**pair[0], "label": {"en": "group"}} if pair[1] else pair[0]
        )

    return st.recursive(leaf, combine, max_leaves=10)


rules = rules_strategy(LEAVES + EXISTS_LEAVES)
monotone_rules = rules_strategy(LEAVES)


def oracle(rule: Rule, facts: Facts) -> bool | None:
    """Straightforward Kleene evaluation, written independently of the engine."""
    if "all" in rule:
        results = [oracle(child, facts) for child in rule["all"]]
        return False if False in results else None if None in results else True
    if "any" in rule:
        results = [oracle(child, facts) for child in rule["any"]]
        return True if True in results else None if None in results else False
    if "not" in rule:
        result = oracle(rule["not"], facts)
        return None if result is None else not result
    leaf = {key: value for key, value in rule.items() if key != "label"}
    # A platform test reads the fact it is named after.
    fact = leaf.get("fact") or next(
        key for key in ("product", "edition", "architecture", "service_pack") if key in leaf
    )
    value = facts.get(fact)
    if "exists" in leaf:
        return (value is not None) is leaf["exists"]
    if value is None:
        return None
    return CHECKS[json.dumps(leaf, sort_keys=True)](value)


VERDICT_OF = {True: Verdict.APPLIES, False: Verdict.NOT_APPLICABLE, None: Verdict.UNKNOWN}


def outcome(rule: Rule, facts: Facts) -> tuple[Verdict, tuple[str, ...]]:
    evaluation = compile_rules(rule).evaluate(facts)
    return evaluation.verdict, evaluation.missing_facts


@settings(max_examples=300, deadline=None)
@given(rules, facts_strategy)
def test_engine_matches_the_oracle(rule: Rule, facts: Facts) -> None:
    compiled = compile_rules(rule)
    evaluation = compiled.evaluate(facts)
    assert evaluation.verdict is VERDICT_OF[oracle(rule, facts)]
    # missing_facts: non-empty exactly when unknown, and only facts the rule reads but lacks.
    assert bool(evaluation.missing_facts) == (evaluation.verdict is Verdict.UNKNOWN)
    assert list(evaluation.missing_facts) == sorted(set(evaluation.missing_facts))
    assert set(evaluation.missing_facts) <= compiled.facts
    assert all(facts.get(name) is None for name in evaluation.missing_facts)
    assert evaluation.reasons


@settings(deadline=None)
@given(rules, facts_strategy, st.data())
def test_supplying_the_missing_facts_settles_the_verdict(
    rule: Rule, facts: Facts, data: st.DataObject
) -> None:
    verdict, missing = outcome(rule, facts)
    if verdict is not Verdict.UNKNOWN:
        return
    supplied = {
        **facts,
        **{name: data.draw(FACT_VALUES[name].filter(lambda v: v is not None)) for name in missing},
    }
    assert outcome(rule, supplied)[0] is not Verdict.UNKNOWN


@settings(deadline=None)
@given(rules, rules, facts_strategy)
def test_de_morgan(x: Rule, y: Rule, facts: Facts) -> None:
    assert outcome({"not": {"all": [x, y]}}, facts) == outcome(
        {"any": [{"not": x}, {"not": y}]}, facts
    )
    assert outcome({"not": {"any": [x, y]}}, facts) == outcome(
        {"all": [{"not": x}, {"not": y}]}, facts
    )


@settings(deadline=None)
@given(rules, facts_strategy)
def test_double_negation(x: Rule, facts: Facts) -> None:
    assert outcome({"not": {"not": x}}, facts) == outcome(x, facts)


@settings(deadline=None)
@given(rules, facts_strategy)
def test_not_maps_unknown_to_unknown_and_swaps_the_rest(x: Rule, facts: Facts) -> None:
    verdict, missing = outcome(x, facts)
    negated, negated_missing = outcome({"not": x}, facts)
    swapped = {
        Verdict.APPLIES: Verdict.NOT_APPLICABLE,
        Verdict.NOT_APPLICABLE: Verdict.APPLIES,
        Verdict.UNKNOWN: Verdict.UNKNOWN,
    }
    assert negated is swapped[verdict]
    assert negated_missing == missing


@settings(deadline=None)
@given(rules, rules, facts_strategy)
def test_all_and_any_are_commutative(x: Rule, y: Rule, facts: Facts) -> None:
    for combinator in ("all", "any"):
        assert outcome({combinator: [x, y]}, facts) == outcome({combinator: [y, x]}, facts)


@settings(deadline=None)
@given(rules, facts_strategy)
def test_all_and_any_are_idempotent(x: Rule, facts: Facts) -> None:
    for combinator in ("all", "any"):
        assert outcome({combinator: [x, x]}, facts) == outcome(x, facts)
        assert outcome({combinator: [x]}, facts) == outcome(x, facts)


@settings(max_examples=300, deadline=None)
@given(monotone_rules, facts_strategy, st.data())
def test_knowing_more_facts_never_changes_a_definite_verdict(
    rule: Rule, facts: Facts, data: st.DataObject
) -> None:
    known = data.draw(st.sets(st.sampled_from(sorted(facts))) if facts else st.just(set()))
    partial = {name: value for name, value in facts.items() if name in known}
    verdict, _ = outcome(rule, partial)
    if verdict is not Verdict.UNKNOWN:
        assert outcome(rule, facts)[0] is verdict


def test_exists_is_the_documented_exception_to_monotonicity() -> None:
    rule = {"fact": "a", "exists": False}
    assert outcome(rule, {})[0] is Verdict.APPLIES
    assert outcome(rule, {"a": True})[0] is Verdict.NOT_APPLICABLE


@settings(max_examples=300, deadline=None)
@given(rules, facts_strategy)
def test_product_index_is_conservative(rule: Rule, facts: Facts) -> None:
    products = compile_rules(rule).products
    product = facts.get("product")
    if products is not None and product is not None and product not in products:
        assert outcome(rule, facts)[0] is Verdict.NOT_APPLICABLE


@settings(max_examples=300, deadline=None)
@given(rules, facts_strategy)
def test_platform_prefilter_is_conservative(rule: Rule, facts: Facts) -> None:
    if compile_rules(rule).rules_out(facts):
        assert outcome(rule, facts)[0] is Verdict.NOT_APPLICABLE


@settings(deadline=None)
@given(rules, rules, facts_strategy)
def test_resolved_by_overrides_only_when_true(main: Rule, resolution: Rule, facts: Facts) -> None:
    resolved = oracle(resolution, facts)
    expected = Verdict.NOT_APPLICABLE if resolved is True else VERDICT_OF[oracle(main, facts)]
    evaluation = compile_rules({**main, "resolved_by": resolution}).evaluate(facts)
    assert evaluation.verdict is expected
    assert bool(evaluation.missing_facts) == (expected is Verdict.UNKNOWN)


def leaves_of(reasons: tuple[Reason, ...]) -> list[Reason]:
    return [leaf for reason in reasons for leaf in (leaves_of(reason.children) or [reason])]


@settings(max_examples=300, deadline=None)
@given(rules, facts_strategy)
def test_every_reported_test_points_the_way_of_the_verdict(rule: Rule, facts: Facts) -> None:
    evaluation = compile_rules(rule).evaluate(facts)
    wanted = {
        Verdict.APPLIES: Truth.TRUE,
        Verdict.NOT_APPLICABLE: Truth.FALSE,
        Verdict.UNKNOWN: Truth.UNKNOWN,
    }[evaluation.verdict]
    flipped = {Truth.TRUE: Truth.FALSE, Truth.FALSE: Truth.TRUE, Truth.UNKNOWN: Truth.UNKNOWN}
    for leaf in leaves_of(evaluation.reasons):
        # A test under an odd number of `not`s supports the opposite of its own result.
        assert (flipped[leaf.result] if leaf.node.negated else leaf.result) is wanted


@settings(deadline=None)
@given(rules, facts_strategy)
def test_trace_agrees_with_the_verdict_and_is_json(rule: Rule, facts: Facts) -> None:
    evaluation = compile_rules(rule).evaluate(facts, explain=True)
    assert evaluation.trace is not None
    expected = {"applies": "true", "not_applicable": "false", "unknown": "unknown"}
    assert evaluation.trace["result"] == expected[evaluation.verdict.value]
    assert json.loads(json.dumps(evaluation.trace)) == evaluation.trace


@settings(deadline=None)
@given(rules, facts_strategy)
def test_reason_texts_exist_in_both_languages(rule: Rule, facts: Facts) -> None:
    evaluation = compile_rules(rule).evaluate(facts)
    prefixes = {"en": ("Applies", "Not applicable", "Cannot tell"), "ja": ("該当", "判定")}
    for locale, starts in prefixes.items():
        texts = evaluation.reason_texts(locale)
        assert len(texts) == len(evaluation.reasons) > 0
        assert all(text.startswith(starts) and len(text) > 20 for text in texts)


@pytest.mark.parametrize("leaf", [rule for rule, _ in LEAVES if "service_pack" in json.dumps(rule)])
@pytest.mark.parametrize("value", [0, 1, 2, 3, 2.0, 1.5, True, "2", [2]])
def test_service_pack_prefilter_decides_exactly_ints(leaf: Rule, value: object) -> None:
    """Ints and strings outside a leaf's values are ruled out; floats, bools and lists
    are left to the rule, as is every value under an open range."""
    rule = {"all": [{"product": "p1"}, leaf]}
    ruled_out = compile_rules(rule).rules_out({"product": "p1", "service_pack": value})
    false = outcome(rule, {"product": "p1", "service_pack": value})[0] is Verdict.NOT_APPLICABLE
    open_range = leaf == {"service_pack": {"min": 2}}
    assert ruled_out == (type(value) in (int, str) and false and not open_range)
