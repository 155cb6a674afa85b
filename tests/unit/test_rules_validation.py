"""Validation of rule documents: unknown keys by path, operand types, structure and limits."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from kbservice.rules import RuleValidationError, compile_rules, validate_rules
from kbservice.rules.language import KNOWN_KEYS

# Uses every key of the language at least once, at several depths.
EVERY_KEY = {
    "label": {"en": "Everything", "ja": "すべて"},
    "all": [
        {"product": ["windows_server_2003", "windows_xp"]},
        {"edition": "enterprise"},
        {"architecture": ["x86"]},
        {"service_pack": {"min": 0, "max": 2}},
        {"product_version": {"min": "5.2", "max": "5.2.3790"}},
        {
            "any": [
                {"fact": "behind_nat", "equals": True, "label": {"en": "NAT"}},
                {"fact": "roles", "contains": "vpn_server"},
                {"fact": "tier", "in": ["gold", "silver"]},
                {"not": {"fact": "custom_fact", "exists": True}},
            ]
        },
        {
            "any": [
                {"fact": "cores", "lt": 4},
                {"fact": "cores", "le": 4},
                {"fact": "cores", "gt": 4},
                {"fact": "cores", "ge": 4.5},
                {"fact": "build", "version_eq": "5.2"},
                {"fact": "build", "version_lt": "5.2"},
                {"fact": "build", "version_le": "5.2"},
                {"fact": "build", "version_gt": "5.2"},
                {"fact": "build", "version_ge": "5.2"},
                {"fact": "ip_addresses", "in_cidr": ["10.0.0.0/8", "fd00::/8"]},
            ]
        },
    ],
    "resolved_by": {"fact": "installed_updates", "contains": "KB999999"},
}


def errors_of(doc: object, **limits: int) -> dict[str, list[str]]:
    with pytest.raises(RuleValidationError) as caught:
        validate_rules(doc, **limits)
    return caught.value.errors


def key_paths(value: object, path: str = "") -> Iterator[tuple[str, list[object]]]:
    """Every object key in the document as (dotted path, location as a list of steps)."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else key
            yield here, [key]
            for sub, steps in key_paths(item, here):
                yield sub, [key, *steps]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            here = f"{path}.{index}" if path else str(index)
            for sub, steps in key_paths(item, here):
                yield sub, [index, *steps]


def misspell(doc: dict[str, object], steps: list[object]) -> tuple[dict[str, object], str]:
    """Copy of doc with the key at `steps` renamed by swapping its first two letters."""
    mutated = copy.deepcopy(doc)
    parent: object = mutated
    for step in steps[:-1]:
        parent = parent[step]  # type: ignore[index]
    key = str(steps[-1])
    wrong = key[1] + key[0] + key[2:]
    assert isinstance(parent, dict)
    parent[wrong] = parent.pop(key)
    return mutated, wrong


def test_the_every_key_document_is_valid_and_uses_every_key() -> None:
    validate_rules(EVERY_KEY)
    used = {str(steps[-1]) for _, steps in key_paths(EVERY_KEY)}
    assert used >= KNOWN_KEYS


@pytest.mark.parametrize(("path", "steps"), list(key_paths(EVERY_KEY)), ids=lambda v: str(v))
def test_every_misspelt_key_is_reported_at_its_own_path(path: str, steps: list[object]) -> None:
    mutated, wrong = misspell(EVERY_KEY, steps)
    errors = errors_of(mutated)
    wrong_path = path.rsplit(".", 1)[0] + "." + wrong if "." in path else wrong
    assert wrong_path in errors, errors
    assert any(f"unknown key {wrong!r}" in message for message in errors[wrong_path])


def test_misspelt_key_suggests_the_right_one() -> None:
    errors = errors_of({"all": [{"product": "x"}, {"any": [{"fatc": "a", "equals": 1}]}]})
    assert errors["all.1.any.0.fatc"] == ["unknown key 'fatc' (did you mean 'fact'?)"]
    # The node without 'fact' is also reported, at the node's own path.
    assert "all.1.any.0" in errors


def test_operand_errors_are_reported_at_the_operand_path() -> None:
    doc = {"all": [{"product": "x"}, {"product": "y"}, {"fact": "a", "equals": None}]}
    assert errors_of(doc) == {"all.2.equals": ["expected a string, number or boolean, got null"]}


def test_errors_from_several_places_are_all_collected() -> None:
    doc = {
        "all": [{"edition": 3}, {"any": []}, {"not": [{"product": "x"}]}],
        "label": {"fr": "x"},
        "bogus": 1,
    }
    errors = errors_of(doc)
    assert set(errors) == {"all.0.edition", "all.1.any", "all.2.not", "label.fr", "bogus"}


def test_root_errors_use_the_empty_path() -> None:
    assert errors_of([]) == {"": ["expected a rule object, got array"]}
    assert list(errors_of({})) == [""]
    assert list(errors_of({"label": {"en": "only a label"}})) == [""]


@pytest.mark.parametrize("combinator", ["all", "any"])
def test_all_and_any_need_a_non_empty_list(combinator: str) -> None:
    assert combinator in errors_of({combinator: []})
    assert combinator in errors_of({combinator: {"product": "x"}})
    assert f"{combinator}.1" in errors_of({combinator: [{"product": "x"}, "product"]})


def test_not_takes_one_rule_object() -> None:
    assert "not" in errors_of({"not": [{"product": "x"}]})
    assert "not" in errors_of({"not": None})


@pytest.mark.parametrize(
    "doc",
    [
        {"product": "x", "edition": "y"},
        {"all": [{"product": "x"}], "any": [{"product": "x"}]},
        {"fact": "a", "equals": 1, "in": [1]},
        {"fact": "a"},
        {"fact": "a", "equals": 1, "product": "x"},
        {"equals": 1},
    ],
)
def test_a_node_has_exactly_one_operator(doc: dict[str, object]) -> None:
    assert "" in errors_of(doc)


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"product": "Windows_Server_2003"}, "product"),
        ({"product": []}, "product"),
        ({"edition": ["standard", 3]}, "edition.1"),
        ({"architecture": " x86"}, "architecture"),
        ({"service_pack": -1}, "service_pack"),
        ({"service_pack": True}, "service_pack"),
        ({"service_pack": 1.5}, "service_pack"),
        ({"service_pack": [0, "1"]}, "service_pack.1"),
        ({"service_pack": {"min": 2, "max": 1}}, "service_pack"),
        ({"service_pack": {"mini": 2}}, "service_pack.mini"),
        ({"service_pack": {}}, "service_pack"),
        ({"product_version": "5.2.x"}, "product_version"),
        ({"product_version": 5.2}, "product_version"),
        ({"product_version": {"min": "6.0", "max": "5.2"}}, "product_version"),
        ({"product_version": {"max": "5..2"}}, "product_version.max"),
        ({"fact": "a", "equals": [1]}, "equals"),
        ({"fact": "a", "equals": {"x": 1}}, "equals"),
        ({"fact": "a", "equals": float("nan")}, "equals"),
        ({"fact": "a", "in": []}, "in"),
        ({"fact": "a", "in": "abc"}, "in"),
        ({"fact": "a", "in": [1, None]}, "in.1"),
        ({"fact": "a", "contains": ["KB1"]}, "contains"),
        ({"fact": "a", "exists": "yes"}, "exists"),
        ({"fact": "a", "exists": 1}, "exists"),
        ({"fact": "a", "lt": "5"}, "lt"),
        ({"fact": "a", "ge": True}, "ge"),
        ({"fact": "a", "gt": float("inf")}, "gt"),
        ({"fact": "a", "version_ge": "v5"}, "version_ge"),
        ({"fact": "a", "version_lt": 5}, "version_lt"),
        ({"fact": "a", "in_cidr": "10.0.0.1/8"}, "in_cidr"),
        ({"fact": "a", "in_cidr": "10.0.0.0/33"}, "in_cidr"),
        ({"fact": "a", "in_cidr": ["10.0.0.0/8", "nonsense"]}, "in_cidr.1"),
        ({"fact": "a", "in_cidr": []}, "in_cidr"),
        ({"fact": "", "equals": 1}, "fact"),
        ({"fact": "1abc", "equals": 1}, "fact"),
        ({"fact": "a.b", "equals": 1}, "fact"),
        ({"fact": 3, "equals": 1}, "fact"),
        ({"product": "x", "label": "text"}, "label"),
        ({"product": "x", "label": {}}, "label"),
        ({"product": "x", "label": {"en": ""}}, "label.en"),
        ({"product": "x", "label": {"en": "x" * 501}}, "label.en"),
        ({"product": "x", "label": {"en": 3}}, "label.en"),
        ({"product": "x", "label": {"de": "Text"}}, "label.de"),
    ],
)
def test_wrong_operand_types_are_reported(doc: dict[str, object], path: str) -> None:
    assert path in errors_of(doc)


def test_resolved_by_is_only_allowed_at_the_root() -> None:
    nested = {"all": [{"product": "x", "resolved_by": {"product": "y"}}]}
    errors = errors_of(nested)
    assert list(errors) == ["all.0.resolved_by"]
    assert "top level" in errors["all.0.resolved_by"][0]
    assert "resolved_by.fact" in errors_of(
        {"product": "x", "resolved_by": {"fact": 3, "exists": True}}
    )


def nested_nots(depth: int) -> dict[str, object]:
    doc: dict[str, object] = {"product": "x"}
    for _ in range(depth - 1):
        doc = {"not": doc}
    return doc


def test_depth_limit_defaults_to_32_levels() -> None:
    validate_rules(nested_nots(32))
    errors = errors_of(nested_nots(33))
    assert list(errors) == [".".join(["not"] * 32)]


def test_depth_limit_is_a_parameter_and_counts_resolved_by() -> None:
    validate_rules(nested_nots(3), max_depth=3)
    assert errors_of(nested_nots(4), max_depth=3)
    with_resolution = {"product": "x", "resolved_by": nested_nots(3)}
    validate_rules(with_resolution, max_depth=4)
    assert "resolved_by.not.not" in errors_of(with_resolution, max_depth=3)


def test_node_limit_defaults_to_1000_nodes() -> None:
    validate_rules({"all": [{"product": "x"}] * 999})
    errors = errors_of({"all": [{"product": "x"}] * 1000})
    assert list(errors) == [""]
    assert "1000" in errors[""][0]


def test_node_limit_is_a_parameter() -> None:
    validate_rules({"any": [{"product": "x"}] * 4}, max_nodes=5)
    assert errors_of({"any": [{"product": "x"}] * 5}, max_nodes=5)


def test_self_referencing_document_stops_at_the_depth_limit() -> None:
    doc: dict[str, object] = {}
    doc["not"] = doc
    assert errors_of(doc)


def test_error_message_lists_paths_and_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"all\.0\.fatc: unknown key 'fatc'"):
        validate_rules({"all": [{"fatc": "a", "exists": True}]})


def test_compile_rules_validates_first() -> None:
    with pytest.raises(RuleValidationError) as caught:
        compile_rules({"any": []})
    assert list(caught.value.errors) == ["any"]
    with pytest.raises(RuleValidationError):
        compile_rules({"not": nested_nots(3)}, max_depth=3)


def test_validation_does_not_change_the_document() -> None:
    doc = copy.deepcopy(EVERY_KEY)
    validate_rules(doc)
    compile_rules(doc)
    assert doc == EVERY_KEY
