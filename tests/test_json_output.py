"""Responses written by orjson are the bytes Flask's standard provider would write."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from flask import jsonify

VALUES = [
    {"title": "静的マッピングの構成", "kb": "885348", "n": [1, 2.5, -0.0, None, True, False]},
    {"nested": {"z": 1, "a": [{"b": 'c\n\t"\\/'}]}, "ctrl": "\x00\x1f\u2028"},
    {"score": 12.345678901234, "small": 0.1 + 0.2, "big": 10**18},
    [],
    "text",
    {"huge": 10**30},  # beyond 64 bits: the standard path
    {"when": dt.datetime(2006, 12, 20, 2, 56, tzinfo=dt.UTC), "day": dt.date(2015, 7, 14)},
]


@pytest.mark.parametrize("value", VALUES)
def test_fast_responses_equal_the_standard_ones(app, value):
    with app.app_context():
        fast = jsonify(value).get_data()
        standard = (
            json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=app.json.default)
            + "\n"
        ).encode()
    assert fast == standard
