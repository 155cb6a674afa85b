"""The seed article KB885348: its rules, full verdict table, reasons, index entry and trace."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from kbservice.rules import Truth, Verdict, compile_rules, validate_rules

KB885348_EXAMPLE: dict[str, object] = {
    "all": [
        {
            "label": {
                "en": "Windows Server 2003, Standard or Enterprise Edition, x86, SP0 to SP2",
                "ja": "Windows Server 2003 Standard / Enterprise Edition（x86、SP なし～SP2）",
            },
            "all": [
                {"product": "windows_server_2003"},
                {"edition": ["standard", "enterprise"]},
                {"architecture": "x86"},
                {"service_pack": {"min": 0, "max": 2}},
            ],
        },
        {
            "label": {
                "en": "The server is behind a network address translator (NAT)",
                "ja": "サーバーがネットワーク アドレス変換 (NAT) デバイスの内側にある",
            },
            "fact": "behind_nat",
            "equals": True,
        },
        {
            "label": {
                "en": "The server is an IPSec endpoint (VPN server role)",
                "ja": "サーバーが IPSec のエンドポイント（VPN サーバーの役割）である",
            },
            "fact": "roles",
            "contains": "vpn_server",
        },
    ]
}

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
MISSING = "missing"
AFFECTED = {
    "product": "windows_server_2003",
    "edition": "enterprise",
    "architecture": "x86",
    "service_pack": 2,
    "roles": ["vpn_server"],
    "behind_nat": True,
    "ip_addresses": ["192.168.1.5"],
    "installed_updates": ["KB885407"],
    "product_version": "5.2.3790",
    "custom_fact": 3,
}
RULE = compile_rules(KB885348_EXAMPLE)

EDITIONS = ["standard", "enterprise", "web", "datacenter"]
ARCHITECTURES = ["x86", "x64", "ia64"]
SERVICE_PACKS = [0, 1, 2, 3]
BEHIND_NAT = [True, False, MISSING]
ROLES = {"present": ["file_server", "vpn_server"], "absent": ["file_server"], MISSING: MISSING}


def expected(
    edition: str, architecture: str, service_pack: int, behind_nat: object, roles: str
) -> tuple[Verdict, tuple[str, ...]]:
    """The article's statement: covered platform, behind NAT and an IPSec endpoint."""
    covered = edition in ("standard", "enterprise") and architecture == "x86" and service_pack <= 2
    if not covered or behind_nat is False or roles == "absent":
        return Verdict.NOT_APPLICABLE, ()
    missing = tuple(
        name for name, value in (("behind_nat", behind_nat), ("roles", roles)) if value == MISSING
    )
    return (Verdict.UNKNOWN, missing) if missing else (Verdict.APPLIES, ())


TABLE = list(itertools.product(EDITIONS, ARCHITECTURES, SERVICE_PACKS, BEHIND_NAT, list(ROLES)))


@pytest.mark.parametrize(("edition", "architecture", "service_pack", "behind_nat", "roles"), TABLE)
def test_verdict_table(
    edition: str, architecture: str, service_pack: int, behind_nat: object, roles: str
) -> None:
    facts = {
        "product": "windows_server_2003",
        "edition": edition,
        "architecture": architecture,
        "service_pack": service_pack,
    }
    if behind_nat != MISSING:
        facts["behind_nat"] = behind_nat
    if roles != MISSING:
        facts["roles"] = ROLES[roles]
    evaluation = RULE.evaluate(facts)
    assert (evaluation.verdict, evaluation.missing_facts) == expected(
        edition, architecture, service_pack, behind_nat, roles
    )
    assert evaluation.reasons


def test_the_table_covers_every_verdict() -> None:
    counts = {verdict: 0 for verdict in Verdict}
    for row in TABLE:
        counts[expected(*row)[0]] += 1
    # 432 rows; 2 editions x 1 architecture x 3 service packs are covered, and each of
    # those 6 platforms has 1 applying and 3 unknown NAT/role combinations.
    assert len(TABLE) == 432
    assert counts == {Verdict.APPLIES: 6, Verdict.UNKNOWN: 18, Verdict.NOT_APPLICABLE: 408}


@pytest.mark.parametrize(
    ("facts", "verdict", "missing"),
    [
        (AFFECTED, Verdict.APPLIES, ()),
        ({**AFFECTED, "behind_nat": False}, Verdict.NOT_APPLICABLE, ()),
        ({**AFFECTED, "roles": []}, Verdict.NOT_APPLICABLE, ()),
        ({**AFFECTED, "product": "windows_server_2008"}, Verdict.NOT_APPLICABLE, ()),
        ({**AFFECTED, "product": "windows_xp", "behind_nat": None}, Verdict.NOT_APPLICABLE, ()),
        ({**AFFECTED, "service_pack": None}, Verdict.UNKNOWN, ("service_pack",)),
        ({**AFFECTED, "edition": None, "roles": None}, Verdict.UNKNOWN, ("edition", "roles")),
        ({"behind_nat": False}, Verdict.NOT_APPLICABLE, ()),
        (
            {},
            Verdict.UNKNOWN,
            ("architecture", "behind_nat", "edition", "product", "roles", "service_pack"),
        ),
    ],
)
def test_other_systems(
    facts: dict[str, object], verdict: Verdict, missing: tuple[str, ...]
) -> None:
    evaluation = RULE.evaluate(facts)
    assert (evaluation.verdict, evaluation.missing_facts) == (verdict, missing)


def test_index_entry_and_facts_read() -> None:
    assert RULE.products == frozenset({"windows_server_2003"})
    assert RULE.facts == {
        "product",
        "edition",
        "architecture",
        "service_pack",
        "behind_nat",
        "roles",
    }


def test_applies_reasons_list_every_condition_that_held() -> None:
    evaluation = RULE.evaluate(AFFECTED)
    assert [reason.path for reason in evaluation.reasons] == ["all.0", "all.1", "all.2"]
    assert [child.path for child in evaluation.reasons[0].children] == [
        "all.0.all.0",
        "all.0.all.1",
        "all.0.all.2",
        "all.0.all.3",
    ]
    assert all(reason.result is Truth.TRUE for reason in evaluation.reasons)
    assert evaluation.reason_texts("en") == [
        "Applies: Windows Server 2003, Standard or Enterprise Edition, x86, SP0 to SP2 — holds: "
        "Product is windows_server_2003 (required: windows_server_2003); "
        "Edition is enterprise (required: one of standard, enterprise); "
        "Architecture is x86 (required: x86); Service pack is 2 (required: from 0 to 2).",
        "Applies: The server is behind a network address translator (NAT) — holds: "
        "behind_nat is true (required: true).",
        "Applies: The server is an IPSec endpoint (VPN server role) — holds: "
        "roles is [vpn_server] (required: a list that includes vpn_server).",
    ]
    assert all(text.startswith("該当します: ") for text in evaluation.reason_texts("ja"))


def test_not_behind_nat_says_so_in_both_languages() -> None:
    evaluation = RULE.evaluate({**AFFECTED, "behind_nat": False})
    assert [reason.path for reason in evaluation.reasons] == ["all.1"]
    assert evaluation.reason_texts("en") == [
        "Not applicable: The server is behind a network address translator (NAT) — does not hold: "
        "behind_nat is false, but the rule requires true."
    ]
    assert evaluation.reason_texts("ja") == [
        "該当しません: サーバーがネットワーク アドレス変換 (NAT) デバイスの内側にある — 不成立: "
        "「behind_nat」は false ですが、条件は「true」です。"
    ]


def test_uncovered_edition_names_the_failing_test() -> None:
    evaluation = RULE.evaluate({**AFFECTED, "edition": "web"})
    (reason,) = evaluation.reasons
    assert reason.path == "all.0"
    assert [(child.path, child.result) for child in reason.children] == [
        ("all.0.all.1", Truth.FALSE)
    ]
    (text,) = evaluation.reason_texts("en")
    assert text.endswith("Edition is web, but the rule requires one of standard, enterprise.")
    (text,) = evaluation.reason_texts("ja")
    assert "エディションは web ですが" in text


def test_unknown_reasons_name_the_missing_facts() -> None:
    evaluation = RULE.evaluate({key: value for key, value in AFFECTED.items() if key != "roles"})
    assert evaluation.missing_facts == ("roles",)
    (en,) = evaluation.reason_texts("en")
    assert en.startswith("Cannot tell: ") and "'roles' is missing" in en
    (ja,) = evaluation.reason_texts("ja")
    assert ja.startswith("判定できません: ") and "ファクト「roles」がありません" in ja


def test_explain_trace_shape() -> None:
    trace = RULE.evaluate({**AFFECTED, "behind_nat": None}, explain=True).trace
    assert trace is not None
    assert set(trace) == {"path", "op", "result", "children"}
    assert (trace["path"], trace["op"], trace["result"]) == ("", "all", "unknown")
    platform, nat, role = trace["children"]  # type: ignore[misc]
    assert set(platform) == {"path", "op", "result", "children", "label"}
    assert (platform["path"], platform["result"]) == ("all.0", "true")
    assert platform["children"][3] == {
        "path": "all.0.all.3",
        "test": "service_pack",
        "fact": "service_pack",
        "expected": {"min": 0, "max": 2},
        "actual": 2,
        "result": "true",
    }
    assert {key: nat[key] for key in ("path", "test", "fact", "expected", "actual", "result")} == {
        "path": "all.1",
        "test": "equals",
        "fact": "behind_nat",
        "expected": True,
        "actual": None,
        "result": "unknown",
    }
    assert nat["label"]["ja"].startswith("サーバー")
    assert (role["path"], role["actual"], role["result"]) == ("all.2", ["vpn_server"], "true")
    json.dumps(trace)


def test_no_trace_unless_asked() -> None:
    assert RULE.evaluate(AFFECTED).trace is None


def test_docs_show_exactly_this_example() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Worked example: KB885348", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block is not None
    documented = json.loads(block.group(1))
    assert documented == KB885348_EXAMPLE
    validate_rules(documented)
    # The reasons shown in the docs are the engine's own output.
    shown = re.search(
        r"For the facts at the top of this page.*?```text\n(.*?)```", section, re.DOTALL
    )
    assert shown is not None
    assert shown.group(1).splitlines() == RULE.evaluate(AFFECTED).reason_texts("en")
