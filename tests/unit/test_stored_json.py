"""Stored JSON is read exactly as the standard library reads it, only faster."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kbservice.storage.db import load_stored_json

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**64 + 2)
    | st.integers(min_value=-(2**64), max_value=-(2**63) + 2)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=25,
)


@given(json_values)
def test_any_json_value_reads_as_json_reads_it(value):
    text = json.dumps(value, ensure_ascii=False)
    expected = json.loads(text)
    for data in (text, text.encode()):
        assert _same(load_stored_json(data), expected)


@pytest.mark.parametrize(
    "text",
    [
        "123456789012345678901234",
        "-9223372036854775809",
        "18446744073709551616",
        '{"sp": 99999999999999999999999}',
        "NaN",
        "1e400",
        '"\\ud800"',
        '{"a": 1, "a": 2}',
        '"KB 1234567890123456789 is not a number"',
    ],
)
def test_what_orjson_reads_differently_falls_back_to_json(text):
    assert _same(load_stored_json(text), json.loads(text))
    assert _same(load_stored_json(text.encode()), json.loads(text))


def _same(left, right) -> bool:
    """Equal, with the same types (1 and 1.0 differ), NaN equal to itself."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return left == right or (math.isnan(left) and math.isnan(right))
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    return left == right
