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


def test_cached_sentences_follow_the_verdict_and_the_locale():
    from kbservice.rules import Verdict
    from kbservice.rules.messages import reason_text

    facts = {"flag": 1}
    (reason,) = compile_rules({"fact": "flag", "equals": 1}).evaluate(facts).reasons
    for _ in range(2):  # the second round is answered from the cache
        texts = {
            (verdict, locale): reason_text(reason, verdict, facts, locale)
            for verdict in Verdict
            for locale in ("en", "en-US", "ja", "fr")
        }
        assert texts[(Verdict.APPLIES, "en")].startswith("Applies: ")
        assert texts[(Verdict.UNKNOWN, "en")].startswith("Cannot tell: ")
        assert texts[(Verdict.APPLIES, "en-US")] == texts[(Verdict.APPLIES, "en")]
        assert texts[(Verdict.APPLIES, "fr")] == texts[(Verdict.APPLIES, "en")]
        assert texts[(Verdict.APPLIES, "ja")] != texts[(Verdict.APPLIES, "en")]
        assert len(set(texts.values())) == 2 * len(Verdict)
