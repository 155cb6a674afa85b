"""Each test operator and the Kleene combinators, evaluated through compiled rules."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from kbservice.rules import Verdict, compile_rules

APPLIES, NOT_APPLICABLE, UNKNOWN = Verdict.APPLIES, Verdict.NOT_APPLICABLE, Verdict.UNKNOWN
MISSING = object()


def verdict(rule: dict[str, object], facts: dict[str, object]) -> Verdict:
    return compile_rules(rule).evaluate(facts).verdict


def on(value: object, name: str = "x") -> dict[str, object]:
    """Facts with `name` set to value, or without it for MISSING."""
    return {} if value is MISSING else {name: value}


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        # equals: strings exact, numbers numerically, bools only equal bools
        ({"equals": "a"}, "a", APPLIES),
        ({"equals": "a"}, "A", NOT_APPLICABLE),
        ({"equals": "1"}, 1, NOT_APPLICABLE),
        ({"equals": 1}, 1.0, APPLIES),
        ({"equals": 1}, True, NOT_APPLICABLE),
        ({"equals": True}, 1, NOT_APPLICABLE),
        ({"equals": True}, True, APPLIES),
        ({"equals": False}, False, APPLIES),
        ({"equals": False}, [False], NOT_APPLICABLE),
        ({"equals": "a"}, MISSING, UNKNOWN),
        ({"equals": "a"}, None, UNKNOWN),
        # in
        ({"in": ["a", "b"]}, "b", APPLIES),
        ({"in": ["a", "b"]}, "c", NOT_APPLICABLE),
        ({"in": [1, 2]}, True, NOT_APPLICABLE),
        ({"in": [True]}, 1, NOT_APPLICABLE),
        ({"in": [True, 2]}, True, APPLIES),
        ({"in": [1, 2]}, 2.0, APPLIES),
        ({"in": ["a"]}, ["a"], NOT_APPLICABLE),
        ({"in": ["a"]}, MISSING, UNKNOWN),
        # contains: list facts; strings case-insensitively
        ({"contains": "KB885407"}, ["KB1", "KB885407"], APPLIES),
        ({"contains": "KB885407"}, ["kb885407"], APPLIES),
        ({"contains": "kb885407"}, ("KB885407",), APPLIES),
        ({"contains": "KB885407"}, {"KB885407"}, APPLIES),
        ({"contains": "KB885407"}, [3, "kb885407"], APPLIES),
        ({"contains": "KB885407"}, ["KB885408"], NOT_APPLICABLE),
        ({"contains": "KB885407"}, [], NOT_APPLICABLE),
        ({"contains": "KB885407"}, "KB885407", NOT_APPLICABLE),
        ({"contains": 3}, [1, 3], APPLIES),
        ({"contains": 3}, ["3"], NOT_APPLICABLE),
        ({"contains": True}, [1], NOT_APPLICABLE),
        ({"contains": "a"}, MISSING, UNKNOWN),
        # numeric comparisons
        ({"lt": 3}, 2, APPLIES),
        ({"lt": 3}, 3, NOT_APPLICABLE),
        ({"le": 3}, 3, APPLIES),
        ({"le": 3}, 3.5, NOT_APPLICABLE),
        ({"gt": 3}, 3, NOT_APPLICABLE),
        ({"gt": 3}, 3.01, APPLIES),
        ({"ge": 3}, 3, APPLIES),
        ({"ge": 3}, 2, NOT_APPLICABLE),
        ({"ge": 0}, True, NOT_APPLICABLE),
        ({"lt": 3}, "2", NOT_APPLICABLE),
        ({"lt": 3}, MISSING, UNKNOWN),
        # versions: numeric per component, trailing zeros ignored
        ({"version_eq": "5.2"}, "5.2.0", APPLIES),
        ({"version_eq": "5.2"}, "5.2.1", NOT_APPLICABLE),
        ({"version_lt": "5.2.10000"}, "5.2.3790", APPLIES),
        ({"version_lt": "5.2.3790"}, "5.2.3790", NOT_APPLICABLE),
        ({"version_le": "5.2.3790"}, "5.2.3790.0", APPLIES),
        ({"version_gt": "5.2"}, "5.10", APPLIES),
        ({"version_gt": "5.2"}, "5.2", NOT_APPLICABLE),
        ({"version_ge": "6.0"}, "5.2.3790", NOT_APPLICABLE),
        ({"version_ge": "6.0"}, "10.0.17763", APPLIES),
        ({"version_ge": "1"}, "v2", NOT_APPLICABLE),
        ({"version_ge": "1"}, 2, NOT_APPLICABLE),
        ({"version_ge": "1"}, MISSING, UNKNOWN),
        # CIDR: a string or any address of a list, in any network
        ({"in_cidr": "192.168.0.0/16"}, "192.168.1.5", APPLIES),
        ({"in_cidr": "192.168.0.0/16"}, "10.0.0.1", NOT_APPLICABLE),
        ({"in_cidr": ["10.0.0.0/8", "192.168.0.0/16"]}, ["8.8.8.8", "192.168.1.5"], APPLIES),
        ({"in_cidr": ["10.0.0.0/8"]}, ["8.8.8.8", "1.1.1.1"], NOT_APPLICABLE),
        ({"in_cidr": "fd00::/8"}, "fd12::1", APPLIES),
        ({"in_cidr": "10.0.0.0/8"}, "::ffff:10.0.0.1", NOT_APPLICABLE),
        ({"in_cidr": "::/0"}, "10.0.0.1", NOT_APPLICABLE),
        ({"in_cidr": "10.0.0.0/8"}, ["not-an-ip", "10.1.1.1"], APPLIES),
        ({"in_cidr": "10.0.0.0/8"}, "not-an-ip", NOT_APPLICABLE),
        ({"in_cidr": "10.0.0.0/8"}, [], NOT_APPLICABLE),
        ({"in_cidr": "10.0.0.0/8"}, 167772161, NOT_APPLICABLE),
        ({"in_cidr": "10.0.0.0/8"}, MISSING, UNKNOWN),
    ],
)
def test_fact_tests(rule: dict[str, object], value: object, expected: Verdict) -> None:
    assert verdict({"fact": "x", **rule}, on(value)) is expected


@pytest.mark.parametrize(
    ("wanted", "value", "expected"),
    [
        (True, 0, APPLIES),
        (True, False, APPLIES),
        (True, MISSING, NOT_APPLICABLE),
        (True, None, NOT_APPLICABLE),
        (False, MISSING, APPLIES),
        (False, "", NOT_APPLICABLE),
    ],
)
def test_exists_is_never_unknown(wanted: bool, value: object, expected: Verdict) -> None:
    evaluation = compile_rules({"fact": "x", "exists": wanted}).evaluate(on(value))
    assert evaluation.verdict is expected
    assert evaluation.missing_facts == ()


@pytest.mark.parametrize(
    ("rule", "facts", "expected"),
    [
        ({"product": "windows_server_2003"}, {"product": "windows_server_2003"}, APPLIES),
        ({"product": "windows_server_2003"}, {"product": "windows_xp"}, NOT_APPLICABLE),
        ({"product": ["windows_xp", "windows_server_2003"]}, {"product": "windows_xp"}, APPLIES),
        ({"product": ["windows_xp"]}, {"product": ["windows_xp"]}, NOT_APPLICABLE),
        ({"product": "windows_xp"}, {}, UNKNOWN),
        ({"edition": ["standard", "enterprise"]}, {"edition": "enterprise"}, APPLIES),
        ({"edition": ["standard", "enterprise"]}, {"edition": "web"}, NOT_APPLICABLE),
        ({"architecture": "x86"}, {"architecture": "x64"}, NOT_APPLICABLE),
        ({"architecture": "x86"}, {"architecture": "x86"}, APPLIES),
        ({"service_pack": 2}, {"service_pack": 2}, APPLIES),
        ({"service_pack": 2}, {"service_pack": 1}, NOT_APPLICABLE),
        ({"service_pack": 0}, {"service_pack": False}, NOT_APPLICABLE),
        ({"service_pack": [0, 2]}, {"service_pack": 1}, NOT_APPLICABLE),
        ({"service_pack": [0, 2]}, {"service_pack": 0}, APPLIES),
        ({"service_pack": {"min": 1, "max": 2}}, {"service_pack": 1}, APPLIES),
        ({"service_pack": {"min": 1, "max": 2}}, {"service_pack": 2}, APPLIES),
        ({"service_pack": {"min": 1, "max": 2}}, {"service_pack": 0}, NOT_APPLICABLE),
        ({"service_pack": {"min": 1, "max": 2}}, {"service_pack": 3}, NOT_APPLICABLE),
        ({"service_pack": {"min": 1}}, {"service_pack": 7}, APPLIES),
        ({"service_pack": {"max": 1}}, {"service_pack": 0}, APPLIES),
        ({"service_pack": {"max": 1}}, {"service_pack": "0"}, NOT_APPLICABLE),
        ({"service_pack": {"max": 1}}, {}, UNKNOWN),
        ({"product_version": "5.2.3790"}, {"product_version": "5.2.3790"}, APPLIES),
        ({"product_version": "5.2"}, {"product_version": "5.2.0.0"}, APPLIES),
        ({"product_version": ["5.1", "5.2"]}, {"product_version": "5.2"}, APPLIES),
        ({"product_version": ["5.1", "5.2"]}, {"product_version": "6.0"}, NOT_APPLICABLE),
        (
            {"product_version": {"min": "5.2", "max": "5.2.3790"}},
            {"product_version": "5.2.3790"},
            APPLIES,
        ),
        (
            {"product_version": {"min": "5.2", "max": "5.2.3790"}},
            {"product_version": "5.2.3791"},
            NOT_APPLICABLE,
        ),
        ({"product_version": {"min": "5.2"}}, {"product_version": "5.10"}, APPLIES),
        ({"product_version": {"max": "5.2"}}, {"product_version": "5.10"}, NOT_APPLICABLE),
        ({"product_version": {"max": "5.2"}}, {"product_version": "garbage"}, NOT_APPLICABLE),
        ({"product_version": {"max": "5.2"}}, {}, UNKNOWN),
    ],
)
def test_platform_tests(
    rule: dict[str, object], facts: dict[str, object], expected: Verdict
) -> None:
    assert verdict(rule, facts) is expected


def test_platform_tests_are_fact_tests_on_fixed_fact_names() -> None:
    assert compile_rules({"service_pack": 2}).facts == {"service_pack"}
    assert verdict({"fact": "service_pack", "equals": 2}, {"service_pack": 2}) is APPLIES


def test_custom_facts_and_any_mapping_are_accepted() -> None:
    rule = compile_rules({"fact": "custom_fact", "ge": 3})
    assert rule.evaluate(MappingProxyType({"custom_fact": 3})).verdict is APPLIES
    assert rule.facts == {"custom_fact"}


# Kleene truth tables, with leaves a and b that are true, false or unknown (missing).
T, F, U = "T", "F", "U"
VALUES = {T: True, F: False, U: MISSING}
TO_VERDICT = {T: APPLIES, F: NOT_APPLICABLE, U: UNKNOWN}
AND = {
    (T, T): T, (T, F): F, (T, U): U,
    (F, T): F, (F, F): F, (F, U): F,
    (U, T): U, (U, F): F, (U, U): U,
}  # fmt: skip
OR = {
    (T, T): T, (T, F): T, (T, U): T,
    (F, T): T, (F, F): F, (F, U): U,
    (U, T): T, (U, F): U, (U, U): U,
}  # fmt: skip
NOT = {T: F, F: T, U: U}


def leaf(name: str) -> dict[str, object]:
    return {"fact": name, "equals": True}


def two(a: str, b: str) -> dict[str, object]:
    facts = {}
    for name, value in (("a", VALUES[a]), ("b", VALUES[b])):
        if value is not MISSING:
            facts[name] = value
    return facts


@pytest.mark.parametrize(("a", "b"), list(AND))
def test_all_truth_table(a: str, b: str) -> None:
    evaluation = compile_rules({"all": [leaf("a"), leaf("b")]}).evaluate(two(a, b))
    assert evaluation.verdict is TO_VERDICT[AND[a, b]]
    expected_missing = tuple(n for n, v in (("a", a), ("b", b)) if v == U) if AND[a, b] == U else ()
    assert evaluation.missing_facts == expected_missing


@pytest.mark.parametrize(("a", "b"), list(OR))
def test_any_truth_table(a: str, b: str) -> None:
    evaluation = compile_rules({"any": [leaf("a"), leaf("b")]}).evaluate(two(a, b))
    assert evaluation.verdict is TO_VERDICT[OR[a, b]]
    expected_missing = tuple(n for n, v in (("a", a), ("b", b)) if v == U) if OR[a, b] == U else ()
    assert evaluation.missing_facts == expected_missing


@pytest.mark.parametrize("a", list(NOT))
def test_not_truth_table(a: str) -> None:
    evaluation = compile_rules({"not": leaf("a")}).evaluate(two(a, T))
    assert evaluation.verdict is TO_VERDICT[NOT[a]]
    assert evaluation.missing_facts == (("a",) if a == U else ())


def test_long_all_and_any_chains() -> None:
    facts = {"t1": True, "t2": True, "f": False}
    assert verdict({"all": [leaf("t1"), leaf("t2"), leaf("u")]}, facts) is UNKNOWN
    assert verdict({"all": [leaf("u"), leaf("t1"), leaf("f"), leaf("v")]}, facts) is NOT_APPLICABLE
    assert verdict({"any": [leaf("f"), leaf("u"), leaf("t2")]}, facts) is APPLIES
    assert verdict({"any": [leaf("f"), leaf("u"), leaf("f")]}, facts) is UNKNOWN
    assert verdict({"all": [leaf("t1")]}, facts) is APPLIES
    assert verdict({"any": [leaf("f")]}, facts) is NOT_APPLICABLE
