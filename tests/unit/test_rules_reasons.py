"""resolved_by, labels, reason selection and texts, the product index and the public types."""

from __future__ import annotations

import copy
import json

import pytest

from kbservice.rules import CompiledRule, Evaluation, Truth, Verdict, compile_rules

BEHIND_NAT = {"fact": "behind_nat", "equals": True}
FIX = {"fact": "installed_updates", "contains": "KB999999"}
WITH_FIX = {**BEHIND_NAT, "resolved_by": FIX}


def texts(evaluation: Evaluation, locale: str = "en") -> list[str]:
    return evaluation.reason_texts(locale)


# resolved_by


def test_resolved_by_true_makes_an_applying_article_not_applicable() -> None:
    evaluation = compile_rules(WITH_FIX).evaluate(
        {"behind_nat": True, "installed_updates": ["kb999999"]}
    )
    assert evaluation.verdict is Verdict.NOT_APPLICABLE
    assert evaluation.missing_facts == ()
    assert [reason.path for reason in evaluation.reasons] == ["resolved_by"]
    assert texts(evaluation) == [
        "Not applicable, already resolved: installed_updates is [kb999999]"
        " (required: a list that includes KB999999)."
    ]
    assert texts(evaluation, "ja")[0].startswith("該当しません（解決済み）: ")


def test_resolved_by_true_also_settles_an_unknown_article() -> None:
    evaluation = compile_rules(WITH_FIX).evaluate({"installed_updates": ["KB999999"]})
    assert (evaluation.verdict, evaluation.missing_facts) == (Verdict.NOT_APPLICABLE, ())


def test_resolved_by_false_leaves_the_verdict_alone() -> None:
    evaluation = compile_rules(WITH_FIX).evaluate({"behind_nat": True, "installed_updates": []})
    assert evaluation.verdict is Verdict.APPLIES
    assert [reason.path for reason in evaluation.reasons] == [""]
    unknown = compile_rules(WITH_FIX).evaluate({"installed_updates": ["KB1"]})
    assert (unknown.verdict, unknown.missing_facts) == (Verdict.UNKNOWN, ("behind_nat",))


def test_unknown_resolution_keeps_applies_and_adds_a_note() -> None:
    evaluation = compile_rules(WITH_FIX).evaluate({"behind_nat": True})
    assert (evaluation.verdict, evaluation.missing_facts) == (Verdict.APPLIES, ())
    assert [(reason.path, reason.result) for reason in evaluation.reasons] == [
        ("", Truth.TRUE),
        ("resolved_by", Truth.UNKNOWN),
    ]
    assert texts(evaluation)[0].startswith("Applies: ")
    assert texts(evaluation)[1].startswith("Note: could not check whether this is already resolved")
    assert texts(evaluation, "ja")[1].startswith("注意: ")


def test_unknown_resolution_of_an_unknown_article_adds_its_missing_facts() -> None:
    evaluation = compile_rules(WITH_FIX).evaluate({})
    assert evaluation.verdict is Verdict.UNKNOWN
    assert evaluation.missing_facts == ("behind_nat", "installed_updates")


def test_a_false_article_is_not_applicable_for_its_own_reasons() -> None:
    evaluation = compile_rules(WITH_FIX).evaluate(
        {"behind_nat": False, "installed_updates": ["KB999999"]}
    )
    assert evaluation.verdict is Verdict.NOT_APPLICABLE
    assert [reason.path for reason in evaluation.reasons] == [""]
    assert texts(evaluation)[0].startswith("Not applicable: behind_nat is false")


def test_resolved_by_facts_are_read_and_traced() -> None:
    rule = compile_rules(WITH_FIX)
    assert rule.facts == {"behind_nat", "installed_updates"}
    trace = rule.evaluate({"behind_nat": True}, explain=True).trace
    assert trace is not None
    assert trace["result"] == "true"
    assert trace["resolved_by"] == {
        "path": "resolved_by",
        "test": "contains",
        "fact": "installed_updates",
        "expected": "KB999999",
        "actual": None,
        "result": "unknown",
    }


# Which reasons are reported


def test_all_reports_the_first_false_child_only() -> None:
    rule = compile_rules({"all": [{"product": "p"}, {"edition": "e"}, {"architecture": "a"}]})
    evaluation = rule.evaluate({"product": "p", "edition": "x", "architecture": "y"})
    assert [(reason.path, reason.test) for reason in evaluation.reasons] == [("all.1", "edition")]


def test_all_reports_only_unknown_children_when_unknown() -> None:
    rule = compile_rules({"all": [{"product": "p"}, {"edition": "e"}, {"architecture": "a"}]})
    evaluation = rule.evaluate({"product": "p"})
    assert [reason.path for reason in evaluation.reasons] == ["all.1", "all.2"]
    assert all(reason.result is Truth.UNKNOWN for reason in evaluation.reasons)
    later_true = rule.evaluate({"edition": "e"})
    assert [reason.path for reason in later_true.reasons] == ["all.0", "all.2"]


def test_any_reports_the_first_true_child_or_every_false_one() -> None:
    rule = compile_rules({"any": [{"product": "p"}, {"edition": "e"}, {"architecture": "a"}]})
    applies = rule.evaluate({"product": "x", "edition": "e", "architecture": "a"})
    assert [reason.path for reason in applies.reasons] == ["any.1"]
    fails = rule.evaluate({"product": "x", "edition": "x", "architecture": "x"})
    assert [reason.path for reason in fails.reasons] == ["any.0", "any.1", "any.2"]
    unknown = rule.evaluate({"product": "x"})
    assert [reason.path for reason in unknown.reasons] == ["any.1", "any.2"]


def test_negated_tests_describe_what_the_rule_needs() -> None:
    rule = compile_rules({"not": BEHIND_NAT})
    evaluation = rule.evaluate({"behind_nat": True})
    assert evaluation.verdict is Verdict.NOT_APPLICABLE
    assert texts(evaluation) == [
        "Not applicable: behind_nat is true, but the rule requires a value other than true."
    ]
    assert texts(rule.evaluate({"behind_nat": False})) == [
        "Applies: behind_nat is false (required: a value other than true)."
    ]
    assert texts(rule.evaluate({"behind_nat": False}), "ja") == [
        "該当します: 「behind_nat」は false です（条件: true 以外の値）。"
    ]


def test_exists_texts() -> None:
    rule = compile_rules({"fact": "custom_fact", "exists": True})
    assert texts(rule.evaluate({})) == [
        "Not applicable: custom_fact is absent, but the rule requires the fact to be present."
    ]
    absent = compile_rules({"fact": "custom_fact", "exists": False})
    assert texts(absent.evaluate({})) == [
        "Applies: custom_fact is absent (required: the fact to be absent)."
    ]


def test_long_list_values_are_shortened_in_texts() -> None:
    rule = compile_rules(FIX)
    evaluation = rule.evaluate({"installed_updates": [f"KB{n}" for n in range(20)]})
    (text,) = texts(evaluation)
    assert "[KB0, KB1, KB2, KB3, KB4, KB5, KB6, KB7, … (12 more)]" in text
    (text,) = texts(evaluation, "ja")
    assert "（ほか 12 件）" in text


# Labels


def test_a_leaf_label_is_used_in_its_language_only() -> None:
    rule = compile_rules({**BEHIND_NAT, "label": {"ja": "NAT の内側"}})
    evaluation = rule.evaluate({"behind_nat": True})
    assert texts(evaluation, "ja") == [
        "該当します: NAT の内側 — 成立: 「behind_nat」は true です（条件: true）。"
    ]
    assert texts(evaluation, "en") == ["Applies: behind_nat is true (required: true)."]


def test_a_labelled_combinator_groups_its_reasons() -> None:
    doc = {
        "label": {"en": "Covered platform"},
        "all": [{"product": "p"}, {"edition": "e"}],
    }
    evaluation = compile_rules(doc).evaluate({"product": "p"})
    (reason,) = evaluation.reasons
    assert (reason.path, reason.test, reason.fact, reason.result) == (
        "",
        "all",
        None,
        Truth.UNKNOWN,
    )
    assert [child.path for child in reason.children] == ["all.1"]
    assert evaluation.missing_facts == ("edition",)
    assert texts(evaluation) == [
        "Cannot tell: Covered platform — cannot be checked: Edition is not known"
        " (fact 'edition' is missing; required: e)."
    ]
    # Without a Japanese label the grouped tests speak for themselves.
    assert texts(evaluation, "ja") == [
        "判定できません: エディションが不明です（ファクト「edition」がありません。条件: e）。"
    ]


def test_unlabelled_combinators_are_transparent() -> None:
    doc = {"all": [{"any": [{"product": "p"}, {"not": {"edition": "e"}}]}]}
    evaluation = compile_rules(doc).evaluate({"product": "x", "edition": "e"})
    assert [reason.path for reason in evaluation.reasons] == ["all.0.any.0", "all.0.any.1.not"]


@pytest.mark.parametrize("locale", ["ja", "ja-JP", "ja_JP", "JA"])
def test_japanese_locale_tags(locale: str) -> None:
    evaluation = compile_rules(BEHIND_NAT).evaluate({"behind_nat": True})
    assert texts(evaluation, locale)[0].startswith("該当します: ")


@pytest.mark.parametrize("locale", ["en", "en-US", "fr", "", "zz-unknown"])
def test_other_locales_get_english(locale: str) -> None:
    evaluation = compile_rules(BEHIND_NAT).evaluate({"behind_nat": True})
    assert texts(evaluation, locale) == ["Applies: behind_nat is true (required: true)."]


LEAF_DOCS = [
    {"product": ["a", "b"]},
    {"edition": "e"},
    {"architecture": ["x86"]},
    {"service_pack": 1},
    {"service_pack": [1, 2]},
    {"service_pack": {"min": 1}},
    {"service_pack": {"max": 1}},
    {"service_pack": {"min": 1, "max": 2}},
    {"product_version": "5.2"},
    {"product_version": ["5.2", "6.0"]},
    {"product_version": {"min": "5.2"}},
    {"fact": "x", "equals": "a"},
    {"fact": "x", "in": [1, True, "a"]},
    {"fact": "x", "contains": "KB1"},
    {"fact": "x", "exists": True},
    {"fact": "x", "exists": False},
    {"fact": "x", "lt": 1},
    {"fact": "x", "le": 1.5},
    {"fact": "x", "gt": 1},
    {"fact": "x", "ge": 1},
    {"fact": "x", "version_eq": "1.0"},
    {"fact": "x", "version_lt": "1.0"},
    {"fact": "x", "version_le": "1.0"},
    {"fact": "x", "version_gt": "1.0"},
    {"fact": "x", "version_ge": "1.0"},
    {"fact": "x", "in_cidr": ["10.0.0.0/8", "fd00::/8"]},
]


@pytest.mark.parametrize("doc", LEAF_DOCS, ids=lambda doc: json.dumps(doc))
@pytest.mark.parametrize("negate", [False, True])
@pytest.mark.parametrize("locale", ["en", "ja"])
def test_every_test_has_complete_texts(doc: dict[str, object], negate: bool, locale: str) -> None:
    rule = compile_rules({"not": doc} if negate else doc)
    fact = str(doc.get("fact", next(iter(doc))))
    for facts in ({}, {fact: "value"}, {fact: ["value"]}, {fact: 1}):
        (text,) = rule.evaluate(facts).reason_texts(locale)
        assert "{" not in text and "}" not in text and "None" not in text
        assert text.endswith("." if locale == "en" else "。")


# Public types and the product index


def test_verdict_is_a_json_friendly_str_enum() -> None:
    assert json.dumps(Verdict.APPLIES) == '"applies"'
    assert Verdict("not_applicable") is Verdict.NOT_APPLICABLE
    assert [verdict.value for verdict in Verdict] == ["applies", "not_applicable", "unknown"]


def test_compiled_rules_and_evaluations_are_frozen() -> None:
    rule = compile_rules(BEHIND_NAT)
    evaluation = rule.evaluate({"behind_nat": True})
    assert isinstance(rule, CompiledRule)
    with pytest.raises(AttributeError):
        rule.products = frozenset()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        evaluation.verdict = Verdict.UNKNOWN  # type: ignore[misc]


def test_compiled_rule_ignores_later_edits_of_the_document() -> None:
    doc = {"all": [{"product": ["p"]}, {"fact": "tags", "in": ["a"]}]}
    rule = compile_rules(doc)
    doc["all"][0]["product"].append("q")  # type: ignore[index]
    doc["all"][1]["in"][0] = "b"  # type: ignore[index]
    assert rule.products == {"p"}
    assert rule.evaluate({"product": "q", "tags": "a"}).verdict is Verdict.NOT_APPLICABLE
    assert rule.evaluate({"product": "p", "tags": "a"}).verdict is Verdict.APPLIES


@pytest.mark.parametrize(
    ("doc", "products"),
    [
        ({"product": "p"}, {"p"}),
        ({"fact": "product", "equals": "p"}, {"p"}),
        ({"fact": "product", "in": ["p", "q"]}, {"p", "q"}),
        ({"fact": "product", "in": ["p", 1]}, None),
        ({"fact": "product", "contains": "p"}, None),
        ({"edition": "e"}, None),
        ({"all": [{"edition": "e"}, {"product": ["p", "q"]}]}, {"p", "q"}),
        ({"all": [{"product": ["p", "q"]}, {"product": ["q", "r"]}]}, {"q"}),
        ({"any": [{"product": "p"}, {"product": "q"}]}, {"p", "q"}),
        ({"any": [{"product": "p"}, {"edition": "e"}]}, None),
        ({"not": {"product": "p"}}, None),
        ({"not": {"not": {"product": "p"}}}, {"p"}),
        ({"not": {"any": [{"product": "p"}, {"edition": "e"}]}}, None),
        # all of "p" and "q" can never hold: no product can match.
        ({"not": {"any": [{"not": {"product": "p"}}, {"not": {"product": "q"}}]}}, set()),
        ({"not": {"all": [{"not": {"product": "p"}}, {"not": {"product": "q"}}]}}, {"p", "q"}),
        ({"not": {"all": [{"not": {"product": "p"}}, {"edition": "e"}]}}, None),
        ({"product": "p", "resolved_by": {"product": "q"}}, {"p"}),
    ],
)
def test_products_index(doc: dict[str, object], products: set[str] | None) -> None:
    assert compile_rules(doc).products == (None if products is None else frozenset(products))


def test_reasons_are_shared_values_not_rebuilt_per_evaluation() -> None:
    rule = compile_rules(copy.deepcopy(WITH_FIX))
    first = rule.evaluate({"behind_nat": True, "installed_updates": []})
    second = rule.evaluate({"behind_nat": True, "installed_updates": []})
    assert first.reasons[0] is second.reasons[0]
    assert first == second


def test_reason_texts_show_each_value_as_sent_even_when_equal_values_came_before() -> None:
    # 0.0 == -0.0 and [0.0] == [-0.0], with equal hashes: the sentence cache must still
    # tell them apart, as the sentences show the value.
    rule = compile_rules({"fact": "offset", "lt": 5})
    listed = compile_rules({"fact": "offsets", "contains": 1})
    for value in (0.0, -0.0, 0.0):
        (text,) = texts(rule.evaluate({"offset": value}))
        assert f"offset is {value!r} (" in text, text
        (text,) = texts(listed.evaluate({"offsets": [value]}))
        assert ("-0.0" in text) is (str(value) == "-0.0"), text
