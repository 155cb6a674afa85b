"""CSAF 2.0 and OVAL 5.11 exports, checked by the official validators.

`oscap oval validate` (Debian's openscap-scanner) and `csaf validate --spec-version v20`
(the `csaf` package of the test extra): skipped locally without them, a failure in CI.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import ipaddress
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from kbservice.articles.reading import ArticleSnapshot, LocalizedText, RevisionInfo, Section
from kbservice.catalog.products import load_catalog_file
from kbservice.config import ConfigError
from kbservice.exports.links import Links
from kbservice.exports.oval import oval_feed
from kbservice.rules import RuleValidationError, validate_rules

from .conftest import make_token
from .test_editing_api import NEW_ARTICLE

KB = "/api/v1/articles/885348"
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
OVAL = "{http://oval.mitre.org/XMLSchema/oval-definitions-5}"
WIN = "{http://oval.mitre.org/XMLSchema/oval-definitions-5#windows}"
IND = "{http://oval.mitre.org/XMLSchema/oval-definitions-5#independent}"


def _tool(name: str, present: bool, install: str) -> None:
    if present:
        return
    message = f"{name} is missing ({install})"
    if os.environ.get("CI"):
        pytest.fail(f"the export tests need {name} in CI: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def oscap() -> str:
    """The OVAL validator."""
    _tool("oscap", shutil.which("oscap") is not None, "apt-get install openscap-scanner")
    return "oscap"


@pytest.fixture(scope="session")
def csaf() -> list[str]:
    """The CSAF validator, run by this interpreter (its venv need not be on PATH)."""
    _tool("csaf", importlib.util.find_spec("csaf") is not None, "pip install -e '.[test]'")
    return [sys.executable, "-m", "csaf"]


def oval_valid(oscap: str, document: bytes, tmp_path: Path) -> None:
    path = tmp_path / "oval.xml"
    path.write_bytes(document)
    run = subprocess.run([oscap, "oval", "validate", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr + document.decode()[:4000]


def csaf_valid(csaf: list[str], document: bytes, tmp_path: Path) -> None:
    path = tmp_path / "csaf.json"
    path.write_bytes(document)
    command = [*csaf, "validate", "--spec-version", "v20", "--no-network", str(path)]
    run = subprocess.run(command, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Overall: PASS" in run.stdout


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()


# CSAF


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_csaf_of_the_seed_article_passes_the_validator(client, csaf, tmp_path, locale):
    response = client.get(f"{KB}/csaf?locale={locale}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Content-Language"] == locale
    csaf_valid(csaf, response.data, tmp_path)
    document = response.get_json()["document"]
    assert document["category"] == "csaf_informational_advisory"
    assert document["csaf_version"] == "2.0"
    assert document["lang"] == locale
    # Only a translation names the language it was translated from.
    assert document.get("source_lang") == (None if locale == "ja" else "ja")
    tracking = document["tracking"]
    assert tracking["id"] == "KB885348"
    assert tracking["version"] == "1"
    assert tracking["revision_history"] == [
        {
            "date": "2006-12-20T02:56:00Z",
            "legacy_version": "2.2",
            "number": "1",
            "summary": "Imported from the original article",
        }
    ]
    notes = {note["category"]: note for note in document["notes"]}
    title = "はじめに" if locale == "ja" else "Introduction"
    assert notes["summary"]["title"] == title
    conditions = notes["general"]["text"]
    assert "behind_nat" in conditions and "vpn_server" in conditions
    urls = {ref["url"]: ref["category"] for ref in document["references"]}
    assert urls["http://localhost/kb/885407"] == "external"
    assert urls["http://localhost/api/v1/articles/885348/csaf"] == "self"
    products = response.get_json()["product_tree"]["full_product_names"]
    cpes = {p["product_identification_helper"]["cpe"] for p in products}
    assert cpes == {
        f"cpe:2.3:o:microsoft:windows_server_2003:*:*:{edition}:*:*:*:x86:*"
        for edition in ("enterprise", "standard")
    }


def test_csaf_has_one_history_entry_per_revision(client, app, csaf, tmp_path):
    editor = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    created = client.post("/api/v1/articles", json=NEW_ARTICLE, headers=editor)
    assert created.status_code == 201, created.get_data(as_text=True)
    path = "/api/v1/articles/900001"
    rules = {
        "any": [{"all": [{"product": "windows_xp"}, {"service_pack": [2, 3]}]}],
        "resolved_by": {"fact": "installed_updates", "contains": "KB885407"},
    }
    etag = client.get(f"{path}?locale=ja").headers["ETag"]
    edited = client.put(
        f"{path}/rules",
        json={"rules": rules, "examples": [], "summary": "Rules for SP2 and SP3"},
        headers={**editor, "If-Match": etag},
    )
    assert edited.status_code == 200, edited.get_data(as_text=True)
    response = client.get(f"{path}/csaf?locale=en")
    csaf_valid(csaf, response.data, tmp_path)
    tracking = response.get_json()["document"]["tracking"]
    history = tracking["revision_history"]
    assert [(item["number"], item["legacy_version"]) for item in history] == [
        ("1", "1.0"),
        ("2", "1.1"),
    ]
    assert history[1]["summary"] == "Rules for SP2 and SP3"
    assert tracking["version"] == "2"
    # No English text: the advisory is in the source language.
    assert response.get_json()["document"]["lang"] == "ja"


def test_unknown_articles_are_404_problems(client):
    for suffix in ("csaf", "oval"):
        for kb in ("1", "KB999999", "not-a-kb"):
            _problem(client.get(f"/api/v1/articles/{kb}/{suffix}"), 404)


# OVAL


def _definition(document: bytes) -> etree._Element:
    root = etree.fromstring(document)
    (definition,) = root.iter(f"{OVAL}definition")
    return definition


def _tests(document: bytes) -> dict[str, etree._Element]:
    root = etree.fromstring(document)
    return {element.get("id"): element for element in root.find(f"{OVAL}tests")}


def test_oval_of_the_seed_article_mirrors_its_rules(client, oscap, tmp_path):
    response = client.get(f"{KB}/oval")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    oval_valid(oscap, response.data, tmp_path)
    definition = _definition(response.data)
    assert definition.get("id") == "oval:kbservice:def:885348"
    top = definition.find(f"{OVAL}criteria")
    assert top.get("operator") == "AND"
    platform, nat, role = list(top)
    assert platform.get("operator") == "AND"
    assert platform.get("comment").startswith("Windows Server 2003, Standard or Enterprise")
    tests = _tests(response.data)
    nat_test, role_test = tests[nat.get("test_ref")], tests[role.get("test_ref")]
    # Facts no host shows become external variables.
    assert nat_test.tag == f"{IND}variable_test" and role_test.tag == f"{IND}variable_test"
    assert role_test.get("check") == "at least one"
    kinds = [tests[c.get("test_ref")].tag for c in platform.iter(f"{OVAL}criterion")]
    assert kinds == [f"{WIN}registry_test"] * 5  # product, edition, arch, SP ≥ 0, SP ≤ 2
    variables = etree.fromstring(response.data).find(f"{OVAL}variables")
    assert sorted(v.get("comment") for v in variables) == [
        "kbservice fact behind_nat (boolean)",
        "kbservice fact roles (string)",
    ]
    text = response.data.decode()
    assert "PROCESSOR_ARCHITECTURE" in text and "CSDVersion" in text and "ProductName" in text


def test_oval_negates_and_observes_installed_updates(client, app, oscap, tmp_path):
    editor = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    rules = {
        "all": [
            {"product": "windows_server_2003"},
            {"not": {"any": [{"edition": "web"}, {"not": {"architecture": ["x64", "ia64"]}}]}},
        ],
        "resolved_by": {"fact": "installed_updates", "contains": "kb885407"},
    }
    etag = client.get(f"{KB}?locale=ja").headers["ETag"]
    edited = client.put(
        f"{KB}/rules", json={"rules": rules, "examples": []}, headers={**editor, "If-Match": etag}
    )
    assert edited.status_code == 200, edited.get_data(as_text=True)
    response = client.get(f"{KB}/oval")
    oval_valid(oscap, response.data, tmp_path)
    definition = _definition(response.data)
    assert definition.get("version") == "2"
    main, resolved = list(definition.find(f"{OVAL}criteria"))
    product, negated = list(main)
    assert product.get("negate") is None
    assert negated.get("operator") == "OR" and negated.get("negate") == "true"
    web, architecture = list(negated)
    assert web.get("negate") is None and architecture.get("negate") == "true"
    assert resolved.get("negate") == "true"
    wmi = _tests(response.data)[resolved.get("test_ref")]
    assert wmi.tag == f"{WIN}wmi_test"
    assert "HotFixID = 'KB885407'" in response.data.decode()


def test_oval_feed_holds_every_current_article(client, app, oscap, tmp_path):
    editor = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    created = client.post("/api/v1/articles", json=NEW_ARTICLE, headers=editor)
    assert created.status_code == 201
    streamed = client.get("/api/v1/exports/oval", buffered=False)
    assert streamed.is_streamed  # built while it is sent, not held whole
    streamed.close()
    response = client.get("/api/v1/exports/oval")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    oval_valid(oscap, response.data, tmp_path)
    root = etree.fromstring(response.data)
    ids = [d.get("id") for d in root.iter(f"{OVAL}definition")]
    assert ids == ["oval:kbservice:def:885348", "oval:kbservice:def:900001"]
    # Both articles test ProductName: the registry object is written once.
    objects = [o.get("id") for o in root.find(f"{OVAL}objects")]
    assert len(objects) == len(set(objects))
    only_xp = client.get("/api/v1/exports/oval?product=windows_xp")
    oval_valid(oscap, only_xp.data, tmp_path)
    root = etree.fromstring(only_xp.data)
    assert [d.get("id") for d in root.iter(f"{OVAL}definition")] == ["oval:kbservice:def:900001"]
    # OVAL has no empty document; a product the catalog lacks is a mistake.
    _problem(client.get("/api/v1/exports/oval?product=windows_2000_server"), 404)
    unknown = _problem(client.get("/api/v1/exports/oval?product=windows_95"), 422)
    assert "product" in unknown["errors"]
    _problem(client.get("/api/v1/exports/oval?product="), 422)


def test_export_settings_are_checked_at_start(make_app, seeded_url):
    for setting in ({"OVAL_NAMESPACE": "no spaces"}, {"CSAF_PUBLISHER_NAMESPACE": "relative"}):
        with pytest.raises(ConfigError):
            make_app({"DATABASE_URL": seeded_url, **setting})
    app = make_app(
        {
            "DATABASE_URL": seeded_url,
            "OVAL_NAMESPACE": "com.example.kb",
            "CSAF_PUBLISHER_NAME": "Example IT",
            "CSAF_PUBLISHER_NAMESPACE": "https://it.example/",
        }
    )
    client = app.test_client()
    assert _definition(client.get(f"{KB}/oval").data).get("id") == "oval:com.example.kb:def:885348"
    publisher = client.get(f"{KB}/csaf").get_json()["document"]["publisher"]
    assert publisher == {
        "category": "other",
        "name": "Example IT",
        "namespace": "https://it.example/",
    }


def test_exports_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert (
        "application/json"
        in paths["/api/v1/articles/{kb}/csaf"]["get"]["responses"]["200"]["content"]
    )
    for path in ("/api/v1/articles/{kb}/oval", "/api/v1/exports/oval"):
        assert "application/xml" in paths[path]["get"]["responses"]["200"]["content"]


def test_the_article_page_offers_the_downloads(client):
    html = client.get("/kb/885348").get_data(as_text=True)
    assert 'href="/api/v1/articles/885348/csaf?locale=ja"' in html
    assert 'href="/api/v1/articles/885348/oval?locale=ja"' in html


# Every valid rule document exports to a valid OVAL document.

ODD_TEXTS = st.sampled_from(["\x00", "<&>\"'", "]]>", "a\x1fb", "KB885407", "kb1", ""])
TEXTS = st.one_of(st.text(max_size=12), ODD_TEXTS)
IDS = st.one_of(
    st.sampled_from(["windows_server_2003", "windows_xp", "x86", "x64", "ia64", "enterprise"]),
    st.from_regex(r"[a-z0-9][a-z0-9_.\-]{0,8}", fullmatch=True),
)
VERSIONS = st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,4}){0,3}", fullmatch=True)
NUMBERS = st.one_of(
    st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False)
)
SCALARS = st.one_of(TEXTS, st.booleans(), NUMBERS)
PLATFORM = ["product", "edition", "architecture", "service_pack", "product_version"]
FACTS = st.one_of(
    st.sampled_from(["behind_nat", "roles", "installed_updates", "ip_addresses", *PLATFORM]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
)
NETWORKS = st.one_of(
    st.tuples(st.ip_addresses(v=4), st.integers(0, 32)),
    st.tuples(st.ip_addresses(v=6), st.integers(0, 128)),
).map(lambda pair: str(ipaddress.ip_network(f"{pair[0]}/{pair[1]}", strict=False)))


def _one_or_many(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.lists(values, min_size=1, max_size=3))


def _ranges(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        _one_or_many(values),
        st.fixed_dictionaries({}, optional={"min": values, "max": values}).filter(bool),
    )


PLATFORM_LEAVES = st.one_of(
    *(st.builds(lambda v, k=key: {k: v}, _one_or_many(IDS)) for key in PLATFORM[:3]),
    st.builds(lambda v: {"service_pack": v}, _ranges(st.integers(0, 5))),
    st.builds(lambda v: {"product_version": v}, _ranges(VERSIONS)),
)
OPERANDS = {
    "equals": SCALARS,
    "in": st.lists(SCALARS, min_size=1, max_size=3),
    "contains": SCALARS,
    "exists": st.booleans(),
    **dict.fromkeys(("lt", "le", "gt", "ge"), NUMBERS),
    **dict.fromkeys(
        ("version_eq", "version_lt", "version_le", "version_gt", "version_ge"), VERSIONS
    ),
    "in_cidr": _one_or_many(NETWORKS),
}
FACT_LEAVES = st.one_of(
    *(
        st.builds(lambda fact, value, t=test: {"fact": fact, t: value}, FACTS, operand)
        for test, operand in OPERANDS.items()
    )
)
LABELS = st.fixed_dictionaries({}, optional={"en": TEXTS, "ja": TEXTS}).filter(bool)


def _labelled(rule: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    return st.tuples(rule, st.one_of(st.none(), LABELS)).map(
        lambda pair: {**pair[0], "label": pair[1]} if pair[1] else pair[0]
    )


RULES = st.recursive(
    _labelled(st.one_of(PLATFORM_LEAVES, FACT_LEAVES)),
    lambda children: _labelled(
        st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda items: {"all": items}),
            st.lists(children, min_size=1, max_size=3).map(lambda items: {"any": items}),
            children.map(lambda child: {"not": child}),
        )
    ),
    max_leaves=8,
)
DOCUMENTS = st.tuples(RULES, st.one_of(st.none(), RULES)).map(
    lambda pair: (
        {**pair[0], "resolved_by": pair[1]} if pair[1] and "resolved_by" not in pair[0] else pair[0]
    )
)
CATALOG = load_catalog_file(SEEDS / "products.yaml")


def _valid(document: dict) -> bool:
    try:
        validate_rules(document)
    except RuleValidationError:
        return False
    return True


def _snapshot(kb: int, rules: dict) -> ArticleSnapshot:
    created = dt.datetime(2006, 12, 20, tzinfo=dt.UTC)
    text = LocalizedText("en", f"Article {kb}", (Section(None, "Body <&>"),), 1, 1)
    return ArticleSnapshot(
        article_id=kb,
        kb=str(kb),
        source_locale="en",
        revision=RevisionInfo(1, "1.0", created, "author", "created"),
        revision_id=kb,
        keywords=(),
        related=(),
        applies_to=({"product": "windows_xp"},),
        rules=rules,
        texts={"en": text},
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(DOCUMENTS, min_size=1, max_size=4))
def test_every_valid_rule_document_exports_to_valid_oval(oscap, tmp_path_factory, documents):
    documents = [json.loads(json.dumps(doc)) for doc in documents]
    assume(all(_valid(doc) for doc in documents))
    snapshots = [_snapshot(kb, doc) for kb, doc in enumerate(documents, start=1)]
    feed = b"".join(
        oval_feed(
            snapshots, CATALOG, "en", "kbservice", Links("http://kb.test/"), dt.datetime.now(dt.UTC)
        )
    )
    oval_valid(oscap, feed, tmp_path_factory.mktemp("oval"))
    root = etree.fromstring(feed)
    assert len(list(root.iter(f"{OVAL}definition"))) == len(documents)
