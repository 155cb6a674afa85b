"""Caps on input whose cost grows with its size, over HTTP on SQLite and PostgreSQL alike.

Suggestions (words), rule documents (array operands, total size) and SYSTEM facts (list
items, string length): over a cap is a 422 problem naming the field, or, for the words of
a suggestion query, work that stops growing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from kbservice.http.context import get_database

from .conftest import make_token
from .test_web import edit_form, page, sign_in

KB = "/api/v1/articles/885348"
SUGGEST = "/api/v1/search/suggest"
SERVER_2003 = {
    "product": "windows_server_2003",
    "edition": "standard",
    "architecture": "x86",
    "service_pack": 1,
}


def _problem(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the application runs inside the block."""
    database = get_database(app)
    engines = {database.engine, database.read_engine or database.engine}
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def _suggested(client: FlaskClient, q: str) -> list[str]:
    response = client.get(SUGGEST, query_string={"q": q})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["kb"] for item in response.get_json()["items"]]


# --- suggestions


def test_suggestion_work_does_not_grow_with_the_number_of_words(app, client):
    short = "ipsec nat windows server "
    assert _suggested(client, short) == ["885348"]
    many = (short * 80)[:2000]
    with _statements(app) as few:
        assert _suggested(client, short) == ["885348"]
    with _statements(app) as seen:
        assert _suggested(client, many) == ["885348"]
    # One statement per word before (≈ 320 here); now as many as for four words.
    assert len(seen) <= len(few) + 1, seen


def test_suggestions_ignore_words_past_the_term_limit_as_the_search_does(app, client, editor):
    # Digits keep the words from being stemmed together: 32 distinct terms.
    words = [f"term{i:02d}" for i in range(32)]
    article = {
        "kb": "KB900001",
        "source_locale": "en",
        "title": " ".join(words),
        "sections": [{"heading": None, "body": "Body."}],
        "applies_to": [],
        "rules": None,
    }
    assert client.post("/api/v1/articles", json=article, headers=editor).status_code == 201
    query = " ".join([*words, "nowhere", "absent", "missing"]) + " "
    assert _suggested(client, query) == ["900001"]
    found = client.get("/api/v1/articles", query_string={"q": query}).get_json()["items"]
    assert [item["kb"] for item in found] == ["900001"]
    # Within the limit every word still counts.
    assert _suggested(client, " ".join([*words[:30], "nowhere"]) + " ") == []


def test_suggestions_with_many_distinct_words_stay_cheap(app, client):
    q = " ".join(f"w{i}" for i in range(600))[:2000]
    with _statements(app) as seen:
        assert _suggested(client, q) == []
    assert len(seen) <= 3, seen


# --- rule documents


def _cidrs(count: int) -> list[str]:
    return [f"10.{i >> 8 & 255}.{i & 255}.0/24" for i in range(count)]


def _rules_with(cidrs: list[str]) -> dict[str, Any]:
    return {"all": [{"product": "windows_server_2003"}, {"fact": "ip_addresses", "in_cidr": cidrs}]}


def _new_article(rules: dict[str, Any], kb: str = "KB900001") -> dict[str, Any]:
    return {
        "kb": kb,
        "source_locale": "en",
        "title": "Rules with many networks",
        "sections": [{"heading": None, "body": "Body."}],
        "applies_to": [{"product": "windows_server_2003"}],
        "rules": rules,
    }


def _revisions(client: FlaskClient) -> list[str]:
    return [item["number"] for item in client.get(f"{KB}/revisions").get_json()["items"]]


def _if_match(client: FlaskClient, editor: dict[str, str]) -> dict[str, str]:
    return {**editor, "If-Match": client.get(f"{KB}?locale=ja").headers["ETag"]}


def test_an_array_operand_over_the_limit_is_refused_wherever_rules_enter(client, editor):
    too_many = _rules_with(_cidrs(1001))
    path = "rules.all.1.in_cidr"
    created = _problem(client.post("/api/v1/articles", json=_new_article(too_many), headers=editor))
    assert list(created["errors"]) == [path] and "1000" in created["errors"][path][0]
    put = client.put(f"{KB}/rules", json={"rules": too_many}, headers=_if_match(client, editor))
    assert list(_problem(put)["errors"]) == [path]
    draft = client.put(f"{KB}/drafts/rules", json={"rules": too_many}, headers=editor)
    assert list(_problem(draft)["errors"]) == [path]
    assert client.get("/api/v1/articles/900001").status_code == 404
    assert _revisions(client) == ["2.2"]
    assert client.get(f"{KB}/drafts", headers=editor).get_json()["items"] == []
    # At the limit it is stored.
    at_limit = client.post(
        "/api/v1/articles", json=_new_article(_rules_with(_cidrs(1000))), headers=editor
    )
    assert at_limit.status_code == 201, at_limit.get_data(as_text=True)


def test_every_list_valued_operand_has_the_limit(client, editor):
    ids = [f"p{i}" for i in range(1001)]
    rules = {
        "any": [
            {"product": ids},
            {"edition": ids},
            {"architecture": ids},
            {"service_pack": list(range(1001))},
            {"product_version": [f"5.{i}" for i in range(1001)]},
            {"fact": "tier", "in": ids},
        ]
    }
    body = _problem(client.post("/api/v1/articles", json=_new_article(rules), headers=editor))
    assert sorted(body["errors"]) == [
        "rules.any.0.product",
        "rules.any.1.edition",
        "rules.any.2.architecture",
        "rules.any.3.service_pack",
        "rules.any.4.product_version",
        "rules.any.5.in",
    ]


def test_a_rule_document_over_the_size_limit_is_refused(client, editor):
    # 900 items (under the item limit) of 80 characters: about 74 KB of JSON.
    rules = {"fact": "note", "in": [f"{i:04d}" + "x" * 76 for i in range(900)]}
    body = _problem(client.post("/api/v1/articles", json=_new_article(rules), headers=editor))
    assert list(body["errors"]) == ["rules"] and "65536" in body["errors"]["rules"][0]
    put = client.put(f"{KB}/rules", json={"rules": rules}, headers=_if_match(client, editor))
    assert list(_problem(put)["errors"]) == ["rules"]
    draft = client.put(f"{KB}/drafts/rules", json={"rules": rules}, headers=editor)
    assert list(_problem(draft)["errors"]) == ["rules"]


def test_the_web_rules_form_has_the_same_limits(client, app):
    sign_in(client, app)
    path = "/kb/885348/edit/rules"
    form = edit_form(client, path)
    too_many = json.dumps(_rules_with(_cidrs(1001)))
    html = page(client.post(path, data={**form, "rules": too_many, "action": "publish"}), 422)
    assert "all.1.in_cidr" in html and "1000" in html
    large = json.dumps({"fact": "note", "in": ["x" * 80] * 900})
    html = page(client.post(path, data={**form, "rules": large, "action": "publish"}), 422)
    assert "65536" in html
    assert _revisions(client) == ["2.2"]


def test_rule_limits_are_settings_and_raising_them_stores_larger_documents(make_app, seeded_url):
    strict = make_app({"DATABASE_URL": seeded_url, "MAX_RULE_LIST_ITEMS": 3, "MAX_RULE_BYTES": 200})
    editor = {"Authorization": f"Bearer {make_token(strict, 'editor')}"}
    client = strict.test_client()
    # 4 networks: 135 bytes; 10 networks (the item limit set aside): 219 bytes.
    body = _problem(
        client.post("/api/v1/articles", json=_new_article(_rules_with(_cidrs(4))), headers=editor)
    )
    assert list(body["errors"]) == ["rules.all.1.in_cidr"] and "3" in str(body["errors"])
    large = {"any": [_rules_with(_cidrs(3)), _rules_with(_cidrs(3))]}
    body = _problem(client.post("/api/v1/articles", json=_new_article(large), headers=editor))
    assert list(body["errors"]) == ["rules"] and "200" in body["errors"]["rules"][0]
    assert (
        client.post(
            "/api/v1/articles", json=_new_article(_rules_with(_cidrs(3))), headers=editor
        ).status_code
        == 201
    )
    generous = make_app(
        {"DATABASE_URL": seeded_url, "MAX_RULE_NODES": 3000, "MAX_RULE_LIST_ITEMS": 3000}
    )
    client = generous.test_client()
    # Past the defaults (1000 nodes, 1000 items): stored, where a 500 used to follow.
    rules = {"any": [{"product": "windows_server_2003"}] * 1500}
    created = client.post("/api/v1/articles", json=_new_article(rules, "KB900002"), headers=editor)
    assert created.status_code == 201, created.get_data(as_text=True)
    created = client.post(
        "/api/v1/articles", json=_new_article(_rules_with(_cidrs(1500)), "KB900003"), headers=editor
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    assert (
        client.put(
            "/api/v1/articles/900003/rules",
            json={"rules": _rules_with(_cidrs(2000))},
            headers={**editor, "If-Match": created.headers["ETag"]},
        ).status_code
        == 200
    )


# --- SYSTEM facts


def _check(client: FlaskClient, system: dict[str, Any]) -> Any:
    return client.post("/api/v1/applicability", json={"system": system})


def test_a_list_fact_over_the_limit_is_a_422_naming_it(client):
    addresses = [f"10.0.{i >> 8 & 255}.{i & 255}" for i in range(1001)]
    for name, items in [
        ("ip_addresses", addresses),
        ("installed_updates", [f"KB{100000 + i}" for i in range(1001)]),
        ("roles", [f"role{i}" for i in range(1001)]),
        ("custom_list", list(range(1001))),
    ]:
        body = _problem(_check(client, {**SERVER_2003, name: items}))
        assert list(body["errors"]) == [f"system.{name}"], name
        assert "1000" in body["errors"][f"system.{name}"][0]
    answer = _check(client, {**SERVER_2003, "ip_addresses": addresses[:1000]})
    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_a_string_fact_over_the_limit_is_a_422_naming_it(client):
    long = "x" * 1025
    for name, value, path in [
        ("os_caption", "Microsoft Windows " + long, "system.os_caption"),
        ("cpe", long, "system.cpe"),
        ("note", long, "system.note"),
        ("roles", ["vpn_server", long], "system.roles.1"),
    ]:
        body = _problem(_check(client, {**SERVER_2003, name: value}))
        assert list(body["errors"]) == [path], name
    assert _check(client, {**SERVER_2003, "note": "x" * 1024}).status_code == 200


def test_too_many_facts_and_the_batch_and_link_forms_share_the_limits(client):
    many = {**SERVER_2003, **{f"fact_{i}": i for i in range(1000)}}
    assert list(_problem(_check(client, many))["errors"]) == ["system"]
    batch = client.post(
        "/api/v1/applicability/batch",
        json={
            "systems": [
                {"id": "big", **SERVER_2003, "ip_addresses": ["10.0.0.1"] * 1001},
                {"id": "fine", **SERVER_2003},
            ]
        },
    )
    assert batch.status_code == 200, batch.get_data(as_text=True)
    big, fine = batch.get_json()["results"]
    assert list(big["error"]["errors"]) == ["systems.0.ip_addresses"]
    assert "results" in fine
    addresses = ",".join(f"10.0.{i >> 8 & 255}.{i & 255}" for i in range(1001))
    link = client.get(
        f"{KB}/applicability", query_string={**SERVER_2003, "ip_addresses": addresses}
    )
    assert list(_problem(link)["errors"]) == ["ip_addresses"]
