"""Each worker compiles the rules its requests judge, keeping at most KB_RULE_CACHE_ENTRIES.

`kbservice serve` prepares the rule index before it forks its workers; at 200,000
articles compiling every rule there took minutes and a gigabyte that each worker's
memory grew towards. The index now holds an outline of each article's rules, and the
rules a request judges are compiled then (docs/architecture.md, "Rule index").
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from flask.testing import FlaskClient

from kbservice.catalog.products import load_catalog_file
from kbservice.http.context import warm_caches
from kbservice.storage.db import Database, make_null_pool_engine
from kbservice.synth.corpus import CATALOG_FILE, generate_articles, load_corpus
from kbservice.synth.rules import ROLES, realistic_rules

CORPUS = 240
SEED = 11


@pytest.fixture
def corpus_url(seeded_url: str) -> str:
    """The seeded database with CORPUS generated articles, each with its own rules."""
    database = Database(make_null_pool_engine(seeded_url))
    with database.write() as session:
        load_corpus(session, CORPUS, SEED, rules_factory=realistic_rules)
    database.dispose()
    return seeded_url


def _kept(client: FlaskClient) -> float:
    """`kb_compiled_rules_kept` from /metrics (this process's rule cache)."""
    text = client.get("/metrics").get_data(as_text=True)
    (line,) = [line for line in text.splitlines() if line.startswith("kb_compiled_rules_kept ")]
    return float(line.split()[1])


def _system(rng: random.Random) -> dict[str, Any]:
    """A system on a catalog product, some of its facts left out."""
    product = rng.choice(load_catalog_file(CATALOG_FILE).products)
    system: dict[str, Any] = {
        "product": product.id,
        "edition": rng.choice(product.editions).id,
        "architecture": rng.choice(product.architectures),
        "service_pack": rng.choice(product.service_packs).number,
        "roles": rng.sample(ROLES, rng.randint(0, 2)),
        "behind_nat": rng.choice([True, False]),
        "installed_updates": [f"KB{rng.randint(800000, 999999)}" for _ in range(3)],
    }
    for fact in rng.sample(["edition", "service_pack", "roles", "behind_nat"], rng.randint(0, 2)):
        del system[fact]
    return system


def test_serve_compiles_no_rule_before_the_first_request_then_only_its_candidates(
    corpus_url: str, make_app
) -> None:
    app = make_app({"DATABASE_URL": corpus_url, "METRICS": "public"})
    client = app.test_client()
    # What `kbservice serve` prepares before it forks (server.prepare_for_fork).
    assert warm_caches(app) == CORPUS + 1
    assert _kept(client) == 0

    system = {"product": "windows_server_2003", "edition": "enterprise", "architecture": "x86"}
    answer = client.post("/api/v1/applicability", json={"system": system})
    assert answer.status_code == 200
    kept = _kept(client)
    # The platform's candidates only: the other products' articles stay uncompiled.
    assert len(answer.get_json()["results"]) <= kept < CORPUS // 2
    assert client.post("/api/v1/applicability", json={"system": system}).json == answer.json
    assert _kept(client) == kept


def test_answers_with_a_small_rule_cache_equal_those_with_every_rule_kept(
    corpus_url: str, make_app
) -> None:
    bound = 7
    small = make_app(
        {"DATABASE_URL": corpus_url, "METRICS": "public", "RULE_CACHE_ENTRIES": bound}
    ).test_client()
    every = make_app({"DATABASE_URL": corpus_url, "RULE_CACHE_ENTRIES": 100_000}).test_client()
    rng = random.Random(SEED)
    kbs = [article.kb for article in generate_articles(CORPUS, SEED)]
    systems = [_system(rng) for _ in range(40)]

    posts: list[tuple[str, dict[str, Any]]] = []
    for position, system in enumerate(systems):
        body: dict[str, Any] = {"system": system, "locale": rng.choice(["en", "ja"])}
        if position % 3 == 0:
            body["explain"] = True
        if position % 5 == 0:
            body["articles"] = rng.sample(kbs, 12)
        if position % 7 == 0:
            body["as_of"] = "2999-01-01T00:00:00Z"
        posts.append(("/api/v1/applicability", body))
    posts.append(("/api/v1/applicability/batch", {"systems": systems}))
    posts.append(
        ("/api/v1/applicability/batch", {"systems": systems, "articles": rng.sample(kbs, 30)})
    )
    compared = 0
    for path, body in posts:
        expected = every.post(path, json=body)
        answer = small.post(path, json=body)
        assert (answer.status_code, answer.json) == (expected.status_code, expected.json)
        compared += len(answer.json.get("results", ()))
    for kb in rng.sample(kbs, 15):
        query = {k: v for k, v in systems[0].items() if isinstance(v, str)}
        expected = every.get(f"/api/v1/articles/{kb}/applicability", query_string=query)
        answer = small.get(f"/api/v1/articles/{kb}/applicability", query_string=query)
        assert (answer.status_code, answer.json) == (expected.status_code, expected.json)
    assert compared > 10 * bound  # far more articles judged than the cache holds
    assert 0 < _kept(small) <= bound
