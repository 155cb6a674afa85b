"""Safe JSON input (bodies, backup lines): bounded nesting, no NaN, never a RecursionError."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any


class UnsafeJSON(ValueError):
    """The body is JSON we refuse to process."""


class UnfitValue(UnsafeJSON):
    """Well-formed JSON with a value kbservice cannot take; `path` names it (`sections.0.body`)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


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


class _LongInteger:
    """Stands in for an integer too long for Python to convert, to find where it is."""


def _integer(digits: str) -> int | _LongInteger:
    try:
        return int(digits)
    except ValueError:
        return _LongInteger()


def _find_path(value: Any, match: Callable[[Any], bool]) -> tuple[str, bool] | None:
    """The path of the first value (or key) `match` accepts, in document order.

    Returns `(path, is_key)`: a key is reported by the path of its object. The path of
    the document itself is `_body`, as in flatten_errors.
    """
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if match(item):
            return ".".join(path) or "_body", False
        if isinstance(item, dict):
            if any(match(key) for key in item):
                return ".".join(path) or "_body", True
            children = [(child, (*path, key)) for key, child in item.items()]
        elif isinstance(item, list):
            children = [(child, (*path, str(index))) for index, child in enumerate(item)]
        else:
            continue
        stack.extend(reversed(children))
    return None


def _has_nul(item: Any) -> bool:
    return isinstance(item, str) and "\x00" in item


def load_json(data: bytes, max_depth: int) -> Any:
    """Parse a JSON text; UnsafeJSON for invalid text, NaN or nesting past `max_depth`.

    Also for a lone surrogate escape (`"\\ud800"`): Python's parser accepts it, but the
    string it makes can be neither stored nor written back as UTF-8. UnfitValue, naming
    the value, for an integer too long for Python to convert (sys.get_int_max_str_digits)
    and for a string holding U+0000, which PostgreSQL's text cannot store.
    """
    try:
        text = data.decode("utf-8")
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise UnsafeJSON(f"JSON is nested more than {max_depth} levels deep") from None
    except UnsafeJSON:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsafeJSON(f"Invalid JSON body: {exc}") from None
    except ValueError:
        # Only int() fails with a plain ValueError here: past the int-string limit.
        raise _long_integer(text, max_depth) from None
    if nesting_depth(value) > max_depth:
        raise UnsafeJSON(f"JSON is nested more than {max_depth} levels deep")
    # Both come only from \u escapes: most bodies have no backslash, and finding one
    # costs a fiftieth of searching for the escapes (3 µs rather than 150 in 300 KB).
    if "\\" not in text:
        return value
    if _SURROGATE_ESCAPE.search(text) and has_lone_surrogate(value):
        raise UnsafeJSON(
            "Invalid JSON body: a \\u escape names an unpaired surrogate (U+D800–U+DFFF)"
        )
    # A NUL can only be written as an escape (a raw one is invalid JSON).
    if "\\u0000" in text:
        unfit = find_nul(value)
        if unfit is not None:
            raise unfit
    return value


def find_nul(value: Any) -> UnfitValue | None:
    """The error naming the first string (or key) of `value` holding U+0000, if any."""
    found = _find_path(value, _has_nul)
    if found is None:
        return None
    path, is_key = found
    where = "A key in this object holds" if is_key else "Text must not hold"
    return UnfitValue(path, f"{where} U+0000 (NUL), which cannot be stored.")


def _long_integer(text: str, max_depth: int) -> UnsafeJSON:
    """The error for a body with an integer past the limit, naming where it is."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_int=_integer)
    except RecursionError:
        return UnsafeJSON(f"JSON is nested more than {max_depth} levels deep")
    except UnsafeJSON as exc:
        return exc
    except json.JSONDecodeError as exc:  # after the integer, which stopped the first parse
        return UnsafeJSON(f"Invalid JSON body: {exc}")
    found = _find_path(value, lambda item: isinstance(item, _LongInteger))
    limit = sys.get_int_max_str_digits()
    return UnfitValue(found[0] if found else "_body", f"Integer has more than {limit} digits.")
