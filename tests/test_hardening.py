"""Hostile input, security headers, CORS, and database outages."""

from __future__ import annotations

import pytest

from kbservice import create_app
from kbservice.http.context import get_database

from .pg import postgres_available, start_cluster, terminate_backends


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("[" * 100_000, "nested"),
        ('{"system": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),
        ('{"system": {"a": NaN}}', "NaN"),
        ('{"system": {"a": Infinity}}', "Infinity"),
        (b'{"system": "\xff"}', "Invalid JSON"),
        ("", "Invalid JSON"),
        # Python's parser accepts lone surrogate escapes; UTF-8 cannot carry them.
        ('{"system": {"roles": ["\\ud800"]}}', "surrogate"),
        ('{"system": {"\\uDFFF": 1}}', "surrogate"),
    ],
)
def test_hostile_json_is_a_400_problem(client, body, detail):
    response = client.post("/api/v1/applicability", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert detail in response.get_json()["detail"]


def test_paired_surrogate_escapes_are_one_character(client):
    body = '{"system": {"product": "windows_xp", "note": "\\ud83d\\ude00"}}'
    response = client.post("/api/v1/applicability", data=body, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["system"]["note"] == "\U0001f600"


def test_a_lone_surrogate_in_an_article_is_refused_and_nothing_stored(client, editor):
    body = (
        '{"kb": "KB900009", "source_locale": "en", "title": "Bad \\udc00 title",'
        ' "sections": [{"heading": null, "body": "Body."}],'
        ' "applies_to": [{"product": "windows_xp"}], "rules": {"product": "windows_xp"}}'
    )
    response = client.post(
        "/api/v1/articles", data=body, content_type="application/json", headers=editor
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "surrogate" in response.get_json()["detail"]
    assert client.get("/api/v1/articles/900009").status_code == 404


def test_json_depth_limit_is_configurable(client, app):
    app.config["MAX_JSON_DEPTH"] = 3
    nested = {"system": {"tags": [["x"]]}}
    response = client.post("/api/v1/applicability", json=nested)
    assert response.status_code == 400


def test_security_headers(client):
    response = client.get("/api/v1/articles/885348")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_is_off_by_default_and_configurable(seeded_url, make_app):
    closed = make_app({"DATABASE_URL": seeded_url}).test_client()
    response = closed.get("/api/v1/health", headers={"Origin": "https://helpdesk.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    app = make_app({"DATABASE_URL": seeded_url, "CORS_ORIGINS": ("https://helpdesk.example",)})
    opened = app.test_client()
    allowed = opened.get("/api/v1/health", headers={"Origin": "https://helpdesk.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://helpdesk.example"
    other = opened.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def _assert_unavailable(client):
    health = client.get("/api/v1/health")
    assert health.status_code == 503
    assert health.headers["Content-Type"] == "application/problem+json"
    article = client.get("/api/v1/articles/885348")
    assert article.status_code == 503
    assert article.headers["Content-Type"] == "application/problem+json"
    assert article.headers["Retry-After"]
    # A plain applicability request, which the fast path would answer (see
    # test_fast_applicability), gets the same answer through Flask.
    system = {"product": "windows_server_2003", "edition": "standard"}
    verdicts = client.post("/api/v1/applicability", json={"system": system})
    assert verdicts.status_code == 503
    assert verdicts.headers["Content-Type"] == "application/problem+json"


def test_sqlite_unreachable_then_recovers_without_restart(tmp_path, engine_name, make_app):
    if engine_name != "sqlite":
        pytest.skip("the SQLite variant")
    from .conftest import migrated_and_seeded

    folder = tmp_path / "not-yet"
    url = f"sqlite:///{folder / 'kb.sqlite3'}"
    client = make_app({"DATABASE_URL": url}).test_client()
    _assert_unavailable(client)
    folder.mkdir()
    migrated_and_seeded(url)
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/api/v1/articles/885348").status_code == 200


def test_postgresql_outage_is_503_then_recovers_without_restart(engine_name):
    if engine_name != "postgresql":
        pytest.skip("the PostgreSQL variant")
    if not postgres_available():
        pytest.skip("initdb/pg_ctl not on PATH")
    from .conftest import migrated_and_seeded

    cluster = start_cluster()
    try:
        url = migrated_and_seeded(cluster.url("postgres"))
        app = create_app({"DATABASE_URL": url})
        client = app.test_client()
        try:
            assert client.get("/api/v1/articles/885348").status_code == 200
            cluster.stop_server()
            _assert_unavailable(client)
            cluster.start_server()
            assert client.get("/api/v1/health").status_code == 200
            assert client.get("/api/v1/articles/885348").status_code == 200
        finally:
            get_database(app).dispose()
    finally:
        cluster.stop()


def test_reader_connections_closed_by_the_server_are_replaced(engine_name, client, seeded_url):
    """Each worker thread keeps a read connection; when the server closes it (restart,
    idle timeout), the next request reads on a new one instead of failing."""
    if engine_name != "postgresql":
        pytest.skip("the PostgreSQL variant")
    system = {"product": "windows_server_2003", "edition": "standard", "architecture": "x86"}
    body = {"system": system, "articles": ["885348"]}
    assert client.post("/api/v1/applicability", json=body).status_code == 200
    assert terminate_backends(seeded_url, "pid <> pg_backend_pid()") >= 1
    # First a plain request (answered in front of Flask), then one through Flask.
    assert client.post("/api/v1/applicability", json={"system": system}).status_code == 200
    assert client.post("/api/v1/applicability", json=body).status_code == 200
    assert client.get("/api/v1/articles/885348").status_code == 200
