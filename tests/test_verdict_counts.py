"""Stored per-article verdict counts stay equal to the stored verdicts, whoever writes them."""

from __future__ import annotations

import random
import threading
from typing import Any

from alembic import command
from flask import Flask
from sqlalchemy import inspect, text

from kbservice import create_app
from kbservice.cli import main
from kbservice.http.context import get_database
from kbservice.storage.db import make_null_pool_engine
from kbservice.storage.migrate import alembic_config

from .conftest import make_token
from .test_systems_api import AFFECTED, BASE, OTHER, UNKNOWN, _ok

FACTS = [
    AFFECTED,
    UNKNOWN,
    OTHER,
    {**BASE, "service_pack": 2, "behind_nat": False, "roles": ["vpn_server"]},
    {**BASE, "service_pack": 1, "behind_nat": True},
    {"product": "windows_xp", "service_pack": 3},
    {"product": "windows_xp"},
]
RULES = [
    {
        "all": [
            {"product": "windows_server_2003"},
            {"fact": "behind_nat", "equals": True},
            {"fact": "roles", "contains": "vpn_server"},
        ]
    },
    {"any": [{"product": "windows_server_2003"}, {"product": "windows_xp"}]},
    {"all": [{"product": "windows_xp"}, {"service_pack": {"min": 3}}]},
    {"any": [{"product": "windows_xp"}, {"fact": "behind_nat", "equals": False}]},
    {"product": "windows_server_2003"},
]
_STORED = text("SELECT article_id, verdict, systems FROM article_verdict_counts")
_COUNTED = text(
    "SELECT article_id, verdict, count(*) FROM system_verdicts GROUP BY article_id, verdict"
)
_KBS = text("SELECT id, kb FROM articles")
_IDS = text(
    "SELECT system_id FROM system_verdicts WHERE article_id = :a AND verdict = :v "
    "ORDER BY system_id"
)


def _headers(app: Flask, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(app, role)}"}


def _stored_and_counted(app: Flask) -> tuple[dict[Any, int], dict[Any, int]]:
    with get_database(app).session() as session:
        stored = {(a, v): n for a, v, n in session.execute(_STORED) if n}
        counted = {(a, v): n for a, v, n in session.execute(_COUNTED)}
    return stored, counted


def _paged(client, headers: dict[str, str], kb: str, verdict: str) -> tuple[int, list[str]]:
    """The endpoint's total and every id its pages give, three a page."""
    ids: list[str] = []
    page = 1
    while True:
        body = _ok(
            client.get(
                f"/api/v1/articles/{kb}/systems",
                query_string={"verdict": verdict, "page": page, "per_page": 3},
                headers=headers,
            )
        )
        ids += [item["id"] for item in body["items"]]
        if not body["items"]:
            return body["total"], ids
        page += 1


def _check(app: Flask, client, headers: dict[str, str], step: str) -> None:
    stored, counted = _stored_and_counted(app)
    assert stored == counted, step
    with get_database(app).session() as session:
        kbs = dict(session.execute(_KBS).all())
        for article_id, kb in kbs.items():
            for verdict in ("applies", "unknown"):
                total, ids = _paged(client, headers, kb, verdict)
                stored_ids = session.scalars(_IDS, {"a": article_id, "v": verdict}).all()
                # Every page, from the front or counted from the end, in one order.
                assert ids == stored_ids, (step, kb, verdict)
                assert total == len(ids) == counted.get((article_id, verdict), 0), step


def _publish(client, editor: dict[str, str], kb: str, rules: dict[str, Any]) -> None:
    etag = client.get(f"/api/v1/articles/{kb}?locale=en").headers["ETag"]
    _ok(
        client.put(
            f"/api/v1/articles/{kb}/rules",
            json={"rules": rules, "examples": []},
            headers={**editor, "If-Match": etag},
        )
    )


def test_counts_follow_a_random_sequence_of_writes(app, client, editor):
    """Registrations, re-registrations, deletions, publications, a new article: always exact."""
    inventory = _headers(app, "inventory")
    rng = random.Random(2020)
    ids = [f"host-{n}" for n in range(25)]
    kbs = ["885348"]
    for step in range(45):
        action = rng.choice(["put", "batch", "batch", "delete", "publish", "create"])
        if action == "put":
            response = client.put(
                f"/api/v1/systems/{rng.choice(ids)}", json=rng.choice(FACTS), headers=inventory
            )
            assert response.status_code in (200, 201), response.get_data(as_text=True)
        elif action == "batch":
            systems = [
                {"id": rng.choice(ids), **rng.choice(FACTS)} for _ in range(rng.randint(1, 12))
            ]
            body = _ok(
                client.post("/api/v1/systems/batch", json={"systems": systems}, headers=inventory)
            )
            assert all("error" not in r for r in body["results"])
        elif action == "delete":
            response = client.delete(f"/api/v1/systems/{rng.choice(ids)}", headers=inventory)
            assert response.status_code in (204, 404)
        elif action == "publish":
            _publish(client, editor, rng.choice(kbs), rng.choice(RULES))
        elif len(kbs) < 3:
            kb = str(900300 + len(kbs))
            article = {
                "kb": kb,
                "source_locale": "en",
                "title": f"Article {kb}",
                "sections": [{"heading": None, "body": "Body."}],
                "applies_to": [],
                "rules": rng.choice(RULES),
            }
            _ok(client.post("/api/v1/articles", json=article, headers=editor), 201)
            kbs.append(kb)
        _check(app, client, inventory, f"step {step}: {action}")
    stored, _ = _stored_and_counted(app)
    assert len(stored) >= 3  # the sequence left verdicts of both kinds to count


def test_concurrent_registrations_and_deletions_lose_no_count(app, client, editor):
    """Batches of overlapping systems and deletions at once, on separate sessions."""
    inventory = _headers(app, "inventory")
    _publish(client, editor, "885348", RULES[3])  # applies to some, unknown for others
    doomed = [{"id": f"old-{n}", **FACTS[n % len(FACTS)]} for n in range(120)]
    _ok(client.post("/api/v1/systems/batch", json={"systems": doomed}, headers=inventory))
    failures: list[str] = []

    def register(seed: int) -> None:
        rng = random.Random(seed)
        own = app.test_client()
        for _ in range(6):
            systems = [{"id": f"new-{rng.randrange(60)}", **rng.choice(FACTS)} for _ in range(40)]
            response = own.post(
                "/api/v1/systems/batch", json={"systems": systems}, headers=inventory
            )
            if response.status_code != 200:
                failures.append(response.get_data(as_text=True))

    def forget(part: list[dict[str, Any]]) -> None:
        own = app.test_client()
        for system in part:
            response = own.delete(f"/api/v1/systems/{system['id']}", headers=inventory)
            if response.status_code != 204:
                failures.append(response.get_data(as_text=True))

    threads = [threading.Thread(target=register, args=(seed,)) for seed in range(3)]
    threads += [threading.Thread(target=forget, args=(doomed[n::2],)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    stored, counted = _stored_and_counted(app)
    assert stored == counted
    assert sum(counted.values()) > 0
    _check(app, client, inventory, "after the threads")


def test_upgrading_from_0010_counts_the_stored_verdicts(cli, fresh_url):
    """Migration 0011 fills the counts from the verdicts an older kbservice stored."""
    assert cli.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert cli.invoke(main, ["seed"]).exit_code == 0
    app = create_app({"DATABASE_URL": fresh_url, "TESTING": True})
    client = app.test_client()
    inventory = _headers(app, "inventory")
    systems = [{"id": f"s{n}", **FACTS[n % len(FACTS)]} for n in range(30)]
    _ok(client.post("/api/v1/systems/batch", json={"systems": systems}, headers=inventory))
    get_database(app).dispose()
    command.downgrade(alembic_config(fresh_url), "0010")
    engine = make_null_pool_engine(fresh_url)
    with engine.connect() as connection:
        assert not inspect(connection).has_table("article_verdict_counts")
        assert connection.scalar(text("SELECT count(*) FROM system_verdicts")) > 0
    engine.dispose()
    result = cli.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    app = create_app({"DATABASE_URL": fresh_url, "TESTING": True})
    try:
        stored, counted = _stored_and_counted(app)
        assert stored == counted and len(counted) == 2
        _check(app, app.test_client(), inventory, "after the upgrade")
        assert cli.invoke(main, ["db", "check"]).exit_code == 0
    finally:
        get_database(app).dispose()
