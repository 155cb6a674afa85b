"""As of a point in time: articles and applicability judged by the revisions current then."""

from __future__ import annotations

import datetime as dt
import time

import pytest

KB = "/api/v1/articles/885348"
XP_SP1 = {
    "product": "windows_xp",
    "edition": "professional",
    "architecture": "x86",
    "service_pack": 1,
}


def _now() -> str:
    """An instant strictly between two publications."""
    time.sleep(0.02)
    moment = dt.datetime.now(dt.UTC).isoformat()
    time.sleep(0.02)
    return moment


def _create(client, editor, kb: str, rules: dict) -> None:
    body = {
        "kb": kb,
        "source_locale": "en",
        "title": f"First title of {kb}",
        "sections": [{"heading": None, "body": "Body."}],
        "applies_to": [{"product": "windows_xp"}],
        "rules": rules,
    }
    assert client.post("/api/v1/articles", json=body, headers=editor).status_code == 201


def _put_rules(client, editor, kb: str, rules: dict) -> None:
    path = f"/api/v1/articles/{kb}"
    etag = client.get(path).headers["ETag"]
    response = client.put(
        f"{path}/rules", json={"rules": rules, "examples": []}, headers={**editor, "If-Match": etag}
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def _retitle(client, editor, kb: str, title: str) -> None:
    path = f"/api/v1/articles/{kb}"
    etag = client.get(path).headers["ETag"]
    body = {"title": title, "sections": [{"heading": None, "body": "Body."}]}
    response = client.put(
        f"{path}/translations/en", json=body, headers={**editor, "If-Match": etag}
    )
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.fixture
def history(client, editor) -> dict[str, str]:
    """KB900401 created, then retitled and its rules narrowed; KB900402 created last.

    Three articles that do not change keep the as-of indexes on their incremental path
    (fewer than half of the articles changed since; applicability/asof.py).
    """
    for kb in ("900411", "900412", "900413"):
        _create(client, editor, kb, {"product": "windows_server_2003"})
    before = _now()
    _create(client, editor, "900401", {"product": "windows_xp"})
    first = _now()
    _retitle(client, editor, "900401", "Second title")
    _put_rules(
        client, editor, "900401", {"all": [{"product": "windows_xp"}, {"service_pack": {"min": 2}}]}
    )
    second = _now()
    _create(client, editor, "900402", {"product": "windows_xp"})
    return {"before": before, "first": first, "second": second}


def test_an_article_as_it_was(client, history):
    path = "/api/v1/articles/900401"
    then = client.get(path, query_string={"as_of": history["first"]})
    assert then.status_code == 200
    assert then.get_json()["title"] == "First title of 900401"
    assert then.get_json()["revision"]["number"] == "1.0"
    later = client.get(path, query_string={"as_of": history["second"]}).get_json()
    assert (later["title"], later["revision"]["number"]) == ("Second title", "1.2")
    assert client.get(path).get_json()["revision"]["number"] == "1.2"
    assert then.headers["ETag"] != client.get(path).headers["ETag"]
    missing = client.get(path, query_string={"as_of": history["before"]})
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"


def test_lifecycle_notices_are_those_of_that_date(client):
    # Windows Server 2003 left support on 2015-07-14; the seed's revision is of 2006.
    assert client.get(KB).get_json()["notices"][0]["kind"] == "end_of_support"
    in_2007 = client.get(KB, query_string={"as_of": "2007-03-31T23:59:59+09:00"}).get_json()
    assert in_2007["revision"]["number"] == "2.2"
    assert all(notice["date"] > "2007-03-31" for notice in in_2007["notices"])
    assert "end_of_support" not in {notice["kind"] for notice in in_2007["notices"]}
    in_2016 = client.get(KB, query_string={"as_of": "2016-01-01T00:00:00Z"}).get_json()
    assert in_2016["notices"] == client.get(KB).get_json()["notices"]


def test_an_unencoded_plus_in_the_offset_is_read_back(client):
    spaced = client.get(f"{KB}?as_of=2007-03-31T23:59:59+09:00")
    assert spaced.status_code == 200
    assert spaced.get_json()["revision"]["number"] == "2.2"


@pytest.mark.parametrize(
    ("as_of", "status"),
    [("0001-01-01T00:00:00+09:00", 404), ("9999-12-31T23:59:59-09:00", 200)],
)
def test_instants_at_the_edges_of_the_calendar(client, as_of, status):
    response = client.get(KB, query_string={"as_of": as_of})
    assert response.status_code == status, response.get_data(as_text=True)
    check = client.post(
        "/api/v1/applicability",
        json={"system": {"product": "windows_xp"}, "articles": ["885348"], "as_of": as_of},
    )
    assert check.status_code == status


def test_applicability_as_of_judges_the_rules_current_then(client, history):
    def check(**extra):
        body = {"system": XP_SP1, "articles": ["900401"], **extra}
        response = client.post("/api/v1/applicability", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        (result,) = response.get_json()["results"]
        return result["verdict"], result["revision"]["number"]

    assert check() == ("not_applicable", "1.2")
    assert check(as_of=history["first"]) == ("applies", "1.0")
    assert check(as_of=history["second"]) == ("not_applicable", "1.2")
    # Without `articles`: every article that existed then, judged by its rules then.
    everything = client.post(
        "/api/v1/applicability", json={"system": XP_SP1, "as_of": history["first"]}
    ).get_json()
    found = {result["kb"]: result["revision"]["number"] for result in everything["results"]}
    assert found.get("900401") == "1.0"
    assert "900402" not in found
    now = client.post("/api/v1/applicability", json={"system": XP_SP1}).get_json()
    assert {result["kb"] for result in now["results"]} >= {"900402"}
    assert "900401" not in {result["kb"] for result in now["results"]}


def test_an_article_that_did_not_exist_then_is_unknown(client, history):
    for when in (history["first"], history["before"]):
        response = client.post(
            "/api/v1/applicability",
            json={"system": XP_SP1, "articles": ["900402"], "as_of": when},
        )
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/problem+json"


def test_batch_as_of(client, history):
    body = {
        "systems": [{"id": "a", **XP_SP1}, {"id": "b", **XP_SP1, "service_pack": 3}],
        "articles": ["900401"],
    }
    then = client.post(
        "/api/v1/applicability/batch", json={**body, "as_of": history["first"]}
    ).get_json()
    now = client.post("/api/v1/applicability/batch", json=body).get_json()
    verdicts = [
        [(r["verdict"], r["revision"]["number"]) for r in entry["results"]]
        for entry in then["results"]
    ]
    assert verdicts == [[("applies", "1.0")], [("applies", "1.0")]]
    verdicts = [
        [(r["verdict"], r["revision"]["number"]) for r in entry["results"]]
        for entry in now["results"]
    ]
    assert verdicts == [[("not_applicable", "1.2")], [("applies", "1.2")]]


@pytest.mark.parametrize(
    "as_of",
    ["yesterday", "2007-03-31", "2007-03-31T00:00:00", 20070331, "2007-02-30T00:00:00Z", ""],
)
def test_a_malformed_as_of_is_a_problem_naming_it(client, as_of):
    one = client.post("/api/v1/applicability", json={"system": XP_SP1, "as_of": as_of})
    batch = client.post("/api/v1/applicability/batch", json={"systems": [XP_SP1], "as_of": as_of})
    article = client.get(KB, query_string={"as_of": as_of})
    for response in (one, batch, article):
        assert response.status_code in (400, 422), response.get_data(as_text=True)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert list(response.get_json()["errors"]) == ["as_of"]
