"""Identical rule documents share their compiled parts, and sharing never mixes articles up.

Compiling a rule walked every node of its document even when all its subtrees were
shared already; at 200,000 articles a worker's first request for a platform spent
≈ 43 ms CPU compiling its ≈ 230 candidates. Parts are now found by the digest of their
JSON (rules/engine.py `_part`, rules/tree.py `_child`), and the index's outlines combine
the analyses of the children they share (engine.outline's memo).
"""

from __future__ import annotations

import copy
import random

from kbservice.catalog.products import load_catalog_file
from kbservice.rules import Verdict, compile_rules
from kbservice.rules import engine as rule_engine
from kbservice.rules import tree as rule_tree
from kbservice.rules.engine import outline
from kbservice.synth.corpus import CATALOG_FILE
from kbservice.synth.rules import realistic_rules

from .conftest import make_token

MAIN = {
    "all": [
        {"all": [{"product": "windows_xp"}, {"architecture": "x86"}]},
        {"fact": "behind_nat", "equals": True},
    ]
}
KBS = ("900501", "900502", "900503")


def _document(kb: str, main: dict = MAIN) -> dict:
    """`main`, resolved by the article's own update."""
    return {
        **copy.deepcopy(main),
        "resolved_by": {"fact": "installed_updates", "contains": f"KB{kb}"},
    }


def _applying(client, system: dict) -> dict[str, str]:
    answer = client.post("/api/v1/applicability", json={"system": system})
    assert answer.status_code == 200
    return {result["kb"]: result["verdict"] for result in answer.get_json()["results"]}


def test_articles_with_identical_rules_are_judged_each_by_its_own_and_edits_reach_every_worker(
    seeded_url, make_app
) -> None:
    writer = make_app({"DATABASE_URL": seeded_url})
    # Another worker process: it answers from its own index and compiled rules.
    worker = make_app({"DATABASE_URL": seeded_url}).test_client()
    client = writer.test_client()
    editor = {"Authorization": f"Bearer {make_token(writer, 'editor')}"}
    for kb in KBS:
        body = {
            "kb": kb,
            "source_locale": "en",
            "title": f"Title of {kb}",
            "sections": [{"heading": None, "body": "Body."}],
            "applies_to": [{"product": "windows_xp", "architecture": "x86"}],
            "rules": _document(kb),
        }
        assert client.post("/api/v1/articles", json=body, headers=editor).status_code == 201
    system = {
        "product": "windows_xp",
        "architecture": "x86",
        "behind_nat": True,
        "installed_updates": ["KB900502"],
    }
    expected = {"900501": "applies", "900503": "applies"}
    for answering in (worker, client):
        found = _applying(answering, system)
        assert {kb: found.get(kb) for kb in KBS} == {**expected, "900502": None}

    # Narrow one article's rules: only its verdict changes, in every worker.
    path = "/api/v1/articles/900503"
    narrowed = {"all": [*MAIN["all"], {"fact": "roles", "contains": "vpn_server"}]}
    response = client.put(
        f"{path}/rules",
        json={"rules": _document("900503", narrowed), "examples": []},
        headers={**editor, "If-Match": client.get(path).headers["ETag"]},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    for answering in (worker, client):
        found = _applying(answering, system)
        assert {kb: found.get(kb) for kb in KBS} == {
            "900501": "applies",
            "900502": None,
            "900503": "unknown",  # roles not given
        }
        found = _applying(answering, {**system, "roles": ["vpn_server"], "installed_updates": []})
        assert {kb: found.get(kb) for kb in KBS} == dict.fromkeys(KBS, "applies")


def test_a_document_sharing_its_parts_with_compiled_ones_builds_only_what_is_new(
    monkeypatch,
) -> None:
    kept = compile_rules(_document("1"))  # noqa: F841 — keeps the shared parts alive
    built: list[str] = []
    build = rule_tree.build

    def counting(doc, path="", **options):
        built.append(path)
        return build(doc, path, **options)

    # Roots are built by the engine, subtrees by the tree module itself.
    monkeypatch.setattr(rule_tree, "build", counting)
    monkeypatch.setattr(rule_engine, "build", counting)
    compile_rules(_document("1"))
    assert built == []  # the same document: both parts shared whole
    grown = {"all": [*MAIN["all"], {"fact": "roles", "contains": "vpn_server"}]}
    rule = compile_rules(_document("2", grown))
    # The new root, the new condition and the new resolved_by; not the shared platform.
    assert sorted(built) == ["", "all.2", "resolved_by"]
    facts = {"product": "windows_xp", "architecture": "x86", "behind_nat": True}
    assert rule.evaluate({**facts, "roles": ["vpn_server"]}).verdict is Verdict.APPLIES
    assert rule.evaluate({**facts, "installed_updates": ["KB2"]}).verdict is Verdict.NOT_APPLICABLE


def test_documents_whose_json_would_not_read_back_are_never_shared() -> None:
    # orjson writes both infinities as null: a digest of that JSON would mix them up.
    below = compile_rules({"fact": "load", "lt": float("inf")}, validate=False)
    above = compile_rules({"fact": "load", "lt": float("-inf")}, validate=False)
    assert below.evaluate({"load": 5}).verdict is Verdict.APPLIES
    assert above.evaluate({"load": 5}).verdict is Verdict.NOT_APPLICABLE
    huge = {"fact": "build", "equals": 2**70}
    assert compile_rules(huge, validate=False).evaluate({"build": 2**70}).verdict is Verdict.APPLIES


def test_outlines_made_with_a_shared_memo_are_those_of_the_compiled_rules() -> None:
    rng = random.Random(17)
    products = load_catalog_file(CATALOG_FILE).products
    memo: dict = {}
    for _ in range(400):
        product = rng.choice(products)
        entries = [
            {
                "product": product.id,
                "edition": rng.choice(product.editions).id,
                "architecture": rng.choice(product.architectures),
            }
            for _ in range(rng.randint(1, 3))
        ]
        doc = realistic_rules(entries, rng)
        assert doc is not None
        main = {key: value for key, value in doc.items() if key != "resolved_by"}
        for each in (doc, {"not": main}, {"any": [main, {"fact": "tags", "in": ["x"]}]}):
            rule = compile_rules(each)
            assert tuple(outline(each, memo)) == (rule.products, rule.platform)
    assert memo  # the children were kept for the next documents
