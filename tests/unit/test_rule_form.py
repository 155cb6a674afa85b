"""The rule builder's form encoding: every valid rule document survives the form exactly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kbservice.contract.ruleform import (
    FormDecodeError,
    add_node,
    canonical,
    decode_rules,
    encode_rules,
    move_node,
    node_of_field,
    node_of_path,
    remove_node,
)
from kbservice.rules import RuleValidationError, validate_rules
from kbservice.transfer.seeding import read_yaml

SEED = Path(__file__).resolve().parents[2] / "seeds" / "articles" / "KB885348.yaml"

Rule = dict[str, Any]

ids = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,8}", fullmatch=True)
versions = st.from_regex(r"\d{1,3}(\.\d{1,4}){0,3}", fullmatch=True)
fact_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
numbers = st.one_of(
    st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False)
)
# Any text, line breaks and control characters included: what the form cannot carry in
# one line must still come back exactly.
printable = st.characters(exclude_categories=("Cc", "Cs"))


def mostly_printable(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Printable text (plain controls) or text with line breaks and control characters,
    which one-line controls would lose (written as JSON)."""
    plain = st.text(printable, min_size=min_size, max_size=max_size)
    breaks = st.sampled_from("\r\n\t\x0b\x85\u2028")
    broken = st.text(printable | breaks, min_size=max(min_size, 1), max_size=max_size).filter(
        lambda text: any(char in text for char in "\r\n\t\x0b\x85")
    )
    return plain | broken


texts = mostly_printable(0, 6)
scalars = st.one_of(texts, numbers, st.booleans())
cidrs = st.sampled_from(["10.0.0.0/8", "192.168.0.0/16", "fd00::/8", "0.0.0.0/0", "10.20.0.0/16"])
labels = st.dictionaries(
    st.sampled_from(["en", "ja"]),
    mostly_printable(1, 12),
    min_size=1,
)


def one_or_list(items: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(items, st.lists(items, min_size=1, max_size=4))


def ranged(bound: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        one_or_list(bound),
        st.fixed_dictionaries({}, optional={"min": bound, "max": bound}).filter(bool),
    )


platform_tests = st.one_of(
    *(one_or_list(ids).map(lambda v, k=key: {k: v}) for key in ("product", "edition")),
    one_or_list(ids).map(lambda v: {"architecture": v}),
    ranged(st.integers(0, 120)).map(lambda v: {"service_pack": v}),
    ranged(versions).map(lambda v: {"product_version": v}),
)
fact_tests = st.one_of(
    st.tuples(fact_names, st.sampled_from(["equals", "contains"]), scalars),
    st.tuples(fact_names, st.just("in"), st.lists(scalars, min_size=1, max_size=4)),
    st.tuples(fact_names, st.just("exists"), st.booleans()),
    st.tuples(fact_names, st.sampled_from(["lt", "le", "gt", "ge"]), numbers),
    st.tuples(
        fact_names,
        st.sampled_from(["version_eq", "version_lt", "version_le", "version_gt", "version_ge"]),
        versions,
    ),
    st.tuples(fact_names, st.just("in_cidr"), one_or_list(cidrs)),
).map(lambda t: {"fact": t[0], t[1]: t[2]})


def labelled(rules: st.SearchStrategy[Rule]) -> st.SearchStrategy[Rule]:
    return st.tuples(rules, st.none() | labels).map(
        lambda pair: pair[0] if pair[1] is None else {**pair[0], "label": pair[1]}
    )


def _combine(children: st.SearchStrategy[Rule]) -> st.SearchStrategy[Rule]:
    return labelled(
        st.one_of(
            st.lists(children, min_size=1, max_size=4).map(lambda items: {"all": items}),
            st.lists(children, min_size=1, max_size=4).map(lambda items: {"any": items}),
            children.map(lambda item: {"not": item}),
        )
    )


rule_objects = st.recursive(
    labelled(st.one_of(platform_tests, fact_tests)), _combine, max_leaves=12
)
documents = st.tuples(rule_objects, st.none() | rule_objects).map(
    lambda pair: pair[0] if pair[1] is None else {**pair[0], "resolved_by": pair[1]}
)


def _valid(doc: Rule) -> bool:
    try:
        validate_rules(doc)
    except RuleValidationError:
        return False
    return True


def _as_browser_sends(fields: dict[str, str]) -> dict[str, str]:
    """Textareas send line breaks as CRLF; one-line inputs cannot hold any."""
    sent = {}
    for name, value in fields.items():
        if name.endswith(".value") and fields.get(name.removesuffix("value") + "shape") == "list":
            sent[name] = value.replace("\n", "\r\n")
        else:
            assert "\n" not in value and "\r" not in value, name
            sent[name] = value
    return sent


def _nodes(rule: Rule, path: str, node: str) -> Iterator[tuple[str, str]]:
    """(rule language path, builder node) of every rule object below `rule`."""
    yield path, node
    for key in ("all", "any"):
        for index, child in enumerate(rule.get(key, ())):
            yield from _nodes(child, f"{path}.{key}.{index}".lstrip("."), f"{node}.{index}")
    if "not" in rule:
        yield from _nodes(rule["not"], f"{path}.not".lstrip("."), f"{node}.0")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(documents)
def test_every_valid_document_survives_the_form_exactly(doc: Rule) -> None:
    assume(_valid(doc))
    fields = encode_rules(doc)
    assert canonical(decode_rules(fields)) == canonical(doc)
    assert canonical(decode_rules(_as_browser_sends(fields))) == canonical(doc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(documents)
def test_error_paths_point_at_the_node_in_the_tree(doc: Rule) -> None:
    assume(_valid(doc))
    fields = encode_rules(doc)
    main = {key: value for key, value in doc.items() if key != "resolved_by"}
    pairs = list(_nodes(main, "", "n"))
    if "resolved_by" in doc:
        pairs += list(_nodes(doc["resolved_by"], "resolved_by", "r"))
    for path, node in pairs:
        # A node written as JSON holds its whole subtree: errors below it point at it.
        shown = node
        while f"{shown}.kind" not in fields:
            shown = shown.rsplit(".", 1)[0]
        found = node_of_path(f"{path}.fatc".lstrip("."))
        assert found == node
        assert found.startswith(shown)


def test_the_seed_rules_are_built_from_plain_controls():
    rules = read_yaml(SEED)["rules"]
    fields = encode_rules(rules)
    assert decode_rules(fields) == rules
    assert "json" not in {value for name, value in fields.items() if name.endswith(".kind")}
    assert fields["n.0.3.kind"] == "service_pack"
    assert (fields["n.0.3.shape"], fields["n.0.3.min"], fields["n.0.3.max"]) == ("range", "0", "2")
    assert (fields["n.0.1.shape"], fields["n.0.1.value"]) == ("list", "standard\nenterprise")
    assert "n.0.3.type" not in fields  # a platform test's type follows from its kind
    assert (fields["n.1.kind"], fields["n.1.test"], fields["n.1.type"]) == (
        "fact",
        "equals",
        "boolean",
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (
            {"n.kind": "fact", "n.fact": "x", "n.test": "lt", "n.type": "number", "n.value": "2x"},
            "n.value",
        ),
        ({"n.kind": "fact", "n.fact": "x", "n.test": "equals", "n.type": "boolean"}, "n.value"),
        ({"n.kind": "nand"}, "n.kind"),
        ({"n.kind": "all", "n.0.kind": "json", "n.0.json": "{"}, "n.0.json"),
        ({"n.kind": "service_pack", "n.shape": "range", "n.type": "number"}, "n.min"),
    ],
)
def test_fields_that_do_not_parse_are_named(fields, field):
    with pytest.raises(FormDecodeError) as caught:
        decode_rules(fields)
    assert field in caught.value.errors


def test_gaps_left_by_removed_nodes_are_skipped():
    fields = encode_rules({"any": [{"product": "a"}, {"product": "b"}, {"product": "c"}]})
    for name in [name for name in fields if re.match(r"n\.1\.", name)]:
        del fields[name]
    assert decode_rules(fields) == {"any": [{"product": "a"}, {"product": "c"}]}


def test_nodes_are_added_moved_and_removed_by_name():
    fields = encode_rules({"all": [{"product": "a"}, {"not": {"edition": "b"}}]})
    fields = add_node(fields, "n", "fact")
    fields.update({"n.2.fact": "behind_nat", "n.2.type": "boolean", "n.2.value": "true"})
    assert decode_rules(fields)["all"][2] == {"fact": "behind_nat", "equals": True}
    moved = move_node(fields, "n.1", -1)
    assert decode_rules(moved)["all"][:2] == [{"not": {"edition": "b"}}, {"product": "a"}]
    assert move_node(moved, "n.0", -1) == moved  # the first stays first
    removed = remove_node(moved, "n.0")
    assert decode_rules(removed) == {
        "all": [{"product": "a"}, {"fact": "behind_nat", "equals": True}]
    }
    assert node_of_field("n.1.0.label.en") == "n.1.0"
    # The new child goes after the last one, whatever gaps removals left.
    assert "n.3.kind" in add_node(removed, "n", "any")
