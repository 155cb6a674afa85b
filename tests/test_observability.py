"""Request ids, structured request logs without secrets, and Prometheus metrics."""

from __future__ import annotations

import json
import logging

from .conftest import make_token


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
    text = client.get("/metrics").get_data(as_text=True)
    assert 'kb_verdicts_total{verdict="unknown"}' in text
    assert (
        'kb_http_requests_total{endpoint="applicability.check_one",method="POST",status="200"}'
        in text
    )
    assert "kb_http_request_duration_seconds_bucket" in text
