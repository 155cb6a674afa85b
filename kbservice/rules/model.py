"""Value types of the rule engine: verdicts, truth values, compiled nodes and reasons."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import StrEnum


class Verdict(StrEnum):
    """Whether an article applies to a system."""

    APPLIES = "applies"
    NOT_APPLICABLE = "not_applicable"
    UNKNOWN = "unknown"


class Truth(StrEnum):
    """Kleene three-valued truth of one rule node."""

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


# Compiled closures use True/False/None internally; this maps them to the public values.
TRUTH_OF: dict[bool | None, Truth] = {True: Truth.TRUE, False: Truth.FALSE, None: Truth.UNKNOWN}


# eq=False: identical nodes are built once and shared by every rule that has them
# (tree.build), so identity is equality; and `expected` holds JSON lists/dicts, which
# would make a value-based hash fail.
@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class NodeInfo:
    """Static description of one rule node, fixed at compile time."""

    path: str
    test: str
    fact: str | None
    expected: object
    labels: tuple[tuple[str, str], ...]
    negated: bool
    resolution: bool
    # Reason sentences rendered for this node: a cache that messages.py creates on first
    # use (most nodes never explain a verdict) and that goes with the node.
    texts: dict[Hashable, str] | None = field(default=None, repr=False)

    def label(self, locale: str) -> str | None:
        """The author's description in `locale`, if one was given."""
        for code, text in self.labels:
            if code == locale:
                return text
        return None


@dataclass(frozen=True, slots=True)
class Reason:
    """A node that decided a verdict: a test leaf, or a labelled group holding its leaves."""

    node: NodeInfo
    result: Truth
    children: tuple[Reason, ...] = ()

    @property
    def path(self) -> str:
        """Dotted path of the deciding node in the rule document."""
        return self.node.path

    @property
    def test(self) -> str:
        """The operator key of the deciding node (`product`, `equals`, `all`, ...)."""
        return self.node.test

    @property
    def fact(self) -> str | None:
        """The fact a leaf reads; None for a labelled group."""
        return self.node.fact

    def unknown_facts(self) -> set[str]:
        """Facts whose absence made this reason unknown."""
        if self.children:
            return set().union(*(child.unknown_facts() for child in self.children))
        if self.result is Truth.UNKNOWN and self.node.fact is not None:
            return {self.node.fact}
        return set()
