"""Reason texts are cached per node and value: the cache must never mix values up."""

from kbservice.rules import compile_rules


def test_cached_reasons_follow_the_value_and_its_type():
    rule = compile_rules({"fact": "flag", "equals": 1})
    texts = {
        repr(value): rule.evaluate({"flag": value}).reason_texts("en")[0]
        for value in (True, 1, 1.0, [1], [True], "1")
    }
    assert "true" in texts["True"] and "true" not in texts["1"]
    assert texts["[1]"] != texts["[True]"]
    # The same value twice gives the same text (from the cache).
    assert rule.evaluate({"flag": True}).reason_texts("en")[0] == texts["True"]
    assert rule.evaluate({"flag": 1}).reason_texts("ja")[0] != texts["1"]
