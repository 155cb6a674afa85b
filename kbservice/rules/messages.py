"""Reason texts in English and Japanese, built only when asked for."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

from .language import PLATFORM_TESTS, leaf_test
from .model import NodeInfo, Reason, Truth, Verdict

_SHOWN_ITEMS = 8
_FLIP = {Truth.TRUE: Truth.FALSE, Truth.FALSE: Truth.TRUE, Truth.UNKNOWN: Truth.UNKNOWN}


@dataclass(frozen=True)
class _Language:
    """Every phrase of one language; `{}` fields are filled by `_leaf` and `_describe`."""

    code: str
    verdicts: Mapping[Verdict, str]
    resolved: str
    note: str
    stop: str
    sentences: Mapping[Truth, str]
    outcomes: Mapping[Truth, str]
    labelled: str
    separator: str
    subjects: Mapping[str, str]
    fact_subject: str
    present: str
    absent: str
    more: str
    requirements: Mapping[str, tuple[str, str]]


EN = _Language(
    code="en",
    verdicts={
        Verdict.APPLIES: "Applies: ",
        Verdict.NOT_APPLICABLE: "Not applicable: ",
        Verdict.UNKNOWN: "Cannot tell: ",
    },
    resolved="Not applicable, already resolved: ",
    note="Note: could not check whether this is already resolved: ",
    stop=".",
    sentences={
        Truth.TRUE: "{subject} is {actual} (required: {requirement})",
        Truth.FALSE: "{subject} is {actual}, but the rule requires {requirement}",
        Truth.UNKNOWN: "{subject} is not known (fact '{fact}' is missing; required: {requirement})",
    },
    outcomes={
        Truth.TRUE: "holds",
        Truth.FALSE: "does not hold",
        Truth.UNKNOWN: "cannot be checked",
    },
    labelled="{label} — {outcome}: {detail}",
    separator="; ",
    subjects={
        "product": "Product",
        "edition": "Edition",
        "architecture": "Architecture",
        "service_pack": "Service pack",
        "product_version": "Product version",
    },
    fact_subject="{fact}",
    present="present",
    absent="absent",
    more=", … ({count} more)",
    requirements={
        "equals": ("{x}", "a value other than {x}"),
        "in": ("one of {x}", "none of {x}"),
        "contains": ("a list that includes {x}", "a list that does not include {x}"),
        "exists": ("the fact to be present", "the fact to be absent"),
        "lt": ("a number less than {x}", "anything but a number less than {x}"),
        "le": ("a number of at most {x}", "anything but a number of at most {x}"),
        "gt": ("a number greater than {x}", "anything but a number greater than {x}"),
        "ge": ("a number of at least {x}", "anything but a number of at least {x}"),
        "version_eq": ("version {x}", "a version other than {x}"),
        "version_lt": ("a version lower than {x}", "anything but a version lower than {x}"),
        "version_le": ("version {x} or lower", "anything but version {x} or lower"),
        "version_gt": ("a version higher than {x}", "anything but a version higher than {x}"),
        "version_ge": ("version {x} or higher", "anything but version {x} or higher"),
        "in_cidr": ("an address in {x}", "no address in {x}"),
        "range": ("from {min} to {max}", "anything but {min} to {max}"),
        "min": ("at least {min}", "anything but at least {min}"),
        "max": ("at most {max}", "anything but at most {max}"),
    },
)

JA = _Language(
    code="ja",
    verdicts={
        Verdict.APPLIES: "該当します: ",
        Verdict.NOT_APPLICABLE: "該当しません: ",
        Verdict.UNKNOWN: "判定できません: ",
    },
    resolved="該当しません（解決済み）: ",
    note="注意: 解決済みかどうかを確認できませんでした: ",
    stop="。",
    sentences={
        Truth.TRUE: "{subject}は {actual} です（条件: {requirement}）",
        Truth.FALSE: "{subject}は {actual} ですが、条件は「{requirement}」です",
        Truth.UNKNOWN: (
            "{subject}が不明です（ファクト「{fact}」がありません。条件: {requirement}）"
        ),
    },
    outcomes={Truth.TRUE: "成立", Truth.FALSE: "不成立", Truth.UNKNOWN: "確認できません"},
    labelled="{label} — {outcome}: {detail}",
    separator="、",
    subjects={
        "product": "製品",
        "edition": "エディション",
        "architecture": "アーキテクチャ",
        "service_pack": "サービス パック",
        "product_version": "製品バージョン",
    },
    fact_subject="「{fact}」",
    present="あり",
    absent="なし",
    more=", …（ほか {count} 件）",
    requirements={
        "equals": ("{x}", "{x} 以外の値"),
        "in": ("{x} のいずれか", "{x} のいずれでもない値"),
        "contains": ("{x} を含むリスト", "{x} を含まないリスト"),
        "exists": ("値があること", "値がないこと"),
        "lt": ("{x} 未満の数値", "{x} 未満の数値以外"),
        "le": ("{x} 以下の数値", "{x} 以下の数値以外"),
        "gt": ("{x} より大きい数値", "{x} より大きい数値以外"),
        "ge": ("{x} 以上の数値", "{x} 以上の数値以外"),
        "version_eq": ("バージョン {x}", "バージョン {x} 以外"),
        "version_lt": ("バージョン {x} より前", "バージョン {x} より前以外"),
        "version_le": ("バージョン {x} 以前", "バージョン {x} 以前以外"),
        "version_gt": ("バージョン {x} より後", "バージョン {x} より後以外"),
        "version_ge": ("バージョン {x} 以降", "バージョン {x} 以降以外"),
        "in_cidr": ("{x} 内のアドレス", "{x} 内にないアドレス"),
        "range": ("{min} 以上 {max} 以下", "{min} 以上 {max} 以下以外"),
        "min": ("{min} 以上", "{min} 以上以外"),
        "max": ("{max} 以下", "{max} 以下以外"),
    },
)

_LANGUAGES = {"en": EN, "ja": JA}


def reason_text(reason: Reason, verdict: Verdict, facts: Mapping[str, object], locale: str) -> str:
    """One sentence saying how `reason` led to `verdict`; unknown locales get English."""
    return _reason_text(reason, verdict, facts, _language(locale))


def reason_texts(
    reasons: Iterable[Reason], verdict: Verdict, facts: Mapping[str, object], locale: str
) -> list[str]:
    """`reason_text` of each reason, in order."""
    language = _language(locale)
    return [_reason_text(reason, verdict, facts, language) for reason in reasons]


def _reason_text(
    reason: Reason, verdict: Verdict, facts: Mapping[str, object], language: _Language
) -> str:
    if reason.children:
        return _sentence(reason, verdict, facts, language)
    # Inventories repeat the same values across thousands of systems: a leaf's sentence
    # depends only on its node, result, the verdict, the fact's value and the language.
    node = reason.node
    value = facts.get(node.fact or "")
    try:
        key = (verdict, reason.result, language.code, _hashable(value))
    except TypeError:
        return _sentence(reason, verdict, facts, language)
    text = _texts(node).get(key)
    if text is None:
        text = _keep(node, key, _sentence(reason, verdict, facts, language))
    return text


def _language(locale: str) -> _Language:
    language = _LANGUAGE_OF.get(locale)
    if language is None:
        code = locale.replace("_", "-").split("-", 1)[0].lower()
        language = _LANGUAGES.get(code, EN)
        if len(_LANGUAGE_OF) < _LOCALES_KEPT:
            _LANGUAGE_OF[locale] = language
    return language


_LOCALES_KEPT = 64
_LANGUAGE_OF: dict[str, _Language] = {}


def _sentence(
    reason: Reason, verdict: Verdict, facts: Mapping[str, object], language: _Language
) -> str:
    if not reason.node.resolution:
        prefix = language.verdicts[verdict]
    elif verdict is Verdict.NOT_APPLICABLE:
        prefix = language.resolved
    else:
        prefix = language.note
    return prefix + _describe(reason, facts, language) + language.stop


def _describe(reason: Reason, facts: Mapping[str, object], language: _Language) -> str:
    if reason.children:
        detail = language.separator.join(
            _describe(child, facts, language) for child in reason.children
        )
    else:
        detail = _leaf(reason, facts, language)
    label = reason.node.label(language.code)
    if label is None:
        return detail
    return language.labelled.format(
        label=label, outcome=language.outcomes[reason.result], detail=detail
    )


def _leaf(reason: Reason, facts: Mapping[str, object], language: _Language) -> str:
    node = reason.node
    value = facts.get(node.fact or "")
    try:
        key = (_LEAF, reason.result, language.code, _hashable(value))
    except TypeError:
        return _render_leaf(reason, value, language)
    text = _texts(node).get(key)
    if text is None:
        text = _keep(node, key, _render_leaf(reason, value, language))
    return text


_LEAF = "leaf"
_REQUIREMENT = "requirement"
# Texts kept per node; a node whose fact takes very many values starts over.
_TEXTS_PER_NODE = 256


def _texts(node: NodeInfo) -> dict[Hashable, str]:
    texts = node.texts
    if texts is None:
        texts = {}
        # The node is frozen, its `texts` slot is a cache: set once, then only mutated.
        object.__setattr__(node, "texts", texts)
    return texts


def _keep(node: NodeInfo, key: Hashable, text: str) -> str:
    texts = _texts(node)
    if len(texts) >= _TEXTS_PER_NODE:
        texts.clear()
    texts[key] = text
    return text


def _hashable(value: object) -> object:
    # Typed, so that True and 1 (equal and of equal hash) are told apart; floats by
    # their text, so that 0.0 and -0.0 are too (sentences show the value as sent).
    if isinstance(value, list):
        return tuple(map(_typed, value))
    hash(value)
    return _typed(value)


def _typed(item: object) -> tuple[type, object]:
    return (float, repr(item)) if type(item) is float else (type(item), item)


def _render_leaf(reason: Reason, value: object, language: _Language) -> str:
    node = reason.node
    fact = node.fact or ""
    # Under an odd number of `not`s the rule wants the opposite of the leaf's own test.
    effective = _FLIP[reason.result] if node.negated else reason.result
    if node.test == "exists":
        actual = language.present if value is not None else language.absent
    else:
        actual = _shown(value, language)
    return language.sentences[effective].format(
        subject=language.subjects.get(node.test) or language.fact_subject.format(fact=fact),
        actual=actual,
        fact=fact,
        requirement=_requirement(reason, language),
    )


def _requirement(reason: Reason, language: _Language) -> str:
    # A node's requirement never changes: render it once per node and language.
    node = reason.node
    key = (_REQUIREMENT, language.code)
    text = _texts(node).get(key)
    if text is None:
        text = _keep(node, key, _render_requirement(node, language))
    return text


def _render_requirement(node: NodeInfo, language: _Language) -> str:
    expected = node.expected
    negated = node.negated
    key = node.test
    if key == "exists":
        # `exists: false` is the negative phrasing.
        negated = negated == bool(expected)
    elif isinstance(expected, dict):
        key = "range" if len(expected) == 2 else "min" if "min" in expected else "max"
    elif key in PLATFORM_TESTS:
        key = (
            "in"
            if isinstance(expected, list)
            else "version_eq"
            if key == "product_version"
            else "equals"
        )
    template = language.requirements[key][negated]
    bounds = expected if isinstance(expected, dict) else {}
    return template.format(x=_plain(expected), min=bounds.get("min"), max=bounds.get("max"))


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(item) for item in value)
    return str(value)


def _shown(value: object, language: _Language) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        shown = ", ".join(_plain(item) for item in items[:_SHOWN_ITEMS])
        rest = len(items) - _SHOWN_ITEMS
        return f"[{shown}{language.more.format(count=rest) if rest > 0 else ''}]"
    return _plain(value)


_CONDITIONS = {
    "en": {
        "all": "All of these hold:",
        "any": "At least one of these holds:",
        "not": "This does not hold:",
        "resolved_by": "Unless this holds (the article is then already resolved):",
        "leaf": "{subject}: {requirement}",
    },
    "ja": {
        "all": "次のすべてが成り立つ:",
        "any": "次のいずれかが成り立つ:",
        "not": "次が成り立たない:",
        "resolved_by": "ただし次が成り立つ場合は解決済み:",
        "leaf": "{subject}: {requirement}",
    },
}


def describe_rules(document: Mapping[str, object], locale: str) -> str:
    """A validated rule document in words, as a Markdown list (labels in `locale` lead)."""
    language = _language(locale)
    lines: list[str] = []
    _describe_node(document, 0, language, lines)
    resolution = document.get("resolved_by")
    if isinstance(resolution, Mapping):
        lines.append("- " + _CONDITIONS[language.code]["resolved_by"])
        _describe_node(resolution, 1, language, lines)
    return "\n".join(lines)


def _describe_node(
    node: Mapping[str, object], depth: int, language: _Language, lines: list[str]
) -> None:
    phrases = _CONDITIONS[language.code]
    indent = "  " * depth + "- "
    label = node.get("label")
    title = label.get(language.code) if isinstance(label, Mapping) else None
    kind = next((key for key in ("all", "any", "not") if key in node), None)
    if kind is not None:
        heading = phrases[kind]
        lines.append(indent + (f"{title} — {heading}" if title else heading))
        children = node[kind]
        for child in children if isinstance(children, list) else [children]:
            _describe_node(child, depth + 1, language, lines)
        return
    test, fact = leaf_test(node)
    info = NodeInfo("", test, fact, node[test], (), False, False)
    text = phrases["leaf"].format(
        subject=language.subjects.get(test) or language.fact_subject.format(fact=fact),
        requirement=_render_requirement(info, language),
    )
    lines.append(indent + (f"{title} — {text}" if title else text))
