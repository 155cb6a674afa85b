"""Compile-time tree of a validated rule document, and what can be learned from it statically."""

from __future__ import annotations

import copy
import hashlib
import json
import weakref
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, TypeGuard

import orjson

from .language import join, leaf_test
from .model import NodeInfo
from .predicates import Predicate, fact_test, platform

ALL, ANY, NOT, LEAF, EXISTS = "all", "any", "not", "leaf", "exists"


# eq=False: nodes are interned (see `_intern`), so identity is the right equality.
@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Node:
    """One rule node: a combinator with children, or a leaf with its predicate."""

    info: NodeInfo
    kind: str
    children: tuple[Node, ...] = ()
    predicate: Predicate | None = None


# Hash-consing: many articles' rules repeat the same subtrees at the same paths, and nodes
# are immutable, so every identical subtree is built once and shared by all rules that
# have it. Weak values free a subtree once no compiled rule holds it any more.
#
# Keys are canonical: a leaf's key has its operand as JSON (which keeps true, 1 and 1.0
# apart, and the key order of ranges, which explain traces show), a combinator's key has
# its children, which are interned already, so identical subtrees have equal keys
# without serialising them again. Every key also has the node's path and flags.
#
# Threads may build the same subtree at once: each get and setdefault is atomic under
# the GIL, and both builders make equal nodes, so whichever is stored first is shared
# and the other stays private to its rule; a race costs sharing, never correctness.
_NODES: weakref.WeakValueDictionary[Hashable, Node] = weakref.WeakValueDictionary()


def build(
    doc: Mapping[str, object],
    path: str = "",
    *,
    negated: bool = False,
    resolution: bool = False,
    faithful: bool = False,
) -> Node:
    """Turn a validated rule object (without `resolved_by`) into a Node tree.

    Identical subtrees at the same path are the same Node, shared between calls.
    `faithful` tells that `doc` reads back from its JSON as itself (`json_digest` is not
    None): then its subtrees are found by their JSON before they are walked.
    """
    label = doc.get("label")
    labels = tuple(sorted(label.items())) if isinstance(label, dict) else ()
    place = (path, negated, resolution, labels)

    def info(test: str, fact: str | None = None, expected: object = None) -> NodeInfo:
        return NodeInfo(path, test, fact, expected, labels, negated, resolution)

    kind = next((key for key in (ALL, ANY, NOT) if key in doc), None)
    if kind is not None:
        children = _children(doc, kind, path, negated, resolution, faithful)
        if faithful:  # shared by its JSON (see _child); a second key only costs memory
            return Node(info(kind), kind, children)
        return _intern((kind, *place, children), lambda: Node(info(kind), kind, children))
    test, fact = leaf_test(doc)
    if faithful:
        return _leaf(info, test, fact, doc[test], is_fact="fact" in doc)
    key = (test, *place, fact, json.dumps(doc[test]))
    return _intern(key, lambda: _leaf(info, test, fact, doc[test], is_fact="fact" in doc))


def _children(
    doc: Mapping[str, object],
    kind: str,
    path: str,
    negated: bool,
    resolution: bool,
    faithful: bool,
) -> tuple[Node, ...]:
    if kind == NOT:
        child = doc[NOT]
        assert isinstance(child, dict)
        return (_child(child, join(path, NOT), not negated, resolution, faithful),)
    children = doc[kind]
    assert isinstance(children, list)
    return tuple(
        _child(child, join(join(path, kind), index), negated, resolution, faithful)
        for index, child in enumerate(children)
    )


def _child(
    doc: dict[str, object], path: str, negated: bool, resolution: bool, faithful: bool
) -> Node:
    """`build` of a subtree, first looked up by its JSON when the document is faithful."""
    if not faithful:
        return build(doc, path, negated=negated, resolution=resolution)
    key = (path, negated, resolution, _digest(orjson.dumps(doc)))
    node = _BY_JSON.get(key)
    if node is None:
        made = build(doc, path, negated=negated, resolution=resolution, faithful=True)
        node = _BY_JSON.setdefault(key, made)
    return node


# Subtrees by path, flags and the digest of their JSON (faithful documents only): a
# rule whose subtrees are all shared already is built without walking them, several
# times faster than through `_NODES`, whose keys need the children (and a leaf's
# operand as JSON) first.
_BY_JSON: weakref.WeakValueDictionary[Hashable, Node] = weakref.WeakValueDictionary()


def json_digest(doc: object) -> bytes | None:
    """A digest of `doc`'s JSON that tells different documents apart, or None.

    orjson keeps 1, 1.0 and true apart and key order as it is, but writes NaN and
    infinities as null and refuses integers beyond 64 bits: JSON that does not read
    back as the document it came from gets no digest. Subtrees of a document with a
    digest read back too.
    """
    try:
        text = orjson.dumps(doc)
    except TypeError:
        return None
    return _digest(text) if orjson.loads(text) == doc else None


def _digest(text: bytes) -> bytes:
    # 128 bits: the keys stay small in memory, and a collision is out of reach.
    return hashlib.blake2b(text, digest_size=16).digest()


def _leaf(
    info: Callable[[str, str | None, object], NodeInfo],
    test: str,
    fact: str,
    operand: object,
    *,
    is_fact: bool,
) -> Node:
    # A private copy keeps the compiled rule immune to later edits of the document.
    operand = copy.deepcopy(operand)
    if test == "exists":
        return Node(info(test, fact, operand), EXISTS)
    predicate = fact_test(test, operand) if is_fact else platform(test, operand)
    return Node(info(test, fact, operand), LEAF, predicate=predicate)


def _intern(key: Hashable, make: Callable[[], Node]) -> Node:
    """The shared node for `key`, made by `make` the first time it is needed."""
    node = _NODES.get(key)
    if node is None:
        node = _NODES.setdefault(key, make())
    return node


class ShapeInfo(NamedTuple):
    """What the static analyses read of a node's NodeInfo."""

    test: str
    fact: str | None
    expected: object


class Shape(NamedTuple):
    """A rule node reduced to what the static analyses read: no predicate, nothing shared.

    `values_needed` and `platform_boxes` give a Shape's tree what they give its Node
    tree; making one costs a fraction of `build`, and nothing of it is kept.
    """

    kind: str
    children: tuple[Shape, ...]
    info: ShapeInfo


# Anything the static analyses below read: a compiled Node or a Shape.
Static = Node | Shape


def shape(doc: Mapping[str, object]) -> Shape:
    """The Shape of a validated rule object (without `resolved_by`), as `build` reads it."""
    kind = next((key for key in (ALL, ANY, NOT) if key in doc), None)
    if kind == NOT:
        child = doc[NOT]
        assert isinstance(child, dict)
        return Shape(NOT, (shape(child),), ShapeInfo(NOT, None, None))
    if kind is not None:
        children = doc[kind]
        assert isinstance(children, list)
        return Shape(kind, tuple(shape(child) for child in children), ShapeInfo(kind, None, None))
    test, fact = leaf_test(doc)
    return Shape(EXISTS if test == "exists" else LEAF, (), ShapeInfo(test, fact, doc[test]))


def facts_read(node: Node) -> frozenset[str]:
    """Every fact name the subtree reads."""
    if node.info.fact is not None:
        return frozenset((node.info.fact,))
    return frozenset().union(*(facts_read(child) for child in node.children))


def products_needed(node: Static, *, to_be: bool = True) -> frozenset[str] | None:
    """Products outside which the node is definitely `not to_be`; None if no such set is known.

    With the default `to_be=True`: a system whose product is present and not in the
    returned set makes the node definitely false, so the article cannot apply.
    """
    return product_set(values_needed(node, "product", to_be=to_be))


def product_set(values: frozenset[Hashable] | None) -> frozenset[str] | None:
    """`values_needed` of the product as `products_needed` gives it."""
    if values is None or not all(isinstance(value, str) for value in values):
        return None  # products are strings: a set with numbers proves nothing useful
    return values  # type: ignore[return-value]


def values_needed(node: Static, fact: str, *, to_be: bool = True) -> frozenset[Hashable] | None:
    """Values of `fact` outside which the node is definitely `not to_be`, or None.

    The values are strings and integers. A system whose `fact` is a string or an int
    (exactly those types) not in the returned set makes the node (with the default
    `to_be=True`) definitely false; None means no such set is known.
    """
    if node.kind == NOT:
        return values_needed(node.children[0], fact, to_be=not to_be)
    if node.kind in (ALL, ANY):
        sets = [values_needed(child, fact, to_be=to_be) for child in node.children]
        return values_combined(node.kind, sets, to_be=to_be)
    return _equality_leaf(node.info, fact) if to_be else None


def values_combined(
    kind: str, sets: list[frozenset[Hashable] | None], *, to_be: bool = True
) -> frozenset[Hashable] | None:
    """`values_needed` of an `all` or `any` node from those of its children."""
    known = [found for found in sets if found is not None]
    # all is false when one child is false; any is false only when all children are.
    if (kind == ALL) == to_be:
        return frozenset.intersection(*known) if known else None
    return None if len(known) < len(sets) else frozenset().union(*known)


# One alternative of a rule's platform: (fact, values) pairs, each fact once.
Box = tuple[tuple[str, frozenset[Hashable]], ...]
# Past this many alternatives a node's platform is too varied to be worth a prefilter.
_MAX_BOXES = 16


def platform_boxes(
    node: Static, facts: frozenset[str], *, to_be: bool = True
) -> tuple[Box, ...] | None:
    """Alternatives of `facts`' values outside all of which the node is definitely `not to_be`.

    With the default `to_be=True`: if, in every returned box, some fact of the system is
    a str or int (exactly those types) outside that box's values, the node is definitely
    false. None means nothing of the kind is known. Unlike one set per fact, boxes keep
    which edition goes with which architecture and service packs: a rule for
    "(web, SP 0–2) or (enterprise, x86, SP 1)" rules out an enterprise x86 SP 2 system.
    """
    if node.kind == NOT:
        return platform_boxes(node.children[0], facts, to_be=not to_be)
    if node.kind in (ALL, ANY):
        children = [platform_boxes(child, facts, to_be=to_be) for child in node.children]
        return boxes_combined(node.kind, children, to_be=to_be)
    fact = node.info.fact
    if to_be and fact is not None and fact in facts:
        values = _equality_leaf(node.info, fact)
        if values is not None:
            return (((fact, values),),)
    return None


def boxes_combined(
    kind: str, children: list[tuple[Box, ...] | None], *, to_be: bool = True
) -> tuple[Box, ...] | None:
    """`platform_boxes` of an `all` or `any` node from those of its children."""
    if (kind == ALL) == to_be:  # every child must hold
        known = [boxes for boxes in children if boxes is not None]
        return _conjunction(known) if known else None
    # One child holding is enough: each child's alternatives are alternatives.
    alternatives: list[Box] = []
    for boxes in children:
        if boxes is None:
            return None
        alternatives += boxes
    return tuple(alternatives) if 0 < len(alternatives) <= _MAX_BOXES else None


def _conjunction(known: list[tuple[Box, ...]]) -> tuple[Box, ...]:
    """The boxes of "all of these hold": each combination of one box per child, merged."""
    combined: tuple[Box, ...] = ((),)
    for boxes in known:
        if len(combined) * len(boxes) > _MAX_BOXES:
            # Any one child's boxes also bound the conjunction: keep the fewest.
            return min(known, key=len)
        combined = tuple(_merged(left, right) for left in combined for right in boxes)
    return combined


def _merged(left: Box, right: Box) -> Box:
    """A box requiring both: the values of a fact in both are intersected.

    An empty intersection stays a box: it rules out every str and int value, but a
    float (1.5 in a range and in an equality) could still satisfy both.
    """
    values = dict(left)
    for fact, allowed in right:
        values[fact] = values[fact] & allowed if fact in values else allowed
    return tuple(sorted(values.items()))


# A range leaf (`{"service_pack": {"min": 1, "max": 3}}`) becomes the set of its
# integers when it has at most this many; wider or open ranges give no set.
_MAX_RANGE_VALUES = 100


def _equality_leaf(info: NodeInfo | ShapeInfo, fact: str) -> frozenset[Hashable] | None:
    """The strings or integers a leaf on `fact` can be true for, when it tests equality.

    Equality here is `predicates.equals`: a string equals only that string, a number
    every number of the same value. So for a value whose type is exactly str or int,
    set membership decides the leaf exactly; for other values (floats, bools, lists)
    the set says nothing, and callers must not use it.
    """
    if info.fact != fact or info.test not in (fact, "equals", "in"):
        return None
    expected = info.expected
    if isinstance(expected, dict):  # a platform range, e.g. {"min": 1, "max": 3}
        low, high = expected.get("min"), expected.get("max")
        if _is_int(low) and _is_int(high) and 0 <= high - low < _MAX_RANGE_VALUES:
            return frozenset(range(low, high + 1))
        return None
    values = expected if isinstance(expected, list) else [expected]
    if not all(isinstance(value, str) or _is_number(value) for value in values):
        return None
    return frozenset(values)


def _is_int(value: object) -> TypeGuard[int]:
    return type(value) is int


def _is_number(value: object) -> bool:
    return type(value) in (int, float)
