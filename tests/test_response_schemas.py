"""Every JSON body the API answers matches the response schema its endpoint documents.

The OpenAPI document is generated from the marshmallow schemas each view declares; the
bodies come from the presenters. Here each body is loaded by the schema documented for
its endpoint and status, with unknown fields refused, so a presenter can neither add a
field the schema (and so the published spec) lacks nor drop or mistype a required one.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from marshmallow import RAISE, Schema

from .conftest import make_token


def documented_schema(app: Flask, method: str, path: str, status: int) -> Schema:
    """The schema the endpoint answering `method path` documents for `status`."""
    endpoint, _ = app.url_map.bind("localhost").match(path.split("?")[0], method)
    responses = app.view_functions[endpoint]._apidoc["response"]["responses"]
    documented = responses.get(status) or responses.get("default")
    if documented is None:
        raise AssertionError(f"{method} {path}: status {status} is not documented")
    schema = documented[0].get("schema")
    if schema is None:
        raise AssertionError(f"{method} {path}: status {status} documents no body schema")
    return schema


class Calls:
    """Sends requests and checks each JSON body against its documented schema."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self.checked: set[str] = set()

    def __call__(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.client.open(path, method=method, **kwargs)
        assert response.status_code == expect, (path, response.get_data(as_text=True))
        body = response.get_json()
        schema = documented_schema(self.app, method, path, expect)
        strict = type(schema)(many=schema.many, unknown=RAISE)
        strict.load(body)  # raises ValidationError naming the field
        self.checked.add(type(schema).__name__)
        return response


@pytest.fixture
def calls(app: Flask) -> Calls:
    return Calls(app)


def test_every_json_body_matches_its_documented_schema(app, calls):
    admin = {"Authorization": f"Bearer {make_token(app, 'admin')}"}
    calls("GET", "/api/v1/health", 200)
    calls("GET", "/api/v1/products", 200)
    article = calls("GET", "/api/v1/articles/885348?locale=en", 200)
    revisions = calls("GET", "/api/v1/articles/885348/revisions", 200).get_json()["items"]
    first = revisions[-1]["number"]
    calls("GET", f"/api/v1/articles/885348/revisions/{first}", 200)
    calls("GET", "/api/v1/articles/885348/rules", 200)
    calls("GET", "/api/v1/articles?q=NAT&locale=en", 200)
    calls("GET", "/api/v1/articles?product=windows_server_2003&locale=ja", 200)
    calls("GET", "/api/v1/search/suggest?q=%E3%83%8D%E3%83%83%E3%83%88", 200)
    system = {
        "product": "windows_server_2003",
        "edition": "enterprise",
        "architecture": "x86",
        "service_pack": 1,
        "roles": ["vpn_server"],
        "ip_addresses": ["192.168.1.10"],
    }
    calls("POST", "/api/v1/applicability", 200, json={"system": system, "explain": True})
    calls("POST", "/api/v1/applicability", 200, json={"system": {}, "articles": ["885348"]})
    calls(
        "POST",
        "/api/v1/applicability/batch",
        200,
        json={"systems": [{"id": "a", **system}, {"id": "b", "service_pack": -1}]},
    )
    calls("GET", "/api/v1/articles/885348/applicability?product=windows_xp&explain=1", 200)
    calls("GET", "/api/v1/articles/999999", 404)
    calls("POST", "/api/v1/applicability", 422, json={"system": {"service_pack": "x"}})

    # Writes: a draft, its publication, a direct edit; then history and audit.
    etag = article.headers["ETag"]
    draft = calls(
        "PUT",
        "/api/v1/articles/885348/drafts/metadata",
        201,
        json={"keywords": ["draft"]},
        headers=admin,
    ).get_json()
    calls("GET", "/api/v1/articles/885348/drafts", 200, headers=admin)
    calls("GET", "/api/v1/drafts", 200, headers=admin)
    calls("GET", f"/api/v1/drafts/{draft['id']}", 200, headers=admin)
    calls(
        "PUT",
        "/api/v1/articles/885348/metadata",
        200,
        json={"keywords": ["edited"]},
        headers={**admin, "If-Match": etag},
    )
    calls("GET", f"/api/v1/articles/885348/diff?from={first}&locale=en", 200)
    calls("GET", "/api/v1/translations/outdated", 200, headers=admin)
    calls("GET", "/api/v1/audit", 200, headers=admin)

    assert calls.checked >= {
        "HealthSchema",
        "ProductListSchema",
        "ArticleSchema",
        "RevisionListSchema",
        "RulesBodySchema",
        "ArticleListSchema",
        "SuggestionListSchema",
        "ApplicabilityResponseSchema",
        "ApplicabilityBatchResponseSchema",
        "ProblemSchema",
        "DraftSchema",
        "DraftListSchema",
        "DiffSchema",
        "OutdatedTranslationListSchema",
        "AuditListSchema",
    }
