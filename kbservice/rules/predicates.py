"""Leaf predicates: total functions from a present fact value to bool, built once per node.

A present value of the wrong type makes a predicate false, never an error.
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable, Iterable
from functools import lru_cache

from .language import parse_version

Predicate = Callable[[object], bool]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_LISTS = (list, tuple, set, frozenset)
_ORDER: dict[str, Callable[[object, object], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
}


def is_number(value: object) -> bool:
    """True for int and float values, which excludes bools."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def equals(expected: object) -> Predicate:
    """Value equals `expected`; bools only equal bools, numbers compare numerically."""
    if isinstance(expected, bool):
        return lambda value: isinstance(value, bool) and value == expected
    if isinstance(expected, str):
        return lambda value: isinstance(value, str) and value == expected
    return lambda value: is_number(value) and value == expected


def one_of(values: Iterable[object]) -> Predicate:
    """Value equals one of `values`, with the typing of `equals`."""
    items = list(values)
    bools = frozenset(item for item in items if isinstance(item, bool))
    others = frozenset(item for item in items if not isinstance(item, bool))

    def test(value: object) -> bool:
        if isinstance(value, bool):
            return value in bools
        return isinstance(value, (str, int, float)) and value in others

    return test


def contains(expected: object) -> Predicate:
    """A list-like value has an element equal to `expected`; strings compare case-insensitively."""
    if not isinstance(expected, str):
        element = equals(expected)
        return lambda value: isinstance(value, _LISTS) and any(map(element, value))
    needle = expected.casefold()

    def test(value: object) -> bool:
        if not isinstance(value, _LISTS):
            return False
        if expected in value:
            return True
        try:
            # Fast C-level scan; lists that mix in non-strings take the slow path.
            return needle in map(str.casefold, value)
        except TypeError:
            return any(isinstance(item, str) and item.casefold() == needle for item in value)

    return test


def ordered(op: str, bound: float) -> Predicate:
    """Numeric comparison `value <op> bound` for lt/le/gt/ge."""
    compare = _ORDER[op]
    return lambda value: is_number(value) and compare(value, bound)


def number_range(low: float | None, high: float | None) -> Predicate:
    """Number within the inclusive range; a missing bound is open."""
    return lambda value: (
        is_number(value)
        and (low is None or value >= low)  # type: ignore[operator]
        and (high is None or value <= high)  # type: ignore[operator]
    )


def version(op: str, bound: str) -> Predicate:
    """Dotted-version comparison `value <op> bound` for eq/lt/le/gt/ge."""
    compare = _ORDER[op]
    parsed = parse_version(bound)

    def test(value: object) -> bool:
        if not isinstance(value, str):
            return False
        actual = parse_version(value)
        return actual is not None and compare(actual, parsed)

    return test


def version_one_of(bounds: Iterable[str]) -> Predicate:
    """Version equal to one of `bounds` (so 5.2 matches 5.2.0)."""
    parsed = frozenset(parse_version(bound) for bound in bounds)
    return lambda value: isinstance(value, str) and parse_version(value) in parsed


def version_range(low: str | None, high: str | None) -> Predicate:
    """Version within the inclusive range; a missing bound is open."""
    tests = [version(op, bound) for op, bound in (("ge", low), ("le", high)) if bound is not None]
    return lambda value: all(test(value) for test in tests)


def in_cidr(cidrs: Iterable[str]) -> Predicate:
    """An address, or any address of a list, lies in any of the networks."""
    networks = _NetworkSet(ipaddress.ip_network(cidr) for cidr in cidrs)

    def inside(text: object) -> bool:
        address = _address(text) if isinstance(text, str) else None
        return address is not None and address in networks

    def test(value: object) -> bool:
        if isinstance(value, str):
            return inside(value)
        return isinstance(value, _LISTS) and any(map(inside, value))

    return test


class _NetworkSet:
    """Networks with a membership test whose cost does not grow with their number.

    Per IP version and prefix length, a set of the networks' leading bits: an address is
    inside when its own leading bits of some length are in that length's set, so a test
    looks up at most one set per distinct prefix length (33 for IPv4, 129 for IPv6).
    """

    def __init__(self, networks: Iterable[Network]) -> None:
        self._prefixes: dict[int, dict[int, set[int]]] = {4: {}, 6: {}}
        for network in networks:
            shift = network.max_prefixlen - network.prefixlen
            by_length = self._prefixes[network.version]
            by_length.setdefault(shift, set()).add(int(network.network_address) >> shift)

    def __contains__(self, address: Address) -> bool:
        # Membership across IPv4/IPv6 is simply false.
        number = int(address)
        return any(
            number >> shift in prefixes
            for shift, prefixes in self._prefixes[address.version].items()
        )


@lru_cache(maxsize=4096)
def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def platform(test: str, operand: object) -> Predicate:
    """Predicate of a platform test (`product`, `service_pack`, ...) on its operand."""
    if isinstance(operand, dict):
        low, high = operand.get("min"), operand.get("max")
        return version_range(low, high) if test == "product_version" else number_range(low, high)
    if test == "product_version":
        return version_one_of(operand) if isinstance(operand, list) else version("eq", str(operand))
    return one_of(operand) if isinstance(operand, list) else equals(operand)


def fact_test(test: str, operand: object) -> Predicate:
    """Predicate of a fact test (`equals`, `in_cidr`, ...) other than `exists`."""
    if test == "equals":
        return equals(operand)
    if test == "in":
        return one_of(operand)  # type: ignore[arg-type]
    if test == "contains":
        return contains(operand)
    if test in ("lt", "le", "gt", "ge"):
        return ordered(test, operand)  # type: ignore[arg-type]
    if test.startswith("version_"):
        return version(test.removeprefix("version_"), str(operand))
    if test == "in_cidr":
        return in_cidr(operand if isinstance(operand, list) else [operand])  # type: ignore[list-item]
    raise ValueError(f"not a fact test: {test}")
