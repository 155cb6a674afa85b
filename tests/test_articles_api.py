"""Reading articles over HTTP, exactly as the API contract describes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ORIGINAL = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "KB885348.ja.txt"
NOT_ARTICLE_TEXT = (
    "現在オフラインです",
    "フィードバック",
    "Windows Server 2003 のサポートは 2015 年 7 月 14 日で終了しています",
    "プロパティ",
    "文書番号:",
    "Microsoft Windows Server 2003, Enterprise Edition (32-bit x86), Microsoft",
    "kbhowto kbinfo KB885348",
)


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.get_json(force=True)
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


def test_article_in_japanese_matches_the_contract(client):
    response = client.get("/api/v1/articles/885348?locale=ja")
    assert response.status_code == 200
    body = response.get_json()
    assert body["kb"] == "885348"
    assert body["locale"] == "ja"
    assert body["source_locale"] == "ja"
    assert body["available_locales"] == ["en", "ja"]
    assert body["translation_outdated"] is False
    assert body["title"].startswith("ネットワーク アドレス変換器の背後にある Windows Server 2003")
    assert body["sections"][0]["heading"] == "はじめに"
    assert body["keywords"] == ["kbhowto", "kbinfo", "KB885348"]
    assert body["related"] == ["885407"]
    assert body["revision"] == {"number": "2.2", "created_at": "2006-12-20T02:56:00Z"}
    labels = {entry["label"] for entry in body["applies_to"]}
    assert "Microsoft Windows Server 2003, Enterprise Edition (32-bit x86)" in labels
    assert "Microsoft Windows Server 2003, Standard Edition (32-bit x86)" in labels
    assert {(e["product"], e["edition"], e["architecture"]) for e in body["applies_to"]} == {
        ("windows_server_2003", "enterprise", "x86"),
        ("windows_server_2003", "standard", "x86"),
    }
    eos = [n for n in body["notices"] if n["kind"] == "end_of_support"]
    assert eos and "2015 年 7 月 14 日" in eos[0]["text"]
    assert response.headers["Content-Language"] == "ja"
    assert "Accept-Language" in response.headers["Vary"]
    assert response.headers["Content-Type"].startswith("application/json")


def test_japanese_text_is_verbatim(client):
    if not ORIGINAL.exists():
        pytest.fail(f"the original article text is missing: {ORIGINAL}")
    body = client.get("/api/v1/articles/885348?locale=ja").get_json()
    served = "\n".join(
        [body["title"]] + [f"{s['heading'] or ''}\n{s['body']}" for s in body["sections"]]
    )
    checked = 0
    for raw in ORIGINAL.read_text(encoding="utf-8").splitlines():
        line = re.sub(r"^\s*(?:•\s*|\d+\.\s+)", "", raw).strip()
        if not line or any(line.startswith(skip) for skip in NOT_ARTICLE_TEXT):
            continue
        assert line in served, f"not served verbatim: {line!r}"
        checked += 1
    assert checked >= 20
    for chrome in ("現在オフラインです", "フィードバック"):
        assert chrome not in served


def test_english_translation_has_the_same_sections(client):
    ja = client.get("/api/v1/articles/885348?locale=ja").get_json()
    en = client.get("/api/v1/articles/885348?locale=en").get_json()
    assert en["locale"] == "en"
    assert len(en["sections"]) == len(ja["sections"])
    assert "IPSec NAT-T" in en["title"]
    assert en["revision"] == ja["revision"]
    assert en["notices"][0]["text"] == "Support for Windows Server 2003 ended on July 14, 2015."


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        ("?locale=en", None, "en"),
        ("?locale=ja-JP", "en", "ja"),
        ("?locale=EN-us", None, "en"),
        ("", "en-US,en;q=0.9,ja;q=0.5", "en"),
        ("", "fr, ja;q=0.4", "ja"),
        ("", "fr", "ja"),
        ("?locale=xx", None, "ja"),
        ("?locale=fr", "en", "en"),
        ("", "ja;q=0.2, en;q=0.8", "en"),
        ("", None, "ja"),
    ],
)
def test_locale_negotiation(client, query, header, expected):
    headers = {"Accept-Language": header} if header else {}
    response = client.get(f"/api/v1/articles/885348{query}", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["locale"] == expected
    assert response.headers["Content-Language"] == expected


def test_kb_prefix_is_accepted(client):
    assert client.get("/api/v1/articles/KB885348").get_json()["kb"] == "885348"
    assert client.get("/api/v1/articles/kb885348").status_code == 200


def test_etag_and_conditional_get(client):
    first = client.get("/api/v1/articles/885348?locale=ja")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = client.get("/api/v1/articles/885348?locale=ja", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert again.get_data() == b""
    english = client.get("/api/v1/articles/885348?locale=en", headers={"If-None-Match": etag})
    assert english.status_code == 200
    assert english.headers["ETag"] != etag
    stale = client.get("/api/v1/articles/885348?locale=ja", headers={"If-None-Match": '"x"'})
    assert stale.status_code == 200


@pytest.mark.parametrize("kb", ["999999", "KB1", "not-a-kb", "885348x"])
def test_unknown_article_is_a_404_problem(client, kb):
    body = _problem(client.get(f"/api/v1/articles/{kb}"), 404)
    assert "KB" in body["detail"]


def test_revisions_list_and_snapshot(client):
    listing = client.get("/api/v1/articles/885348/revisions")
    assert listing.status_code == 200
    items = listing.get_json()["items"]
    assert items[0]["number"] == "2.2"
    assert items[0]["created_at"] == "2006-12-20T02:56:00Z"
    assert {"number", "created_at", "author", "summary"} <= items[0].keys()
    snapshot = client.get("/api/v1/articles/885348/revisions/2.2?locale=en")
    assert snapshot.status_code == 200
    current = client.get("/api/v1/articles/885348?locale=en").get_json()
    assert snapshot.get_json() == current
    _problem(client.get("/api/v1/articles/885348/revisions/9.9"), 404)
    _problem(client.get("/api/v1/articles/1/revisions"), 404)


def test_products_catalog(client):
    response = client.get("/api/v1/products")
    assert response.status_code == 200
    items = {item["id"]: item for item in response.get_json()["items"]}
    assert {"windows_server_2003", "windows_xp", "windows_2000_server"} <= items.keys()
    server = items["windows_server_2003"]
    assert server["end_of_support"] == "2015-07-14"
    assert {"standard", "enterprise"} <= set(server["editions"])
    assert server["architectures"] == ["x86", "x64", "ia64"]
    assert server["service_packs"] == [0, 1, 2]
    assert server["names"]["en"] and server["names"]["ja"]
    support = {sp["number"]: sp["end_of_support"] for sp in server["service_pack_support"]}
    assert support == {0: "2007-04-10", 1: "2009-04-14", 2: "2015-07-14"}
    xp = items["windows_xp"]
    assert xp["end_of_support"] == "2014-04-08"
    assert {sp["number"]: sp["end_of_support"] for sp in xp["service_pack_support"]}[2] == (
        "2010-07-13"
    )


def test_health(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_openapi_document_and_offline_docs_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/articles/{kb}",
        "/api/v1/articles",
        "/api/v1/articles/{kb}/revisions",
        "/api/v1/articles/{kb}/revisions/{number}",
        "/api/v1/products",
        "/api/v1/health",
    ):
        assert path in spec["paths"], path
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cdn" not in html.lower() and "https://" not in html
    for asset in re.findall(r'(?:src|href)="([^"]+)"', html):
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()


def _walk(value):
    yield value
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        yield from _walk(child)


def test_openapi_documents_every_error_as_problem_details(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    responses = spec["components"]["responses"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            documented = operation["responses"]
            assert "default" not in documented
            assert {"503"} <= documented.keys(), (method, path)
            for status, response in documented.items():
                response = (
                    responses[response["$ref"].rsplit("/", 1)[1]]
                    if "$ref" in response
                    else response
                )
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (path, status)
    secured = spec["paths"]["/api/v1/articles/{kb}/rules"]["put"]
    assert {"401", "403", "404", "412", "422", "428"} <= secured["responses"].keys()
    assert [p["name"] for p in secured["parameters"]] == ["If-Match"]


def test_openapi_patterns_are_json_schema_regexes(client):
    # `\A…\Z` (Python only) read as literal "A…Z" in JSON Schema; `\d` differs too.
    spec = client.get("/api/v1/openapi.json").get_json()
    patterns = [
        node["pattern"] for node in _walk(spec) if isinstance(node, dict) and "pattern" in node
    ]
    assert patterns
    for pattern in patterns:
        assert not re.search(r"\\[AZzd]", pattern), pattern
    products = spec["paths"]["/api/v1/articles"]["get"]["parameters"]
    (product,) = [p for p in products if p["name"] == "product"]
    assert re.match(product["schema"]["pattern"], "windows_xp")


def test_errors_are_problem_details(client):
    _problem(client.get("/api/v1/no-such-thing"), 404)
    body = _problem(client.delete("/api/v1/health"), 405)
    assert body["title"] == "Method Not Allowed"
    body = _problem(client.get("/api/v1/articles?per_page=0"), 422)
    assert "per_page" in body["errors"]
    body = _problem(client.get("/api/v1/articles?page=abc"), 422)
    assert "page" in body["errors"]


def test_oversized_body_is_413(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/api/v1/articles", data=b"x" * 4096, content_type="application/json")
    _problem(response, 413)


def test_article_list_and_filters(client):
    body = client.get("/api/v1/articles").get_json()
    assert body["total"] >= 1
    assert any(item["kb"] == "885348" for item in body["items"])
    item = next(i for i in body["items"] if i["kb"] == "885348")
    assert {"kb", "locale", "title", "revision"} <= item.keys()
    matching = client.get(
        "/api/v1/articles?product=windows_server_2003&edition=standard&architecture=x86"
    ).get_json()
    assert [i["kb"] for i in matching["items"]] == ["885348"]
    other = client.get("/api/v1/articles?product=windows_xp").get_json()
    assert other == {"items": [], "total": 0, "total_relation": "eq", "page": 1, "per_page": 20}
    x64 = client.get("/api/v1/articles?product=windows_server_2003&architecture=x64").get_json()
    assert x64["total"] == 0


def test_page_size_limit_is_configurable(client, app):
    assert client.get("/api/v1/articles?per_page=100").status_code == 200
    app.config["MAX_PER_PAGE"] = 10
    response = client.get("/api/v1/articles?per_page=11")
    assert response.status_code == 422
    assert "per_page" in response.get_json()["errors"]
