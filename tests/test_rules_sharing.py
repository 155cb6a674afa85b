"""Compiled rules share identical subtrees, and sharing never changes what a rule says."""

from __future__ import annotations

import copy
import gc
import threading
import weakref

import pytest

from kbservice.rules import (
    CompiledRule,
    Evaluation,
    Reason,
    RuleValidationError,
    Verdict,
    compile_rules,
)
from kbservice.rules.model import NodeInfo

PLATFORM = {
    "label": {"en": "Server 2003 x86", "ja": "Server 2003（x86）"},
    "all": [
        {"product": "windows_server_2003"},
        {"architecture": "x86"},
        {"service_pack": {"min": 0, "max": 2}},
    ],
}
NAT = {"fact": "behind_nat", "equals": True}
DOC = {"all": [PLATFORM, NAT], "resolved_by": {"fact": "updates", "contains": "KB1"}}
SYSTEMS = [
    {"product": "windows_server_2003", "architecture": "x86", "service_pack": 1},
    {"product": "windows_server_2003", "architecture": "x86", "service_pack": 1, "behind_nat": 1},
    {"product": "windows_server_2003", "architecture": "x64", "behind_nat": True},
    {
        "product": "windows_server_2003",
        "architecture": "x86",
        "service_pack": 2,
        "behind_nat": True,
    },
    {"architecture": "x86", "behind_nat": True, "updates": ["kb1"]},
]


def leaves(reasons: tuple[Reason, ...]) -> list[Reason]:
    """The reasons with their labelled groups opened up."""
    return [leaf for reason in reasons for leaf in (leaves(reason.children) or [reason])]


def summary(evaluation: Evaluation) -> tuple[object, ...]:
    return (
        evaluation.verdict,
        evaluation.missing_facts,
        [(reason.path, reason.result) for reason in leaves(evaluation.reasons)],
        evaluation.reason_texts("en"),
        evaluation.reason_texts("ja"),
        evaluation.trace,
    )


def node_at(rule: CompiledRule, facts: dict[str, object], path: str) -> NodeInfo:
    """The node of the reason at `path`, opening labelled groups."""
    evaluation = rule.evaluate(facts)
    found = [
        reason.node
        for group in evaluation.reasons
        for reason in (group, *group.children)
        if reason.path == path
    ]
    assert found, f"no reason at {path!r}"
    return found[0]


def test_identical_documents_share_subtrees_and_evaluate_alike() -> None:
    first, second = compile_rules(DOC), compile_rules(copy.deepcopy(DOC))
    for facts in SYSTEMS:
        one, other = first.evaluate(facts, explain=True), second.evaluate(facts, explain=True)
        assert summary(one) == summary(other)
        # Same reason objects: the leaves, their labelled group and their reasons are shared.
        assert [reason.node for reason in one.reasons] == [reason.node for reason in other.reasons]
        assert all(
            mine is theirs
            for mine, theirs in zip(leaves(one.reasons), leaves(other.reasons), strict=True)
        )
    assert (first.products, first.facts) == (second.products, second.facts)


def test_a_subtree_is_shared_by_documents_that_differ_elsewhere() -> None:
    other_fact = {"all": [PLATFORM, {"fact": "roles", "contains": "vpn_server"}]}
    facts = {"product": "windows_server_2003", "architecture": "x64"}
    assert node_at(compile_rules(DOC), facts, "all.0") is node_at(
        compile_rules(other_fact), facts, "all.0"
    )
    assert node_at(compile_rules(DOC), facts, "all.0.all.1") is node_at(
        compile_rules(other_fact), facts, "all.0.all.1"
    )


def test_equal_content_at_other_paths_or_under_not_is_not_shared() -> None:
    facts = {"behind_nat": False}
    twice = compile_rules({"any": [NAT, NAT]})
    reasons = twice.evaluate(facts).reasons
    assert [reason.path for reason in reasons] == ["any.0", "any.1"]
    assert reasons[0].node is not reasons[1].node
    plain, negated = compile_rules(NAT), compile_rules({"not": NAT})
    assert node_at(plain, facts, "") is not node_at(negated, facts, "not")
    assert node_at(negated, facts, "not").negated and not node_at(plain, facts, "").negated
    assert plain.evaluate(facts).verdict is Verdict.NOT_APPLICABLE
    assert negated.evaluate(facts).verdict is Verdict.APPLIES
    resolution = compile_rules({"fact": "x", "exists": True, "resolved_by": NAT})
    assert node_at(resolution, {"x": 1, "behind_nat": True}, "resolved_by").resolution


@pytest.mark.parametrize(
    ("test", "operands"),
    [("equals", [True, 1, 1.0]), ("equals", [0.0, -0.0]), ("in", [[1], [True]])],
)
def test_operands_equal_in_python_but_not_in_json_are_not_shared(
    test: str, operands: list[object]
) -> None:
    rules = [compile_rules({"fact": "flag", test: operand}) for operand in operands]
    nodes = [node_at(rule, {}, "") for rule in rules]
    assert len({id(node) for node in nodes}) == len(operands)
    assert [repr(node.expected) for node in nodes] == [repr(operand) for operand in operands]
    texts = {rule.evaluate({}).reason_texts("en")[0] for rule in rules}
    assert len(texts) == len(operands)


def test_editing_the_document_after_compiling_changes_no_compiled_rule() -> None:
    doc = {"fact": "edition_probe", "in": ["standard", "enterprise"]}
    rule = compile_rules(doc)
    doc["in"].append("datacenter")  # type: ignore[attr-defined]
    edited = compile_rules(doc)
    assert rule.evaluate({"edition_probe": "datacenter"}).verdict is Verdict.NOT_APPLICABLE
    assert edited.evaluate({"edition_probe": "datacenter"}).verdict is Verdict.APPLIES
    # The original content still finds, and shares, the untouched node.
    again = compile_rules({"fact": "edition_probe", "in": ["standard", "enterprise"]})
    assert node_at(again, {}, "") is node_at(rule, {}, "")
    assert node_at(edited, {}, "") is not node_at(rule, {}, "")


def test_subtrees_are_freed_when_no_rule_holds_them() -> None:
    kept_doc = {"all": [{"fact": "freed_probe", "equals": 1}, {"fact": "kept_probe", "equals": 2}]}
    dropped_doc = {
        "all": [{"fact": "freed_probe", "equals": 1}, {"fact": "gone_probe", "equals": 3}]
    }
    kept, dropped = compile_rules(kept_doc), compile_rules(dropped_doc)
    facts = {"freed_probe": 1, "kept_probe": 2, "gone_probe": 3}
    shared = weakref.ref(node_at(dropped, facts, "all.0"))
    own = weakref.ref(node_at(dropped, facts, "all.1"))
    del dropped
    gc.collect()
    # The first leaf is still used by `kept`; the second belonged to the dropped rule only.
    assert shared() is node_at(kept, facts, "all.0")
    assert own() is None
    del kept
    gc.collect()
    assert shared() is None
    # Compiling again builds new nodes that still work.
    assert compile_rules(dropped_doc).evaluate(facts).verdict is Verdict.APPLIES


def test_compiling_in_many_threads_gives_equal_rules() -> None:
    docs = [copy.deepcopy(DOC) for _ in range(8)]
    for index, doc in enumerate(docs):
        doc["all"].append({"fact": "thread_probe", "equals": index % 2})  # type: ignore[attr-defined]
    rules: list[CompiledRule | None] = [None] * len(docs)
    start = threading.Barrier(len(docs))

    def compile_one(index: int) -> None:
        start.wait()
        rules[index] = compile_rules(docs[index])

    threads = [threading.Thread(target=compile_one, args=(index,)) for index in range(len(docs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, rule in enumerate(rules):
        assert rule is not None
        facts = {**SYSTEMS[3], "thread_probe": 0}
        expected = compile_rules(copy.deepcopy(docs[index])).evaluate(facts, explain=True)
        assert summary(rule.evaluate(facts, explain=True)) == summary(expected)


def test_validate_false_skips_validation_only() -> None:
    invalid = {"fact": "x", "equals": 1, "comment": "not part of the language"}
    with pytest.raises(RuleValidationError):
        compile_rules(invalid)
    assert compile_rules(invalid, validate=False).evaluate({"x": 1}).verdict is Verdict.APPLIES
    for facts in SYSTEMS:
        checked, unchecked = compile_rules(DOC), compile_rules(DOC, validate=False)
        assert summary(checked.evaluate(facts, explain=True)) == summary(
            unchecked.evaluate(facts, explain=True)
        )
