"""The work one applicability request may cause is bounded, and a batch is streamed.

A budget of results per request (KB_MAX_APPLICABILITY_RESULTS: systems × articles each is
judged against) turns an oversized request into a 413 problem before any verdict is
computed; a KB listed twice counts once; a batch answer leaves the worker system by
system, so its memory does not grow with the answer.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from .flask_requests import FlaskRequests, comparable
from .servers import running_server
from .systems import SERVER_2003_VPN

BATCH = "/api/v1/applicability/batch"
SINGLE = "/api/v1/applicability"
SETTING = "KB_MAX_APPLICABILITY_RESULTS"
# Origin sends a single-system request through Flask instead of its fast lane (CORS is
# off in these tests, so it changes nothing else about the answer).
THROUGH_FLASK = {"Origin": "https://example.org"}
# The bound docs/benchmarks.md ("Batch memory (issue 15)") gives for a worker's growth
# while it answers any batch the budget allows.
DOCUMENTED_GROWTH_MIB = 32


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()


def _new_article(client, editor, kb, product="windows_xp", title=""):
    article = {
        "kb": kb,
        "source_locale": "en",
        "title": f"Article {kb} {title}",
        "sections": [{"heading": None, "body": "Body."}],
        "applies_to": [{"product": product}],
        "rules": {"product": product},
    }
    response = client.post("/api/v1/articles", json=article, headers=editor)
    assert response.status_code == 201, response.get_data(as_text=True)


def _article_count(client):
    """What a system without facts is judged against: every article."""
    return client.get("/api/v1/articles?per_page=1").get_json()["total"]


def test_a_batch_over_the_budget_is_a_413_naming_the_limit(client, app):
    per_system = _article_count(client)
    app.config["MAX_APPLICABILITY_RESULTS"] = 3 * per_system
    systems = [{"id": f"h{i}"} for i in range(4)]
    detail = _problem(client.post(BATCH, json={"systems": systems}), 413)["detail"]
    assert str(3 * per_system) in detail and SETTING in detail
    # Exactly at the budget: answered.
    response = client.post(BATCH, json={"systems": systems[:3]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(response.get_json()["results"]) == 3


def test_invalid_systems_cost_nothing_of_the_budget(client, app):
    app.config["MAX_APPLICABILITY_RESULTS"] = 1
    valid = {"id": "ok", **SERVER_2003_VPN}
    two = {"systems": [valid, valid], "articles": ["885348"]}
    assert SETTING in _problem(client.post(BATCH, json=two), 413)["detail"]
    body = {"systems": [{"id": "bad", "service_pack": "two"}, valid], "articles": ["885348"]}
    entries = client.post(BATCH, json=body).get_json()["results"]
    assert [entry["id"] for entry in entries] == ["bad", "ok"]
    assert "error" in entries[0] and entries[1]["results"][0]["kb"] == "885348"


def test_the_budget_counts_each_requested_kb_once(client, app, editor):
    _new_article(client, editor, "KB900101")
    app.config["MAX_APPLICABILITY_RESULTS"] = 2
    systems = [{"id": "a", **SERVER_2003_VPN}, {"id": "b", **SERVER_2003_VPN}]
    # 998 copies of one KB (in two spellings) are one article per system.
    copies = ["KB885348", "885348"] * 499
    response = client.post(BATCH, json={"systems": systems, "articles": copies})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [[r["kb"] for r in e["results"]] for e in response.get_json()["results"]] == [
        ["885348"],
        ["885348"],
    ]
    two = client.post(BATCH, json={"systems": systems, "articles": [*copies, "900101"]})
    assert SETTING in _problem(two, 413)["detail"]


def test_a_kb_listed_twice_is_answered_once_at_its_first_place(client, editor):
    _new_article(client, editor, "KB900102")
    articles = ["900102", "KB885348", "kb900102", "885348", "900102"]
    single = client.post(SINGLE, json={"system": SERVER_2003_VPN, "articles": articles})
    assert [r["kb"] for r in single.get_json()["results"]] == ["900102", "885348"]
    batch = client.post(BATCH, json={"systems": [SERVER_2003_VPN], "articles": articles})
    assert [r["kb"] for r in batch.get_json()["results"][0]["results"]] == ["900102", "885348"]


def test_the_get_form_has_the_same_budget(client, app):
    path = "/api/v1/articles/885348/applicability?product=windows_server_2003"
    assert client.get(path).status_code == 200
    app.config["MAX_APPLICABILITY_RESULTS"] = 0
    assert SETTING in _problem(client.get(path), 413)["detail"]


@pytest.mark.parametrize("system", [{}, {"product": "windows_xp"}, SERVER_2003_VPN])
def test_fast_lane_and_flask_agree_at_the_budget_edge(client, app, editor, system):
    for number in range(3):
        _new_article(client, editor, f"KB90020{number}")
    flask = FlaskRequests(app)
    body = json.dumps({"system": system})

    def both():
        answers = [
            flask.post(client, SINGLE, data=body, content_type="application/json", headers=h)
            for h in (THROUGH_FLASK, {})
        ]
        assert answers[0].through_flask
        return answers

    judged = len(both()[0].get_json()["results"])  # every candidate is applies or unknown
    app.config["MAX_APPLICABILITY_RESULTS"] = judged
    full, fast = both()
    assert full.status_code == 200 and not fast.through_flask
    assert comparable(fast) == comparable(full)
    app.config["MAX_APPLICABILITY_RESULTS"] = judged - 1
    full, stepped_aside = both()
    assert SETTING in _problem(full, 413)["detail"]
    assert stepped_aside.through_flask  # the fast lane leaves the 413 to Flask
    assert comparable(stepped_aside) == comparable(full)


def test_a_streamed_batch_is_the_document_of_its_systems_answers(client, app, editor):
    for number in range(10):
        _new_article(client, editor, f"KB90030{number}", product="windows_server_2003")
    systems = [
        {"id": "none"},
        {"id": 7, "product": "windows_server_2003"},
        {"id": None, **SERVER_2003_VPN, "note": '漢字 \u2028 "quoted"', "big": 2**70},
        {"id": "bad", "service_pack": -1},
        {"id": "unrecognised", "product": "os2_warp"},
    ] * 8
    response = client.post(BATCH, json={"systems": systems, "locale": "en"})
    assert response.status_code == 200
    # Large enough to leave in several chunks: no Content-Length then.
    assert "Content-Length" not in response.headers
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Language"] == "en"
    assert response.headers["Vary"] == "Accept-Language"
    entries = []
    for position, system in enumerate(systems):
        facts = {k: v for k, v in system.items() if k != "id"}
        single = client.post(SINGLE, json={"system": facts, "locale": "en"})
        if single.status_code == 422:
            # The same problem, its fields named from the batch's root.
            text = single.get_data(as_text=True).replace('"system.', f'"systems.{position}.')
            problem = json.loads(text.replace(" system.", f" systems.{position}."))
            entries.append({"id": system["id"], "error": problem})
        else:
            answer = single.get_json()
            del answer["locale"]
            entries.append({"id": system["id"], **answer})
    expected = {"locale": "en", "results": entries}
    assert json.loads(response.get_data()) == expected
    # The same bytes as the whole document written at once.
    assert response.get_data() == app.json.response_bytes(expected)


def _kib(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith(field)).split()[1])


def test_a_worker_does_not_hold_a_batch_answer(app, client, editor, seeded_url, tmp_path):
    # 40 articles that every system without facts is judged against (all `unknown`),
    # and a budget for a 24 MB answer: held whole, it grew a worker by about 71 MiB.
    for number in range(40):
        _new_article(client, editor, f"KB9004{number:02d}", title="long title " * 30)
    per_system = _article_count(client)
    budget = 40_000
    log = tmp_path / "server.log"
    with running_server(seeded_url, 1, log, settings={SETTING: str(budget)}) as base:
        master = int(log.with_name(log.name + ".pid").read_text())
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        (worker,) = (int(pid) for pid in children)
        small = {"systems": [{"id": f"h{i}"} for i in range(20)]}
        for _ in range(2):  # the rule index, the allocator's first arenas
            assert _post(f"{base}/applicability/batch", small)[0] == 200
        before = _kib(worker, "VmRSS:")
        Path(f"/proc/{worker}/clear_refs").write_text("5")  # VmHWM := VmRSS
        systems = [{"id": f"h{i}"} for i in range(budget // per_system)]
        status, size = _post(f"{base}/applicability/batch", {"systems": systems})
        growth = (_kib(worker, "VmHWM:") - before) / 1024
    assert status == 200 and size > 20e6
    assert growth < DOCUMENTED_GROWTH_MIB / 2, f"the worker grew by {growth:.1f} MiB"


def _post(url: str, document: dict) -> tuple[int, int]:
    """Status and body size of a POST; the body is read in pieces and only counted."""
    request = urllib.request.Request(
        url, json.dumps(document).encode(), {"Content-Type": "application/json"}
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=120) as response:
        size = 0
        while piece := response.read(1 << 20):
            size += len(piece)
    assert time.monotonic() - started < 120
    return response.status, size
