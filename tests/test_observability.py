"""Request ids, structured request logs without secrets, and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import re

from kbservice.storage.db import make_null_pool_engine

from .conftest import make_token, migrated_and_seeded
from .flask_requests import scrape
from .servers import call, running_server


def test_request_id_is_echoed_or_generated(client):
    given = client.get("/api/v1/health", headers={"X-Request-ID": "helpdesk-42"})
    assert given.headers["X-Request-ID"] == "helpdesk-42"
    generated = client.get("/api/v1/health", headers={"X-Request-ID": "bad id <script>"})
    assert len(generated.headers["X-Request-ID"]) == 32


def test_request_log_is_structured_and_never_holds_the_token(client, app, caplog):
    token = make_token(app, "editor")
    with caplog.at_level(logging.INFO, logger="kbservice.requests"):
        client.get(
            "/api/v1/articles/885348/drafts",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "r-1"},
        )
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "kbservice.requests"]
    (line,) = [entry for entry in lines if entry["request_id"] == "r-1"]
    assert line["status"] == 200
    assert line["endpoint"] == "drafts.list_for_article"
    assert line["user"].startswith("editor")
    assert token not in caplog.text
    assert token.split("_")[-1] not in caplog.text


def test_metrics_count_requests_and_verdicts(client):
    system = {"product": "windows_server_2003", "edition": "enterprise", "architecture": "x86"}
    client.post("/api/v1/applicability", json={"system": system, "articles": ["885348"]})
    text = scrape(client)
    assert 'kb_verdicts_total{verdict="unknown"}' in text
    assert (
        'kb_http_requests_total{endpoint="applicability.check_one",method="POST",status="200"}'
        in text
    )
    assert "kb_http_request_duration_seconds_bucket" in text


# A database that refuses the write recording a token's use: a database error that is
# not a connection problem, which kbservice logs (in plain text) with the request's path.
_REFUSE_TOKEN_USE = {
    "sqlite": [
        "CREATE TRIGGER refuse_token_use BEFORE UPDATE ON api_tokens "
        "BEGIN SELECT RAISE(ABORT, 'api_tokens is read-only'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_token_use() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'api_tokens is read-only'; END $$",
        "CREATE TRIGGER refuse_token_use BEFORE UPDATE ON api_tokens "
        "FOR EACH ROW EXECUTE FUNCTION refuse_token_use()",
    ],
}
_LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")


def test_client_input_cannot_forge_log_lines(fresh_url, tmp_path, make_app):
    url = migrated_and_seeded(fresh_url)
    token = make_token(make_app({"DATABASE_URL": url}), "editor")
    engine = make_null_pool_engine(url)
    with engine.begin() as connection:
        for statement in _REFUSE_TOKEN_USE[engine.dialect.name]:
            connection.exec_driver_sql(statement)
    engine.dispose()
    log = tmp_path / "server.log"
    paths = {
        '/api/v1/articles/1%0a{"forged":1}/drafts': '/api/v1/articles/1\n{"forged":1}/drafts',
        "/api/v1/articles/x%0d%0aINFO%20forged/drafts": "/api/v1/articles/x\r\nINFO forged/drafts",
        "/x%0d%0aINFO%20forged": "/x\r\nINFO forged",
        "/api/v1/articles/2%1b[2J%7fforged/drafts": "/api/v1/articles/2\x1b[2J\x7fforged/drafts",
        # Refused by no check on the target (only C0 controls and DEL are): it reaches
        # the database error, whose plain-text log line quotes the path.
        "/api/v1/articles/2%E2%80%A8forged%C2%85/drafts": None,
    }
    with running_server(url, 1, log, log_level="INFO") as base:
        root = base.removesuffix("/api/v1")
        for path in paths:
            status, _, _ = call(f"{root}{path}", headers={"Authorization": f"Bearer {token}"})
            # 400: a control character in the target (api/request_target.py).
            assert status in (400, 500)
    text = log.read_text()
    for character in "\r\x1b\x7f\x85\u2028":
        assert character not in text
    logged_paths = set()
    for line in text.splitlines():
        if "forged" not in line:
            continue
        # Every record holding client input is one line of its own, traceback included.
        assert _LOG_RECORD.match(line), line
        if " INFO kbservice.requests: " in line:
            logged_paths.add(json.loads(line.split(": ", 1)[1])["path"])
    assert {path for path in paths.values() if path} <= logged_paths
    assert (
        "ERROR kbservice.api.hardening: database error on GET "
        "/api/v1/articles/2\\u2028forged\\x85/drafts\\nTraceback (most recent call last):\\n"
    ) in text


def test_a_streamed_batch_is_logged_when_its_body_ends(client, caplog):
    """The request log and latency cover a batch answer written system by system."""
    # Each system without facts is `unknown` for the seed article: enough systems make
    # an answer of several 64 KiB chunks.
    systems = [{"id": str(number)} for number in range(300)]

    def batch_lines() -> list[dict]:
        lines = [
            json.loads(r.getMessage()) for r in caplog.records if r.name == "kbservice.requests"
        ]
        return [line for line in lines if line["request_id"] == "streamed-1"]

    with caplog.at_level(logging.INFO, logger="kbservice.requests"):
        response = client.post(
            "/api/v1/applicability/batch",
            json={"systems": systems},
            headers={"X-Request-ID": "streamed-1"},
            buffered=False,
        )
        assert "Content-Length" not in response.headers  # streamed
        assert batch_lines() == []  # not finished yet: only its head is out
        body = response.get_data()
        response.close()
    (line,) = batch_lines()
    assert line["status"] == 200
    assert line["endpoint"] == "applicability.check_batch"
    assert len(json.loads(body)["results"]) == 300
