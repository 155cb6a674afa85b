"""Safe JSON request bodies: bounded nesting, no NaN/Infinity, never a RecursionError."""

from __future__ import annotations

import json
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


def load_json(data: bytes, max_depth: int) -> Any:
    """Parse a request body; UnsafeJSON for invalid text, NaN or nesting past `max_depth`."""
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise UnsafeJSON(f"JSON is nested more than {max_depth} levels deep") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsafeJSON(f"Invalid JSON body: {exc}") from None
    if nesting_depth(value) > max_depth:
        raise UnsafeJSON(f"JSON is nested more than {max_depth} levels deep")
    return value
