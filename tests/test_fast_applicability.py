"""Plain single-system applicability requests are answered in front of Flask, byte for
byte as Flask answers them; everything else still goes through Flask."""

from __future__ import annotations

import json

import pytest

from .conftest import each_freshness_mode
from .flask_requests import FlaskRequests, comparable, requests_counted, scrape
from .systems import SERVER_2003_VPN

PATH = "/api/v1/applicability"
# behind_nat is derived from the private address.
SERVER_2003 = {**SERVER_2003_VPN, "ip_addresses": ["192.168.1.10"]}
# An Origin header sends a request through Flask; CORS is off in these tests, so it
# changes nothing else about the answer.
THROUGH_FLASK = {"Origin": "https://example.org"}
CPE = "cpe:2.3:o:microsoft:windows_server_2003:-:sp1:standard:*:*:*:x64:*"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    each_freshness_mode(metafunc)


def _post(client, flask, body, headers=None, **kwargs):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    kwargs.setdefault("content_type", "application/json")
    return flask.post(client, PATH, data=data, headers=headers or {}, **kwargs)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"system": SERVER_2003}, {}),
        ({"system": SERVER_2003, "locale": "en"}, {}),
        ({"system": SERVER_2003, "locale": "en-US"}, {}),
        ({"system": SERVER_2003, "locale": "fr"}, {"Accept-Language": "en"}),
        ({"system": SERVER_2003}, {"Accept-Language": "en;q=0.9, ja;q=0.5"}),
        # Missing facts: `unknown` verdicts with missing_facts.
        ({"system": {"product": "windows_server_2003"}}, {}),
        ({"system": {}}, {}),
        # A product the catalog does not know: a warning, no results.
        ({"system": {"product": "windows_3_11", "service_pack": 0}}, {}),
        # Derived facts (behind_nat from private addresses, facts from a CPE).
        ({"system": {"cpe": CPE, "ip_addresses": ["10.0.0.1", "203.0.113.7"]}}, {}),
        ({"system": {**SERVER_2003, "behind_nat": False, "custom_fact": 1.5}}, {}),
        ({"system": {**SERVER_2003, "installed_updates": ["KB885348", "kb123456"]}}, {}),
        # Parsed as the Flask path parses: an integer beyond 64 bits stays an integer.
        ({"system": {**SERVER_2003, "custom": 2**70}}, {}),
        # Duplicate keys: the last one wins on both paths.
        ('{"system": {"product": "windows_xp"}, "system": {"product": "windows_2000"}}', {}),
    ],
)
def test_plain_requests_are_answered_as_flask_answers_them(client, body, headers):
    flask = FlaskRequests(client.application)
    full = _post(client, flask, body, {**headers, **THROUGH_FLASK})
    fast = _post(client, flask, body, headers)
    assert full.status_code == 200, full.get_data(as_text=True)
    assert full.through_flask and not fast.through_flask
    assert comparable(fast) == comparable(full)


def test_a_rule_edit_reaches_the_fast_path_at_once(client, editor):
    flask = FlaskRequests(client.application)
    before = _post(client, flask, {"system": SERVER_2003}).get_json()
    assert "885348" in {result["kb"] for result in before["results"]}
    etag = client.get("/api/v1/articles/885348?locale=ja").headers["ETag"]
    rules = {"all": [{"product": "windows_xp"}]}
    response = client.put(
        "/api/v1/articles/885348/rules",
        json={"rules": rules, "examples": []},  # the seed's examples pin Server 2003
        headers={**editor, "If-Match": etag},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    after = _post(client, flask, {"system": SERVER_2003})
    assert not after.through_flask
    assert "885348" not in {result["kb"] for result in after.get_json()["results"]}


@pytest.mark.parametrize(
    ("body", "kwargs", "status", "field"),
    [
        # Valid, but more than the fast path handles.
        ({"system": SERVER_2003, "articles": ["885348"]}, {}, 200, None),
        ({"system": SERVER_2003, "explain": True}, {}, 200, None),
        ({"system": SERVER_2003}, {"query_string": "explain=1"}, 200, None),
        ({"system": SERVER_2003}, {"content_type": "application/json; charset=utf-8"}, 200, None),
        ({"system": {**SERVER_2003, **{f"note{i}": "x" * 1000 for i in range(70)}}}, {}, 200, None),
        # Invalid: Flask's problem responses, naming the field.
        ({"system": SERVER_2003, "locale": None}, {}, 422, "locale"),
        ({"system": SERVER_2003, "locale": "x" * 36}, {}, 422, "locale"),
        ({"system": SERVER_2003, "unknown": 1}, {}, 422, "unknown"),
        ({"system": "windows"}, {}, 422, "system"),
        ({"system": {**SERVER_2003, "service_pack": "two"}}, {}, 422, "system.service_pack"),
        ({"system": {**SERVER_2003, "roles": "vpn_server"}}, {}, 422, "system.roles"),
        ({"system": {**SERVER_2003, "behind_nat": None}}, {}, 422, "system.behind_nat"),
        ({"system": {**SERVER_2003, "custom": {"nested": [1]}}}, {}, 422, "system.custom"),
        # Past the fact limits (facts.py), small or large bodies alike.
        ({"system": {**SERVER_2003, "note": "x" * 1025}}, {}, 422, "system.note"),
        ({"system": {**SERVER_2003, "note": "x" * 70_000}}, {}, 422, "system.note"),
        (
            {"system": {**SERVER_2003, "ip_addresses": ["10.0.0.1"] * 1001}},
            {},
            422,
            "system.ip_addresses",
        ),
        ([SERVER_2003], {}, 422, None),
        (b'{"system": {"service_pack": NaN}}', {}, 400, None),
        (b'{"system": ', {}, 400, None),
        (b'{"system": {"product": "\xff"}}', {}, 400, None),
        (b'{"system": {"product": "\\ud800"}}', {}, 400, None),
        ({"system": SERVER_2003}, {"content_type": "text/plain"}, 422, None),
    ],
)
def test_other_requests_are_answered_by_flask(client, body, kwargs, status, field):
    flask = FlaskRequests(client.application)
    response = _post(client, flask, body, **kwargs)
    assert response.through_flask
    assert response.status_code == status, response.get_data(as_text=True)
    if status != 200:
        assert response.headers["Content-Type"] == "application/problem+json"
    if field is not None:
        assert field in response.get_json()["errors"]


def test_fast_answers_are_counted_under_their_endpoint(client):
    flask = FlaskRequests(client.application)
    for _ in range(2):
        assert not _post(client, flask, {"system": SERVER_2003}).through_flask
    assert requests_counted(client, "applicability.check_one") >= 2
    assert 'kb_verdicts_total{verdict="applies"}' in scrape(client)
