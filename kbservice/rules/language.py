"""The rule language: its keys and the validation of rule documents."""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from ..errors import ValidationFailed

COMBINATORS = ("all", "any", "not")
PLATFORM_TESTS = ("product", "edition", "architecture", "service_pack", "product_version")
FACT_TESTS = (
    "equals",
    "in",
    "contains",
    "exists",
    "lt",
    "le",
    "gt",
    "ge",
    "version_eq",
    "version_lt",
    "version_le",
    "version_gt",
    "version_ge",
    "in_cidr",
)
LABEL_LOCALES = ("en", "ja")
KNOWN_KEYS = frozenset((*COMBINATORS, *PLATFORM_TESTS, *FACT_TESTS, "fact", "label", "resolved_by"))


def leaf_test(node: Mapping[str, Any]) -> tuple[str, str]:
    """A valid leaf's test and the fact it reads (a platform test reads the fact it names)."""
    if "fact" in node:
        return next(key for key in FACT_TESTS if key in node), str(node["fact"])
    test = next(key for key in PLATFORM_TESTS if key in node)
    return test, test


OPERATORS = (*COMBINATORS, *PLATFORM_TESTS)

FACT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
PLATFORM_ID = re.compile(r"[a-z0-9][a-z0-9_.\-]{0,127}")
VERSION = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9}){0,15}")
MAX_LABEL_LENGTH = 500
DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_NODES = 1000
# Items of one array operand (`in`, `in_cidr`, `product`, ...): the node limit counts rule
# objects, so without this one operand could hold a whole request body's worth of items.
DEFAULT_MAX_LIST_ITEMS = 1000
# The whole document as compact UTF-8 JSON.
DEFAULT_MAX_BYTES = 64 * 1024
# validate_rules' limits and the configuration keys that set them.
_LIMIT_SETTINGS = {
    "max_depth": "MAX_RULE_DEPTH",
    "max_nodes": "MAX_RULE_NODES",
    "max_list_items": "MAX_RULE_LIST_ITEMS",
    "max_bytes": "MAX_RULE_BYTES",
}
# What the domain holds a document to just before storing it. Entry points hold it to the
# configured limits first, which may be above the defaults, so this is the language and
# a depth that validation, compilation and evaluation can recurse through, no more.
STORAGE_LIMITS = {
    "max_depth": 100,
    "max_nodes": sys.maxsize,
    "max_list_items": sys.maxsize,
    "max_bytes": sys.maxsize,
}

Report = Callable[[str, str], None]


class RuleValidationError(ValueError):
    """A rule document broke the language; `errors` maps dotted paths to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        shown = [
            f"{path or '<root>'}: {message}"
            for path, messages in errors.items()
            for message in messages
        ]
        more = f" (+{len(shown) - 5} more)" if len(shown) > 5 else ""
        super().__init__("invalid rule document: " + "; ".join(shown[:5]) + more)


def validate_rules(
    doc: object,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_list_items: int = DEFAULT_MAX_LIST_ITEMS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> None:
    """Check a rule document; raise RuleValidationError listing every problem by path.

    A document over `max_bytes` gets that one error: nothing else of it is inspected.
    """
    size = document_size(doc)
    if size is not None and size > max_bytes:
        raise RuleValidationError(
            {"": [f"the document is {size} bytes of JSON, more than the limit of {max_bytes}"]}
        )
    validator = _Validator(max_depth, max_nodes, max_list_items)
    validator.node(doc, "", 1, root=True)
    if validator.errors:
        raise RuleValidationError(validator.errors)


def configured_limits(config: Mapping[str, Any]) -> dict[str, int]:
    """validate_rules' limits as a kbservice configuration sets them (`MAX_RULE_*`).

    Each is capped at its STORAGE_LIMITS value, so what passes them can be stored.
    """
    return {
        argument: min(int(config[key]), STORAGE_LIMITS[argument])
        for argument, key in _LIMIT_SETTINGS.items()
    }


def rule_errors(doc: object, limits: Mapping[str, int], prefix: str = "") -> dict[str, list[str]]:
    """validate_rules' problems by path below `prefix` (`rules.all.0`); none for None."""
    if doc is None:
        return {}
    try:
        validate_rules(doc, **limits)
    except RuleValidationError as exc:
        return {".".join(p for p in (prefix, path) if p): m for path, m in exc.errors.items()}
    return {}


def check_rules(doc: object, limits: Mapping[str, int], prefix: str = "rules") -> None:
    """Refuse a rule document over `limits` (configured_limits) with errors by body path."""
    errors = rule_errors(doc, limits, prefix)
    if errors:
        raise ValidationFailed(
            "The rule document is invalid: " + ", ".join(sorted(errors)) + ".", errors=errors
        )


def document_size(doc: object) -> int | None:
    """Bytes of the document as compact UTF-8 JSON (what the size limit counts).

    None for a document JSON cannot write out at all: only Python code can build one
    (circular, or nested past the serializer's recursion), and the depth limit reports it.
    """
    try:
        # default=str: a value of a type JSON lacks is the validator's to report; here
        # it only needs a size.
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str)
    except (ValueError, RecursionError):
        return None
    return len(text.encode())


@lru_cache(maxsize=4096)
def parse_version(text: str) -> tuple[int, ...] | None:
    """Parse a dotted version; trailing zeros are dropped so that 5.2 == 5.2.0."""
    if not VERSION.fullmatch(text):
        return None
    parts = [int(part) for part in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def join(path: str, key: object) -> str:
    """Dotted path of `key` below `path` ("" is the document itself)."""
    return f"{path}.{key}" if path else str(key)


def type_name(value: object) -> str:
    """JSON name of a Python value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class _Validator:
    """One validation run: collected errors plus the node budget."""

    def __init__(self, max_depth: int, max_nodes: int, max_list_items: int) -> None:
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.max_list_items = max_list_items
        self.errors: dict[str, list[str]] = {}
        self.nodes = 0
        self.too_deep = False
        self.too_many = False

    def report(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def node(self, node: object, path: str, depth: int, *, root: bool = False) -> None:
        if self.too_many:
            return
        if depth > self.max_depth:
            # One message is enough; deeper levels are not inspected.
            if not self.too_deep:
                self.too_deep = True
                self.report(
                    path, f"rules are nested deeper than the limit of {self.max_depth} levels"
                )
            return
        self.nodes += 1
        if self.nodes > self.max_nodes:
            self.too_many = True
            self.report("", f"the document has more than the limit of {self.max_nodes} rule nodes")
            return
        if not isinstance(node, dict):
            self.report(path, f"expected a rule object, got {type_name(node)}")
            return
        self._structure(node, path)
        for key, value in node.items():
            self._member(key, value, join(path, key), depth, root)

    def _structure(self, node: dict[object, object], path: str) -> None:
        operators = [key for key in node if key in OPERATORS]
        tests = [key for key in node if key in FACT_TESTS]
        if "fact" in node:
            if operators:
                self.report(path, f"a fact test cannot also use {_names(operators)}")
            if not tests:
                self.report(path, f"a fact test needs one test key: {_names(FACT_TESTS)}")
            elif len(tests) > 1:
                self.report(path, f"a fact test takes exactly one test key, got {_names(tests)}")
        elif tests:
            self.report(
                path, f"{_names(tests)} tests a fact, so the object also needs a 'fact' key"
            )
        elif not operators:
            self.report(
                path,
                f"a rule object needs one operator ({_names(OPERATORS)})"
                " or a 'fact' key with a test",
            )
        elif len(operators) > 1:
            self.report(
                path,
                f"a rule object takes exactly one operator, got {_names(operators)};"
                " combine them with 'all' or 'any'",
            )

    def _member(self, key: object, value: object, path: str, depth: int, root: bool) -> None:
        if key not in KNOWN_KEYS:
            self.report(path, _unknown_key(key, KNOWN_KEYS))
        elif key in ("all", "any"):
            self._rule_list(value, path, depth)
        elif key == "not":
            self.node(value, path, depth + 1)
        elif key == "resolved_by":
            if root:
                self.node(value, path, depth + 1)
            else:
                self.report(path, "'resolved_by' is only allowed at the top level of the document")
        elif key == "label":
            self._label(value, path)
        elif key == "fact":
            if not (isinstance(value, str) and FACT_NAME.fullmatch(value)):
                self.report(
                    path, "expected a fact name: letters, digits and '_', not starting with a digit"
                )
        elif isinstance(value, list) and len(value) > self.max_list_items:
            # Its items are not inspected: checking them is the cost the limit bounds.
            self.report(
                path, f"has {len(value)} items, more than the limit of {self.max_list_items}"
            )
        else:
            _OPERANDS[str(key)](value, path, self.report)

    def _rule_list(self, value: object, path: str, depth: int) -> None:
        if not isinstance(value, list):
            self.report(path, f"expected a non-empty array of rule objects, got {type_name(value)}")
        elif not value:
            self.report(path, "must contain at least one rule object")
        else:
            for index, child in enumerate(value):
                self.node(child, join(path, index), depth + 1)

    def _label(self, value: object, path: str) -> None:
        if not isinstance(value, dict) or not value:
            self.report(path, f"expected an object of texts by language ({_names(LABEL_LOCALES)})")
            return
        for code, text in value.items():
            if code not in LABEL_LOCALES:
                self.report(join(path, code), _unknown_key(code, LABEL_LOCALES))
            elif not isinstance(text, str) or not text.strip() or len(text) > MAX_LABEL_LENGTH:
                self.report(
                    join(path, code),
                    f"expected a non-empty text of at most {MAX_LABEL_LENGTH} characters",
                )


def _names(keys: tuple[str, ...] | list[str]) -> str:
    return ", ".join(repr(key) for key in keys)


def _unknown_key(key: object, known: frozenset[str] | tuple[str, ...]) -> str:
    message = f"unknown key {key!r}"
    close = difflib.get_close_matches(str(key), sorted(known), n=1) if isinstance(key, str) else []
    return f"{message} (did you mean {close[0]!r}?)" if close else message


# Operand checkers: each reports problems of one key's value at its path.


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_scalar(value: object) -> bool:
    return isinstance(value, (str, bool)) or _is_number(value)


def _is_sp(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_version(value: object) -> bool:
    return isinstance(value, str) and VERSION.fullmatch(value) is not None


def _is_platform_id(value: object) -> bool:
    return isinstance(value, str) and PLATFORM_ID.fullmatch(value) is not None


def _one_or_list(ok: Callable[[object], bool], what: str) -> Callable[[object, str, Report], None]:
    """Checker for `X` or a non-empty array of `X`, reporting bad elements at their index."""

    def check(value: object, path: str, report: Report) -> None:
        if isinstance(value, list):
            if not value:
                report(path, f"expected {what} or a non-empty array of them, got an empty array")
            for index, item in enumerate(value):
                if not ok(item):
                    report(join(path, index), f"expected {what}, got {_shown(item)}")
        elif not ok(value):
            report(path, f"expected {what} or a non-empty array of them, got {_shown(value)}")

    return check


def _single(ok: Callable[[object], bool], what: str) -> Callable[[object, str, Report], None]:
    def check(value: object, path: str, report: Report) -> None:
        if not ok(value):
            report(path, f"expected {what}, got {_shown(value)}")

    return check


def _listed(ok: Callable[[object], bool], what: str) -> Callable[[object, str, Report], None]:
    def check(value: object, path: str, report: Report) -> None:
        if not isinstance(value, list) or not value:
            report(path, f"expected a non-empty array of {what}, got {_shown(value)}")
            return
        for index, item in enumerate(value):
            if not ok(item):
                report(join(path, index), f"expected {what}, got {_shown(item)}")

    return check


def _ranged(
    ok: Callable[[object], bool], what: str, key: Callable[[object], object]
) -> Callable[[object, str, Report], None]:
    """Checker for an exact value, an array of values, or a {"min", "max"} range (inclusive)."""
    plain = _one_or_list(ok, what)

    def check(value: object, path: str, report: Report) -> None:
        if not isinstance(value, dict):
            plain(value, path, report)
            return
        if not value:
            report(path, "a range needs 'min', 'max' or both")
        for bound, item in value.items():
            if bound not in ("min", "max"):
                report(join(path, bound), _unknown_key(bound, ("min", "max")))
            elif not ok(item):
                report(join(path, bound), f"expected {what}, got {_shown(item)}")
        low, high = value.get("min"), value.get("max")
        if ok(low) and ok(high) and key(low) > key(high):  # type: ignore[operator]
            report(path, f"'min' ({low}) is greater than 'max' ({high})")

    return check


def _cidr_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"expected a network in CIDR notation such as '10.0.0.0/8', got {_shown(value)}"
    try:
        ipaddress.ip_network(value)
    except ValueError as error:
        return f"{value!r} is not a network in CIDR notation: {error}"
    return None


def _cidrs(value: object, path: str, report: Report) -> None:
    items = value if isinstance(value, list) else [value]
    if not items:
        report(path, "expected a CIDR network or a non-empty array of them, got an empty array")
    for index, item in enumerate(items):
        problem = _cidr_problem(item)
        if problem:
            report(join(path, index) if isinstance(value, list) else path, problem)


def _shown(value: object) -> str:
    if value is None:
        return "null"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return f"{type_name(value)} {text if len(text) <= 60 else text[:57] + '...'}"


_PLATFORM_ID = "a lowercase id such as 'windows_server_2003'"
_SP = "a service pack number (integer >= 0)"
_VERSION = "a dotted version such as '5.2.3790'"
_SCALAR = "a string, number or boolean"
_NUMBER = "a finite number"

_OPERANDS: dict[str, Callable[[object, str, Report], None]] = {
    "product": _one_or_list(_is_platform_id, _PLATFORM_ID),
    "edition": _one_or_list(_is_platform_id, _PLATFORM_ID),
    "architecture": _one_or_list(_is_platform_id, _PLATFORM_ID),
    "service_pack": _ranged(_is_sp, _SP, lambda sp: sp),
    "product_version": _ranged(_is_version, _VERSION, lambda text: parse_version(str(text))),
    "equals": _single(_is_scalar, _SCALAR),
    "in": _listed(_is_scalar, "strings, numbers or booleans"),
    "contains": _single(_is_scalar, _SCALAR),
    "exists": _single(lambda value: isinstance(value, bool), "true or false"),
    "lt": _single(_is_number, _NUMBER),
    "le": _single(_is_number, _NUMBER),
    "gt": _single(_is_number, _NUMBER),
    "ge": _single(_is_number, _NUMBER),
    "version_eq": _single(_is_version, _VERSION),
    "version_lt": _single(_is_version, _VERSION),
    "version_le": _single(_is_version, _VERSION),
    "version_gt": _single(_is_version, _VERSION),
    "version_ge": _single(_is_version, _VERSION),
    "in_cidr": _cidrs,
}
