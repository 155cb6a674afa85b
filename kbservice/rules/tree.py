"""Compile-time tree of a validated rule document, and what can be learned from it statically."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass

from .language import FACT_TESTS, PLATFORM_TESTS, join
from .model import NodeInfo
from .predicates import Predicate, fact_test, platform

ALL, ANY, NOT, LEAF, EXISTS = "all", "any", "not", "leaf", "exists"


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    """One rule node: a combinator with children, or a leaf with its predicate."""

    info: NodeInfo
    kind: str
    children: tuple[Node, ...] = ()
    predicate: Predicate | None = None


def build(
    doc: Mapping[str, object], path: str = "", *, negated: bool = False, resolution: bool = False
) -> Node:
    """Turn a validated rule object (without `resolved_by`) into a Node tree."""
    label = doc.get("label")
    labels = tuple(sorted(label.items())) if isinstance(label, dict) else ()

    def info(test: str, fact: str | None = None, expected: object = None) -> NodeInfo:
        return NodeInfo(path, test, fact, expected, labels, negated, resolution)

    for kind in (ALL, ANY):
        if kind in doc:
            children = doc[kind]
            assert isinstance(children, list)
            return Node(
                info(kind),
                kind,
                tuple(
                    build(
                        child, join(join(path, kind), index), negated=negated, resolution=resolution
                    )
                    for index, child in enumerate(children)
                ),
            )
    if NOT in doc:
        child = doc[NOT]
        assert isinstance(child, dict)
        return Node(
            info(NOT),
            NOT,
            (build(child, join(path, NOT), negated=not negated, resolution=resolution),),
        )
    if "fact" in doc:
        test = next(key for key in FACT_TESTS if key in doc)
        fact = str(doc["fact"])
    else:
        test = next(key for key in PLATFORM_TESTS if key in doc)
        fact = test
    # A private copy keeps the compiled rule immune to later edits of the document.
    operand = copy.deepcopy(doc[test])
    if test == "exists":
        return Node(info(test, fact, operand), EXISTS)
    predicate = fact_test(test, operand) if "fact" in doc else platform(test, operand)
    return Node(info(test, fact, operand), LEAF, predicate=predicate)


def facts_read(node: Node) -> frozenset[str]:
    """Every fact name the subtree reads."""
    if node.info.fact is not None:
        return frozenset((node.info.fact,))
    return frozenset().union(*(facts_read(child) for child in node.children))


def products_needed(node: Node, *, to_be: bool = True) -> frozenset[str] | None:
    """Products outside which the node is definitely `not to_be`; None if no such set is known.

    With the default `to_be=True`: a system whose product is present and not in the
    returned set makes the node definitely false, so the article cannot apply.
    """
    if node.kind == NOT:
        return products_needed(node.children[0], to_be=not to_be)
    if node.kind in (ALL, ANY):
        sets = [products_needed(child, to_be=to_be) for child in node.children]
        known = [found for found in sets if found is not None]
        # all is false when one child is false; any is false only when all children are.
        if (node.kind == ALL) == to_be:
            return frozenset.intersection(*known) if known else None
        return None if len(known) < len(sets) else frozenset().union(*known)
    return _product_leaf(node.info) if to_be else None


def _product_leaf(info: NodeInfo) -> frozenset[str] | None:
    if info.fact != "product" or info.test not in ("product", "equals", "in"):
        return None
    values = info.expected if isinstance(info.expected, list) else [info.expected]
    if not all(isinstance(value, str) for value in values):
        return None
    return frozenset(values)  # type: ignore[arg-type]
