"""The rule builder's form encoding: a rule document as flat form fields, and back exactly.

Every rule object is a node named by its place: `n` is the document, `n.1` the second
child of its `all`/`any`, `n.1.0` the operand of a `not` there; `r` is `resolved_by`.
A node's fields are `<node>.kind` (`all`, `any`, `not`, a platform test, `fact`, or
`json`), `<node>.label.en`/`.ja`, and for tests the operand: `<node>.shape` (`one`,
`list` one item per line, `range` with `<node>.min`/`.max`) and `<node>.value`; a fact
test adds `<node>.fact`, `<node>.test` and `<node>.type` (`text`, `number`, `boolean`;
a platform test's type follows from its kind). What one-line form controls cannot
carry exactly (a string with a line break, a list of mixed types, an unusual operand)
is written as the node's JSON (`kind` `json`, `<node>.json`), so every document
decodes to itself.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from ..rules.language import FACT_TESTS, LABEL_LOCALES, PLATFORM_TESTS

ROOT = "n"
RESOLUTION = "r"
GROUPS = ("all", "any")
KINDS = (*GROUPS, "not", *PLATFORM_TESTS, "fact", "json")
SHAPES = ("one", "list", "range")
TYPES = ("text", "number", "boolean")
PLATFORM_TYPES = {test: "number" if test == "service_pack" else "text" for test in PLATFORM_TESTS}

Fields = dict[str, str]
Errors = dict[str, list[str]]

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LINES = re.compile(r"\r\n|\r|\n")
_CHILD_KIND = re.compile(r"(.+)\.(\d+)\.kind")


class FormDecodeError(ValueError):
    """Form fields that do not make a rule document; `errors` names each field."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(f"{name}: {' '.join(m)}" for name, m in errors.items()))
        self.errors = errors


def canonical(value: object) -> str:
    """JSON that tells 1, 1.0 and true apart, for comparing documents exactly."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True)


def encode_rules(doc: Mapping[str, Any]) -> Fields:
    """The form fields of a rule document (any JSON object)."""
    fields: Fields = {}
    main = {key: value for key, value in doc.items() if key != "resolved_by"}
    _encode_node(main, ROOT, fields)
    if "resolved_by" in doc:
        _encode_node(doc["resolved_by"], RESOLUTION, fields)
    return fields


def decode_rules(fields: Mapping[str, str]) -> dict[str, Any]:
    """The rule document the fields describe; FormDecodeError names fields that do not parse."""
    doc, errors = decode_partially(fields)
    if errors:
        raise FormDecodeError(errors)
    return doc


def decode_partially(fields: Mapping[str, str]) -> tuple[dict[str, Any], Errors]:
    """The document with what does not parse left as typed, and what did not, by field."""
    errors: Errors = {}
    children = child_index(fields)
    doc = _decode_node(fields, children, ROOT, errors)
    if not isinstance(doc, dict):
        errors.setdefault(f"{ROOT}.json", []).append("a rule document is a JSON object")
    if not isinstance(doc, dict):
        doc = {}
    if f"{RESOLUTION}.kind" in fields:
        doc["resolved_by"] = _decode_node(fields, children, RESOLUTION, errors)
    return doc, errors


def node_of_path(path: str) -> str:
    """The node a rule language error path (`all.1.any.0.fatc`) is about (`n.1.0`)."""
    parts = path.split(".") if path else []
    node = ROOT
    if parts[:1] == ["resolved_by"]:
        node, parts = RESOLUTION, parts[1:]
    index = 0
    while index < len(parts):
        part = parts[index]
        if part in GROUPS and index + 1 < len(parts) and parts[index + 1].isdigit():
            node, index = f"{node}.{parts[index + 1]}", index + 2
        elif part == "not":
            node, index = f"{node}.0", index + 1
        else:
            break
    return node


def child_index(fields: Mapping[str, str]) -> dict[str, list[str]]:
    """Each node's children present in `fields`, in order (gaps left by removals skipped)."""
    found: dict[str, list[int]] = {}
    for name in fields:
        match = _CHILD_KIND.fullmatch(name)
        if match:
            found.setdefault(match.group(1), []).append(int(match.group(2)))
    return {node: [f"{node}.{i}" for i in sorted(indexes)] for node, indexes in found.items()}


# Encoding.


def _encode_node(node: object, name: str, fields: Fields) -> None:
    friendly = _friendly(node, name)
    if friendly is not None and _round_trips(node, name, friendly):
        fields.update(friendly)
        if isinstance(node, dict):
            for key in GROUPS:
                if key in node:
                    for index, child in enumerate(node[key]):
                        _encode_node(child, f"{name}.{index}", fields)
            if "not" in node:
                _encode_node(node["not"], f"{name}.0", fields)
        return
    fields[f"{name}.kind"] = "json"
    fields[f"{name}.json"] = json.dumps(node, ensure_ascii=True)


def _round_trips(node: object, name: str, friendly: Fields) -> bool:
    """True when the node's own fields decode to it (its children are checked on their own)."""
    assert isinstance(node, dict)
    own = {key: value for key, value in node.items() if key not in (*GROUPS, "not")}
    errors: Errors = {}
    decoded = _decode_own(friendly, name, errors)
    shell = {key: value for key, value in decoded.items() if key not in (*GROUPS, "not")}
    return not errors and canonical(shell) == canonical(own)


def _friendly(node: object, name: str) -> Fields | None:
    """The node's own fields, without its children; None when only JSON can carry it."""
    if not isinstance(node, dict):
        return None
    label = node.get("label")
    fields: Fields = {}
    if label is not None:
        if not isinstance(label, dict) or not set(label) <= set(LABEL_LOCALES):
            return None
        for locale, text in label.items():
            if not _inline(text) or text == "":
                return None
            fields[f"{name}.label.{locale}"] = text
    keys = set(node) - {"label"}
    if len(keys) == 1 and (kind := next(iter(keys))) in (*GROUPS, "not"):
        if kind in GROUPS and not (isinstance(node[kind], list) and node[kind]):
            return None
        return {f"{name}.kind": kind, **fields}
    if len(keys) == 1 and (kind := next(iter(keys))) in PLATFORM_TESTS:
        operand = _operand(node[kind], name)
        if operand is None or operand.pop(f"{name}.type") != PLATFORM_TYPES[kind]:
            return None
        return {f"{name}.kind": kind, **fields, **operand}
    tests = keys - {"fact"}
    if "fact" in keys and len(tests) == 1 and (test := next(iter(tests))) in FACT_TESTS:
        fact = node["fact"]
        operand = _operand(node[test], name)
        if not _inline(fact) or operand is None:
            return None
        return {
            f"{name}.kind": "fact",
            f"{name}.fact": fact,
            f"{name}.test": test,
            **fields,
            **operand,
        }
    return None


def _operand(value: object, name: str) -> Fields | None:
    if isinstance(value, dict):
        if not value or not set(value) <= {"min", "max"}:
            return None
        types = {_type_of(bound) for bound in value.values()}
        if len(types) != 1 or None in types:
            return None
        return {
            f"{name}.shape": "range",
            f"{name}.type": types.pop(),
            f"{name}.min": _scalar_text(value["min"]) if "min" in value else "",
            f"{name}.max": _scalar_text(value["max"]) if "max" in value else "",
        }
    if isinstance(value, list):
        types = {_type_of(item) for item in value}
        if not value or len(types) != 1 or None in types:
            return None
        items = [_scalar_text(item) for item in value]
        if any(item == "" for item in items):
            return None
        return {
            f"{name}.shape": "list",
            f"{name}.type": types.pop(),
            f"{name}.value": "\n".join(items),
        }
    kind = _type_of(value)
    if kind is None:
        return None
    return {f"{name}.shape": "one", f"{name}.type": kind, f"{name}.value": _scalar_text(value)}


def _type_of(value: object) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number" if _NUMBER.fullmatch(json.dumps(value)) else None
    if isinstance(value, str):
        return "text" if _inline(value) else None
    return None


def _scalar_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _inline(text: object) -> bool:
    """True for text a one-line form control carries unchanged (no control characters)."""
    return isinstance(text, str) and not any(
        unicodedata.category(char) in ("Cc", "Cs") for char in text
    )


# Decoding.


def _decode_node(
    fields: Mapping[str, str], children: Mapping[str, list[str]], name: str, errors: Errors
) -> object:
    if fields.get(f"{name}.kind") == "json":
        try:
            return json.loads(fields.get(f"{name}.json", ""))
        except ValueError:
            errors[f"{name}.json"] = ["is not valid JSON"]
            return None
    node = _decode_own(fields, name, errors)
    kind = fields.get(f"{name}.kind")
    below = children.get(name, [])
    if kind in GROUPS:
        node[kind] = [_decode_node(fields, children, child, errors) for child in below]
    elif kind == "not":
        if len(below) != 1:
            errors[f"{name}.kind"] = ["a not holds exactly one rule"]
        else:
            node["not"] = _decode_node(fields, children, below[0], errors)
    return node


def _decode_own(fields: Mapping[str, str], name: str, errors: Errors) -> dict[str, Any]:
    """The node without its children: kind, label and operand."""
    kind = fields.get(f"{name}.kind", "")
    if kind not in KINDS:
        errors[f"{name}.kind"] = [f"must be one of {', '.join(KINDS)}"]
        return {}
    node: dict[str, Any] = {}
    if kind == "fact":
        test = fields.get(f"{name}.test", "")
        if test not in FACT_TESTS:
            errors[f"{name}.test"] = [f"must be one of {', '.join(FACT_TESTS)}"]
            return node
        node["fact"] = fields.get(f"{name}.fact", "")
        node[test] = _decode_operand(fields, name, errors)
    elif kind in PLATFORM_TESTS:
        node[kind] = _decode_operand(fields, name, errors, PLATFORM_TYPES[kind])
    label = {
        locale: fields[f"{name}.label.{locale}"]
        for locale in LABEL_LOCALES
        if fields.get(f"{name}.label.{locale}")
    }
    if label:
        node["label"] = label
    return node


def _decode_operand(
    fields: Mapping[str, str], name: str, errors: Errors, kind: str | None = None
) -> object:
    shape = fields.get(f"{name}.shape", "one")
    kind = kind or fields.get(f"{name}.type", "text")
    if shape not in SHAPES:
        errors[f"{name}.shape"] = [f"must be one of {', '.join(SHAPES)}"]
        return None
    if kind not in TYPES:
        errors[f"{name}.type"] = [f"must be one of {', '.join(TYPES)}"]
        return None
    if shape == "range":
        bounds = {
            bound: _decode_scalar(fields[f"{name}.{bound}"], kind, f"{name}.{bound}", errors)
            for bound in ("min", "max")
            if fields.get(f"{name}.{bound}", "") != ""
        }
        if not bounds:
            errors[f"{name}.min"] = ["give a lower or an upper bound"]
        return bounds
    text = fields.get(f"{name}.value", "")
    if shape == "list":
        items = [line for line in _LINES.split(text) if line != ""]
        return [_decode_scalar(item, kind, f"{name}.value", errors) for item in items]
    return _decode_scalar(text, kind, f"{name}.value", errors)


def _decode_scalar(text: str, kind: str, field: str, errors: Errors) -> object:
    if kind == "text":
        return text
    if kind == "boolean":
        if text not in ("true", "false"):
            errors.setdefault(field, []).append("must be true or false")
        return text == "true"
    if not _NUMBER.fullmatch(text.strip()):
        errors.setdefault(field, []).append(f"{text!r} is not a number")
        return text
    return json.loads(text.strip())


# Editing the tree without JavaScript: each button names one of these actions.


def add_node(fields: Mapping[str, str], parent: str, kind: str) -> Fields:
    """`fields` with a new, empty `kind` node as the last child of `parent`."""
    if kind not in KINDS:
        raise FormDecodeError({f"{parent}.add": [f"must be one of {', '.join(KINDS)}"]})
    below = child_index(fields).get(parent, [])
    child = f"{parent}.{int(below[-1].rsplit('.', 1)[1]) + 1 if below else 0}"
    return {**fields, **new_node(child, kind)}


def new_node(name: str, kind: str) -> Fields:
    """The fields of an empty node of `kind` (a fact test starts as `equals`)."""
    fields = {f"{name}.kind": kind}
    if kind in PLATFORM_TESTS or kind == "fact":
        fields.update({f"{name}.shape": "one", f"{name}.value": ""})
    if kind == "fact":
        fields.update({f"{name}.fact": "", f"{name}.test": "equals", f"{name}.type": "text"})
    if kind == "json":
        fields[f"{name}.json"] = "{}"
    return fields


def remove_node(fields: Mapping[str, str], node: str) -> Fields:
    """`fields` without `node` and everything below it."""
    return {
        name: value
        for name, value in fields.items()
        if not (name == node or name.startswith(f"{node}."))
    }


def move_node(fields: Mapping[str, str], node: str, step: int) -> Fields:
    """`fields` with `node` swapped with its previous (-1) or next (+1) sibling, if any."""
    parent = node.rsplit(".", 1)[0]
    siblings = child_index(fields).get(parent, [])
    if node not in siblings:
        return dict(fields)
    other = siblings.index(node) + step
    if not 0 <= other < len(siblings):
        return dict(fields)
    swap = {node: siblings[other], siblings[other]: node}
    moved: Fields = {}
    for name, value in fields.items():
        for old, new in swap.items():
            if name.startswith(f"{old}."):
                name = new + name[len(old) :]
                break
        moved[name] = value
    return moved


def node_of_field(field: str) -> str:
    """The node a field belongs to: `n.1.0.value` → `n.1.0`."""
    parts = field.split(".")
    node = [parts[0]]
    for part in parts[1:]:
        if not part.isdigit():
            break
        node.append(part)
    return ".".join(node)
