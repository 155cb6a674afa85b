"""/metrics: label values clients cannot multiply, who may read it, and on which listener."""

from __future__ import annotations

import re
import secrets
import urllib.request

import pytest
from click.testing import CliRunner

from kbservice.cli import main

from .conftest import make_token, migrated_and_seeded
from .flask_requests import scrape
from .servers import call, free_port, running_server

_SAMPLE = re.compile(r"^(kb_http_\w+)\{([^}]*)\} ")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}


def _label_values(text: str) -> dict[str, set[str]]:
    """Every value each label of the kb_http_* families has in a scrape."""
    values: dict[str, set[str]] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            for name, value in _LABEL.findall(match.group(2)):
                if name != "le":  # histogram buckets: fixed by the code
                    values.setdefault(name, set()).add(value)
    return values


def _invented_requests(client, count: int) -> None:
    """`count` requests with made-up methods to made-up and real paths."""
    for _ in range(count):
        word = secrets.token_hex(4)
        method = f"X{word.upper()}"
        for path in (f"/{word}", f"/api/v1/articles/{word}", f"/api/v1/{word}/x", "/"):
            client.open(path, method=method)
        client.get(f"/api/v1/{word}")


def test_client_chosen_methods_and_paths_add_no_label_values(client):
    _invented_requests(client, 3)
    scrape(client)  # a scrape is counted too
    before = _label_values(scrape(client))
    _invented_requests(client, 200)
    after = _label_values(scrape(client))
    assert after == before
    assert "other" in after["method"]
    assert after["method"] <= KNOWN_METHODS | {"other"}
    assert "unmatched" in after["endpoint"]


def test_metrics_need_a_valid_token_by_default(client, app):
    for headers in ({}, {"Authorization": "Bearer kb_nope_nope"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "kb_http_requests_total" not in response.get_data(as_text=True)
    reader = make_token(app, "reader")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {reader}"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "kb_http_requests_total" in response.get_data(as_text=True)


def test_metrics_can_be_public_or_off(seeded_url, make_app):
    public = make_app({"DATABASE_URL": seeded_url, "METRICS": "public"}).test_client()
    response = public.get("/metrics")
    assert response.status_code == 200
    assert "kb_http_requests_total" in response.get_data(as_text=True)

    off = make_app({"DATABASE_URL": seeded_url, "METRICS": "off"}).test_client()
    response = off.get("/metrics")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"KB_METRICS": "open"}, "KB_METRICS must be one of token, public, off"),
        ({"KB_METRICS_BIND": "localhost:9100"}, "KB_METRICS_BIND must be IP:port"),
        ({"KB_METRICS_BIND": "127.0.0.1:99999"}, "KB_METRICS_BIND must be IP:port"),
        ({"KB_METRICS_BIND": "127.0.0.1"}, "KB_METRICS_BIND must be IP:port"),
        ({"KB_METRICS_BIND": "::1:9100"}, "KB_METRICS_BIND must be IP:port"),
        (
            {"KB_METRICS": "off", "KB_METRICS_BIND": "127.0.0.1:9100"},
            "KB_METRICS_BIND has nothing to serve while KB_METRICS=off",
        ),
    ],
)
def test_bad_metrics_settings_are_named_on_the_command_line(seeded_url, settings, message):
    result = CliRunner(env={"KB_DATABASE_URL": seeded_url, **settings}).invoke(
        main, ["db", "check"]
    )
    assert result.exit_code != 0
    assert message in result.output


def test_a_metrics_listener_of_its_own_answers_only_metrics(fresh_url, tmp_path, make_app):
    url = migrated_and_seeded(fresh_url)
    reader = {"Authorization": f"Bearer {make_token(make_app({'DATABASE_URL': url}), 'reader')}"}
    port = free_port()
    settings = {"KB_METRICS_BIND": f"127.0.0.1:{port}"}
    with running_server(url, 1, tmp_path / "server.log", settings=settings) as base:
        root = base.removesuffix("/api/v1")
        listener = f"http://127.0.0.1:{port}"
        assert call(f"{base}/articles/885348")[0] == 200
        # The API's listener does not answer /metrics, whatever the Host header says.
        for headers in (reader, {**reader, "Host": f"127.0.0.1:{port}"}):
            status, response_headers, _ = call(f"{root}/metrics", headers=headers)
            assert status == 404
            assert response_headers["Content-Type"] == "application/problem+json"
        # The metrics listener answers nothing else, not even the fast paths' articles.
        for path in ("/api/v1/health", "/api/v1/articles/885348", "/"):
            assert call(f"{listener}{path}")[0] == 404
        status, response_headers, _ = call(f"{listener}/metrics")
        assert status == 401
        assert response_headers["WWW-Authenticate"].startswith("Bearer")
        request = urllib.request.Request(f"{listener}/metrics", headers=reader)
        with urllib.request.urlopen(request, timeout=20) as response:
            text = response.read().decode()
        assert 'kb_http_requests_total{endpoint="articles.get_article",method="GET"' in text
