"""The rule language's size limits (array operands, document bytes) and in_cidr's networks."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbservice.config import DEFAULTS
from kbservice.rules import (
    STORAGE_LIMITS,
    RuleValidationError,
    compile_rules,
    configured_limits,
    validate_rules,
)
from kbservice.rules.language import document_size
from kbservice.rules.predicates import in_cidr

# Every operand that may be an array, as a rule object holding `items` in it.
LIST_OPERANDS = {
    "product": lambda items: {"product": items},
    "edition": lambda items: {"edition": items},
    "architecture": lambda items: {"architecture": items},
    "service_pack": lambda items: {"service_pack": items},
    "product_version": lambda items: {"product_version": items},
    "in": lambda items: {"fact": "tier", "in": items},
    "in_cidr": lambda items: {"fact": "ip_addresses", "in_cidr": items},
}
VALID_ITEM = {
    "product": lambda i: f"p{i}",
    "edition": lambda i: f"e{i}",
    "architecture": lambda i: f"a{i}",
    "service_pack": lambda i: i,
    "product_version": lambda i: f"5.{i}",
    "in": lambda i: f"v{i}",
    "in_cidr": lambda i: f"10.{i >> 8 & 255}.{i & 255}.0/24",
}


def errors_of(doc: object, **limits: int) -> dict[str, list[str]]:
    with pytest.raises(RuleValidationError) as caught:
        validate_rules(doc, **limits)
    return caught.value.errors


@pytest.mark.parametrize("operand", sorted(LIST_OPERANDS))
def test_every_array_operand_holds_at_most_1000_items_by_default(operand: str) -> None:
    def doc(count: int) -> dict[str, object]:
        items = [VALID_ITEM[operand](i) for i in range(count)]
        return {"all": [{"product": "x"}, LIST_OPERANDS[operand](items)]}

    validate_rules(doc(1000))
    errors = errors_of(doc(1001))
    assert list(errors) == [f"all.1.{operand}"]
    assert errors[f"all.1.{operand}"] == ["has 1001 items, more than the limit of 1000"]


def test_the_items_of_an_array_over_the_limit_are_not_inspected() -> None:
    doc = {"fact": "ip_addresses", "in_cidr": ["not a network"] * 6}
    assert errors_of(doc, max_list_items=5) == {
        "in_cidr": ["has 6 items, more than the limit of 5"]
    }
    assert set(errors_of(doc, max_list_items=6)) == {f"in_cidr.{i}" for i in range(6)}


def test_combinator_arrays_are_bounded_by_the_node_limit_not_the_item_limit() -> None:
    validate_rules({"any": [{"product": "x"}] * 10}, max_list_items=3)


def test_the_document_size_limit_counts_compact_utf8_json() -> None:
    doc = {"fact": "note", "equals": "é"}
    size = len('{"fact":"note","equals":"é"}'.encode())
    assert document_size(doc) == size
    validate_rules(doc, max_bytes=size)
    assert errors_of(doc, max_bytes=size - 1) == {
        "": [f"the document is {size} bytes of JSON, more than the limit of {size - 1}"]
    }


def test_a_document_over_the_size_limit_gets_that_one_error() -> None:
    doc = {"all": [{"bogus": "x" * 70_000}, {"product": "BAD"}]}
    errors = errors_of(doc)
    assert list(errors) == [""] and "65536" in errors[""][0]


def test_compile_rules_takes_the_same_limits() -> None:
    doc = {"fact": "tier", "in": ["a", "b", "c"]}
    compile_rules(doc)
    with pytest.raises(RuleValidationError):
        compile_rules(doc, max_list_items=2)
    with pytest.raises(RuleValidationError):
        compile_rules(doc, max_bytes=10)


def test_configured_limits_come_from_the_settings_and_never_pass_storage() -> None:
    assert configured_limits(DEFAULTS) == {
        "max_depth": 32,
        "max_nodes": 1000,
        "max_list_items": 1000,
        "max_bytes": 65536,
    }
    deep = configured_limits({**DEFAULTS, "MAX_RULE_DEPTH": 10**6})
    assert deep["max_depth"] == STORAGE_LIMITS["max_depth"]


def test_storage_limits_accept_what_raised_settings_allow() -> None:
    big = {"any": [{"fact": "tier", "in": list(range(5000))}, *[{"product": "x"}] * 1500]}
    validate_rules(big, **STORAGE_LIMITS)
    assert errors_of(big)


# --- in_cidr


NETWORKS = st.one_of(
    st.builds(
        lambda address, length: str(ipaddress.ip_network(f"{address}/{length}", strict=False)),
        st.ip_addresses(v=4),
        st.integers(0, 32),
    ),
    st.builds(
        lambda address, length: str(ipaddress.ip_network(f"{address}/{length}", strict=False)),
        st.ip_addresses(v=6),
        st.integers(0, 128),
    ),
)


@given(st.lists(NETWORKS, min_size=1, max_size=20), st.lists(st.ip_addresses(), max_size=5))
def test_in_cidr_agrees_with_ipaddress(
    cidrs: list[str], addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address]
) -> None:
    networks = [ipaddress.ip_network(cidr) for cidr in cidrs]
    test = in_cidr(cidrs)
    for address in addresses:
        expected = any(address in network for network in networks)
        assert test(str(address)) is expected
    assert test([str(address) for address in addresses]) is any(
        address in network for address in addresses for network in networks
    )


def test_in_cidr_near_network_edges() -> None:
    test = in_cidr(["10.1.2.0/23", "2001:db8::/127", "192.168.0.7/32"])
    assert [test(a) for a in ("10.1.2.0", "10.1.3.255", "10.1.4.0", "10.1.1.255")] == [
        True,
        True,
        False,
        False,
    ]
    assert [test(a) for a in ("2001:db8::1", "2001:db8::2", "192.168.0.7", "192.168.0.8")] == [
        True,
        False,
        True,
        False,
    ]
    # IPv4 networks hold no IPv6 address, not even an IPv4-mapped one.
    assert not test("::ffff:10.1.2.1")
    assert not test("not an address") and not test(7) and not test(["x", None])
