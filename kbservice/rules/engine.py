"""Compile rule documents to closures and evaluate them against system facts."""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, NamedTuple, TypeVar

from .language import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_LIST_ITEMS,
    DEFAULT_MAX_NODES,
    validate_rules,
)
from .messages import reason_texts
from .model import TRUTH_OF, Reason, Truth, Verdict
from .tree import (
    ALL,
    ANY,
    EXISTS,
    LEAF,
    NOT,
    Box,
    Node,
    boxes_combined,
    build,
    facts_read,
    json_digest,
    platform_boxes,
    product_set,
    products_needed,
    shape,
    values_combined,
    values_needed,
)

Facts = Mapping[str, object]
# A compiled node: appends the reasons that decided it to the list, returns True/False/None.
Compiled = Callable[[Facts, list[Reason]], bool | None]

# Facts besides the product (which the applicability index handles) that articles
# usually constrain with plain equality or a short range, so a set test can skip their
# rules.
PREFILTERED_FACTS = ("edition", "architecture", "service_pack")
_PREFILTERED = frozenset(PREFILTERED_FACTS)
# Values of exactly these types are decided by set membership (see tree.platform_boxes).
_SET_DECIDED = (str, int)

_VERDICTS = {True: Verdict.APPLIES, False: Verdict.NOT_APPLICABLE, None: Verdict.UNKNOWN}


# A NamedTuple, not a frozen dataclass: as immutable, and built three times faster
# (a whole-corpus answer makes one per applicable article).
class Evaluation(NamedTuple):
    """The verdict for one system, with the reasons that decided it."""

    verdict: Verdict
    missing_facts: tuple[str, ...]
    reasons: tuple[Reason, ...]
    trace: dict[str, object] | None
    # Reason texts are rendered from these facts on demand, so callers must not mutate them.
    system_facts: Facts

    def reason_texts(self, locale: str) -> list[str]:
        """The reasons as sentences in `locale` ("en" or "ja"; anything else gets English)."""
        return reason_texts(self.reasons, self.verdict, self.system_facts, locale)


class _Part:
    """One compiled half of a rule document, its rule without `resolved_by` or that,
    shared by every rule with the same one (see `_part`)."""

    __slots__ = ("__weakref__", "_facts", "_outline", "run", "tree")

    def __init__(self, tree: Node, run: Compiled) -> None:
        self.tree = tree
        self.run = run
        # The static analyses, made when first asked for: answering requests needs
        # none of them (the applicability index has its own outline of each rule).
        self._facts: frozenset[str] | None = None
        self._outline: Outline | None = None

    @property
    def facts(self) -> frozenset[str]:
        """Every fact name the part reads."""
        if self._facts is None:
            self._facts = _shared(facts_read(self.tree))
        return self._facts

    @property
    def outline(self) -> Outline:
        """The part's products and platform (see CompiledRule)."""
        if self._outline is None:
            boxes = _shared_boxes(platform_boxes(self.tree, _PREFILTERED))
            self._outline = Outline(_shared(products_needed(self.tree)), boxes)
        return self._outline


class CompiledRule:
    """A validated rule document compiled for fast repeated evaluation (immutable)."""

    # Not a frozen dataclass: with slots, its guard fails on the read-only properties.
    __slots__ = ("_main", "_resolution")
    _main: _Part
    _resolution: _Part | None

    def __init__(self, main: _Part, resolution: _Part | None) -> None:
        object.__setattr__(self, "_main", main)
        object.__setattr__(self, "_resolution", resolution)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"CompiledRule is immutable: cannot set {name!r}")

    @property
    def products(self) -> frozenset[str] | None:
        """Products outside which the rule is false; None when it constrains none."""
        return self._main.outline.products

    @property
    def platform(self) -> tuple[Box, ...] | None:
        """Alternatives of PREFILTERED_FACTS values the rule can hold for (see rules_out)."""
        return self._main.outline.platform

    @property
    def facts(self) -> frozenset[str]:
        """Every fact name the rule reads, `resolved_by` included."""
        if self._resolution is None:
            return self._main.facts
        return self._main.facts | self._resolution.facts

    def rules_out(self, facts: Facts) -> bool:
        """True when the platform facts alone (PREFILTERED_FACTS) make the rule false.

        A cheap test before `evaluate`: what it rules out would evaluate to
        `not_applicable`.
        """
        return platform_rules_out(self.platform, facts)

    def evaluate(self, facts: Facts, *, explain: bool = False) -> Evaluation:
        """Decide whether the rule applies to a system described by `facts`."""
        verdict, reasons = self._decide(facts)
        return self._evaluation(facts, verdict, reasons, explain=explain)

    def evaluate_unless_not_applicable(
        self, facts: Facts, *, explain: bool = False
    ) -> Evaluation | None:
        """`evaluate`, or None when the verdict is `not_applicable`.

        Whole-corpus queries drop those verdicts; they skip building what is dropped.
        """
        verdict, reasons = self._decide(facts)
        if verdict is Verdict.NOT_APPLICABLE:
            return None
        return self._evaluation(facts, verdict, reasons, explain=explain)

    def _decide(self, facts: Facts) -> tuple[Verdict, list[Reason]]:
        reasons: list[Reason] = []
        result = self._main.run(facts, reasons)
        verdict = _VERDICTS[result]
        # A rule that is already false needs no resolution check.
        if result is not False and self._resolution is not None:
            checked: list[Reason] = []
            resolved = self._resolution.run(facts, checked)
            if resolved:
                verdict, reasons = Verdict.NOT_APPLICABLE, checked
            elif resolved is None:
                reasons += checked
        return verdict, reasons

    def _evaluation(
        self, facts: Facts, verdict: Verdict, reasons: list[Reason], *, explain: bool
    ) -> Evaluation:
        missing = _missing(reasons) if verdict is Verdict.UNKNOWN else ()
        resolution = self._resolution.tree if self._resolution is not None else None
        trace = _document_trace(self._main.tree, resolution, facts) if explain else None
        return Evaluation(verdict, missing, tuple(reasons), trace, facts)


def compile_rules(
    doc: dict[str, object],
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_list_items: int = DEFAULT_MAX_LIST_ITEMS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    validate: bool = True,
) -> CompiledRule:
    """Validate a rule document and compile it; raises RuleValidationError.

    `validate=False` skips the validation, for documents that passed it when they were
    stored; compiling a document that breaks the language then has undefined results.
    Identical subtrees of all compiled rules share their nodes and closures, and
    identical documents (without `resolved_by`, and that) their compiled parts whole.
    """
    if validate:
        validate_rules(
            doc,
            max_depth=max_depth,
            max_nodes=max_nodes,
            max_list_items=max_list_items,
            max_bytes=max_bytes,
        )
    main = _part({key: value for key, value in doc.items() if key != "resolved_by"})
    resolution = doc.get("resolved_by")
    resolved = _part(resolution, resolution=True) if isinstance(resolution, dict) else None
    return CompiledRule(main, resolved)


# Hash-consing of whole parts: knowledge bases repeat the same rule (products,
# editions, conditions) in many articles, and building a part walks every node even
# when all of them are shared already. Parts are keyed by a digest of their JSON
# (tree.json_digest) and live while a compiled rule holds them.
_DOCUMENTS: weakref.WeakValueDictionary[tuple[bool, bytes], _Part] = weakref.WeakValueDictionary()


def _part(doc: Mapping[str, object], *, resolution: bool = False) -> _Part:
    """The compiled part of `doc` (a rule object at the root or `resolved_by`), shared."""
    digest = json_digest(doc)
    part = _DOCUMENTS.get((resolution, digest)) if digest is not None else None
    if part is None:
        path = "resolved_by" if resolution else ""
        tree = build(doc, path, resolution=resolution, faithful=digest is not None)
        part = _Part(tree, _compile(tree))
        if digest is not None:
            # Racing threads build equal parts; whichever is stored first is shared.
            part = _DOCUMENTS.setdefault((resolution, digest), part)
    return part


class Outline(NamedTuple):
    """What selecting candidate rules needs of a rule document: CompiledRule's
    `products` and `platform`, found without compiling it."""

    products: frozenset[str] | None
    platform: tuple[Box, ...] | None


# The analyses `outline` makes of a rule object: `values_needed` of the product and
# `platform_boxes`.
Analyses = tuple[frozenset[Hashable] | None, tuple[Box, ...] | None]
# Subtrees whose analyses one memo keeps (see `outline`).
_MEMO_ENTRIES = 100_000


def outline(doc: Mapping[str, object], memo: dict[bytes, Analyses] | None = None) -> Outline:
    """The `products` and `platform` that `compile_rules(doc)` would give, at a fraction of
    its cost and memory; for stored (validated) documents.

    `memo` keeps the analyses of subtrees by their JSON for the next documents: rules
    repeat their parts (platforms, conditions) far more than they repeat whole.
    """
    values, boxes = _analyses(
        {key: value for key, value in doc.items() if key != "resolved_by"}, memo
    )
    boxes = _shared_boxes(boxes)
    if boxes is not None:
        boxes = _BOXES.setdefault(boxes, boxes) if len(_BOXES) < _MAX_SETS else boxes
    return Outline(_shared(product_set(values)), boxes)


def _analyses(doc: Mapping[str, object], memo: dict[bytes, Analyses] | None) -> Analyses:
    kind = next((key for key in (ALL, ANY, NOT) if key in doc), None)
    children = doc.get(kind) if kind in (ALL, ANY) else None
    if not isinstance(children, list):
        shaped = shape(doc)
        return values_needed(shaped, "product"), platform_boxes(shaped, _PREFILTERED)
    # `all` and `any` combine their children's analyses (tree.values_combined).
    analysed = [_child_analyses(child, memo) for child in children]
    values = values_combined(kind, [values for values, _ in analysed])
    return values, boxes_combined(kind, [boxes for _, boxes in analysed])


def _child_analyses(child: Mapping[str, object], memo: dict[bytes, Analyses] | None) -> Analyses:
    digest = json_digest(child) if memo is not None and isinstance(child, dict) else None
    found = memo.get(digest) if memo is not None and digest is not None else None
    if found is None:
        found = _analyses(child, memo)
        if memo is not None and digest is not None and len(memo) < _MEMO_ENTRIES:
            memo[digest] = found
    return found


def platform_rules_out(platform: tuple[Box, ...] | None, facts: Facts) -> bool:
    """True when the platform facts (PREFILTERED_FACTS) are outside every box of `platform`."""
    if platform is None:
        return False
    for box in platform:
        for fact, allowed in box:
            value = facts.get(fact)
            if type(value) in _SET_DECIDED and value not in allowed:
                break  # the system is outside this alternative
        else:
            return False  # an alternative the system may be in
    return True


# Thousands of rules read the same facts and name the same products: one frozenset
# each. Distinct sets are few (they come from the catalog's ids and the fact names);
# the bound only guards against pathological rule sets.
_SETS: dict[frozenset[Hashable], frozenset[Hashable]] = {}
_MAX_SETS = 100_000
# Whole platforms too: an index of 200,000 outlines holds few distinct ones.
_BOXES: dict[tuple[Box, ...], tuple[Box, ...]] = {}
_Set = TypeVar("_Set", bound=frozenset[Any])


def _shared_boxes(boxes: tuple[Box, ...] | None) -> tuple[Box, ...] | None:
    """Boxes whose value sets are shared (rules of one product repeat them)."""
    if boxes is None:
        return None
    return tuple(tuple((fact, _shared(values)) for fact, values in box) for box in boxes)


def _shared(value: _Set | None) -> _Set | None:
    if value is None:
        return None
    shared = _SETS.get(value)
    if shared is None:
        if len(_SETS) >= _MAX_SETS:
            _SETS.clear()
        shared = _SETS.setdefault(value, value)
    return shared


def _missing(reasons: Iterable[Reason]) -> tuple[str, ...]:
    return tuple(sorted(set().union(*(reason.unknown_facts() for reason in reasons))))


# Compilation to closures. Each combinator keeps only the reasons of the children that
# decided its result, trimming the shared list in place instead of allocating new ones.
#
# Nodes are shared between rules (see tree.build), and so are their closures: one per
# node, dropped with it. Closures must not capture their Node, or it could never be
# dropped. Racing threads compile equal closures, and either may be kept.
_COMPILED: weakref.WeakKeyDictionary[Node, Compiled] = weakref.WeakKeyDictionary()


def _compile(node: Node) -> Compiled:
    compiled = _COMPILED.get(node)
    if compiled is None:
        compiled = _COMPILED[node] = _compile_new(node)
    return compiled


def _compile_new(node: Node) -> Compiled:
    if node.kind == EXISTS:
        return _exists(node)
    if node.predicate is not None:
        return _leaf(node)
    compiled: Compiled
    if node.kind == NOT:
        compiled = _not(_compile(node.children[0]))
    elif all(child.kind == LEAF and not child.info.labels for child in node.children):
        leaves = tuple(_leaf_parts(child) for child in node.children)
        compiled = _combine_leaves(leaves, decisive=node.kind == ANY)
    else:
        children = tuple(_compile(child) for child in node.children)
        compiled = _combine(children, decisive=node.kind == ANY)
    return _grouped(node, compiled) if node.info.labels else compiled


# What a predicate leaf needs at evaluation: fact name, test, and its reason per outcome.
_LeafParts = tuple[str, Callable[[object], bool], Reason, Reason, Reason]
_PARTS: weakref.WeakKeyDictionary[Node, _LeafParts] = weakref.WeakKeyDictionary()


def _leaf_parts(node: Node) -> _LeafParts:
    parts = _PARTS.get(node)
    if parts is None:
        parts = _PARTS.setdefault(node, _new_leaf_parts(node))
    return parts


def _new_leaf_parts(node: Node) -> _LeafParts:
    name, test = node.info.fact, node.predicate
    assert name is not None and test is not None
    # Leaf reasons are fixed per outcome, so evaluating allocates none.
    yes, no, unknown = (
        Reason(node.info, truth) for truth in (Truth.TRUE, Truth.FALSE, Truth.UNKNOWN)
    )
    return name, test, yes, no, unknown


def _leaf(node: Node) -> Compiled:
    # A leaf on its own (a `resolved_by`, mostly one per article) keeps its parts in one
    # cell and out of _PARTS: every object a compiled rule keeps is work for the
    # collector, and a worker keeps 20,000 rules.
    parts = _new_leaf_parts(node)

    def evaluate(facts: Facts, out: list[Reason]) -> bool | None:
        name, test, yes, no, unknown = parts
        value = facts.get(name)
        if value is None:
            out.append(unknown)
            return None
        if test(value):
            out.append(yes)
            return True
        out.append(no)
        return False

    return evaluate


def _exists(node: Node) -> Compiled:
    name, wanted = node.info.fact, node.info.expected
    yes, no = Reason(node.info, Truth.TRUE), Reason(node.info, Truth.FALSE)

    def evaluate(facts: Facts, out: list[Reason]) -> bool | None:
        if (facts.get(name) is not None) is wanted:
            out.append(yes)
            return True
        out.append(no)
        return False

    return evaluate


def _not(child: Compiled) -> Compiled:
    def evaluate(facts: Facts, out: list[Reason]) -> bool | None:
        result = child(facts, out)
        return None if result is None else not result

    return evaluate


def _combine(children: tuple[Compiled, ...], *, decisive: bool) -> Compiled:
    """Kleene `all` (decisive=False: one false child decides) or `any` (decisive=True)."""

    def evaluate(facts: Facts, out: list[Reason]) -> bool | None:
        start = len(out)
        unknown = False
        for child in children:
            mark = len(out)
            result = child(facts, out)
            if result is decisive:
                del out[start:mark]
                return decisive
            if result is None:
                if not unknown:
                    # From now on only unknown children can explain the result.
                    del out[start:mark]
                    unknown = True
            elif unknown:
                del out[mark:]
        return None if unknown else not decisive

    return evaluate


def _combine_leaves(leaves: tuple[_LeafParts, ...], *, decisive: bool) -> Compiled:
    """`_combine` of predicate leaves, with the leaves inlined: no call per leaf.

    Platform parts (`{"all": [{"product": …}, {"edition": …}, …]}`) are such nodes, and
    every candidate rule runs one. The reasons kept are exactly `_combine`'s.
    """

    def evaluate(facts: Facts, out: list[Reason]) -> bool | None:
        start = len(out)
        unknown = False
        for name, test, yes, no, missing in leaves:
            value = facts.get(name)
            if value is None:
                result, reason = None, missing
            elif test(value):
                result, reason = True, yes
            else:
                result, reason = False, no
            if result is decisive:
                del out[start:]
                out.append(reason)
                return decisive
            if result is None:
                if not unknown:
                    del out[start:]
                    unknown = True
                out.append(reason)
            elif not unknown:
                out.append(reason)
        return None if unknown else not decisive

    return evaluate


def _grouped(node: Node, compiled: Compiled) -> Compiled:
    """A labelled combinator reports one reason holding its children's reasons."""
    info = node.info

    def evaluate(facts: Facts, out: list[Reason]) -> bool | None:
        mark = len(out)
        result = compiled(facts, out)
        children = tuple(out[mark:])
        del out[mark:]
        out.append(Reason(info, TRUTH_OF[result], children))
        return result

    return evaluate


# Explain traces walk the tree without short-circuits, so every node shows its result.


def _document_trace(tree: Node, resolution: Node | None, facts: Facts) -> dict[str, object]:
    _, trace = _trace(tree, facts)
    if resolution is not None:
        trace["resolved_by"] = _trace(resolution, facts)[1]
    return trace


def _trace(node: Node, facts: Facts) -> tuple[bool | None, dict[str, object]]:
    info = node.info
    entry: dict[str, object]
    if node.children:
        results, children = zip(*(_trace(child, facts) for child in node.children), strict=True)
        result = _kleene(node.kind, results)
        entry = {"path": info.path, "op": node.kind, "result": None, "children": list(children)}
    else:
        value = facts.get(info.fact or "")
        if node.kind == EXISTS:
            result = (value is not None) is info.expected
        else:
            assert node.predicate is not None
            result = None if value is None else node.predicate(value)
        entry = {
            "path": info.path,
            "test": info.test,
            "fact": info.fact,
            "expected": copy.deepcopy(info.expected),
            "actual": _jsonable(value),
            "result": None,
        }
    entry["result"] = TRUTH_OF[result].value
    if info.labels:
        entry["label"] = dict(info.labels)
    return result, entry


def _kleene(kind: str, results: tuple[bool | None, ...]) -> bool | None:
    if kind == NOT:
        return None if results[0] is None else not results[0]
    decisive = kind == ANY
    if decisive in results:
        return decisive
    return None if None in results else not decisive


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(item) for item in value), key=repr)
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)
