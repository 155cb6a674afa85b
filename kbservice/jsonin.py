"""Safe JSON input (bodies, backup lines): bounded nesting, no NaN, never a RecursionError."""

from __future__ import annotations

import json
import re
from typing import Any


class UnsafeJSON(ValueError):
    """The body is JSON we refuse to process."""


def _reject_constant(name: str) -> Any:
    raise UnsafeJSON(f"{name} is not valid JSON")


def nesting_depth(value: Any) -> int:
    """The nesting depth of a parsed JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest


# A \u escape in the surrogate range: paired ones make one character, a lone one none.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(value: Any) -> bool:
    """Whether a string of a parsed JSON value (a key too) holds an unpaired surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def load_json(data: bytes, max_depth: int) -> Any:
    """Parse a JSON text; UnsafeJSON for invalid text, NaN or nesting past `max_depth`.

    Also for a lone surrogate escape (`"\\ud800"`): Python's parser accepts it, but the
    string it makes can be neither stored nor written back as UTF-8.
    """
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise UnsafeJSON(f"JSON is nested more than {max_depth} levels deep") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsafeJSON(f"Invalid JSON body: {exc}") from None
    if nesting_depth(value) > max_depth:
        raise UnsafeJSON(f"JSON is nested more than {max_depth} levels deep")
    if _SURROGATE_ESCAPE.search(text) and has_lone_surrogate(value):
        raise UnsafeJSON(
            "Invalid JSON body: a \\u escape names an unpaired surrogate (U+D800–U+DFFF)"
        )
    return value
