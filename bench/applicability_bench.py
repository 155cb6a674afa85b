"""Applicability benchmark: one system against 10,000 articles, 1000-system batches, index gain.

Usage (from the project root):

    .venv/bin/python bench/applicability_bench.py --engine both

It builds a synthetic corpus (kbservice.synthetic + kbservice.synthetic_rules) in a
temporary SQLite file and/or a throwaway PostgreSQL cluster, then measures through the
Flask application in-process (no network: the figure is server time):

* single: POST /api/v1/applicability, one system, no `articles` (the whole corpus);
* batch:  POST /api/v1/applicability/batch, 1000 systems restricted to 10 articles;
* index:  the domain call with the product index vs evaluating every article.

Targets (issue 3): batch < 0.3 s, single < 20 ms, index >= 20x.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kbservice import create_app  # noqa: E402
from kbservice.applicability.index import RuleIndex, assess  # noqa: E402
from kbservice.catalog.facts import normalize_system  # noqa: E402
from kbservice.catalog.products import Catalog  # noqa: E402
from kbservice.catalog.store import upsert_products  # noqa: E402
from kbservice.http.context import get_catalog, get_database, get_rule_index  # noqa: E402
from kbservice.rules import Verdict  # noqa: E402
from kbservice.storage.db import Database, make_null_pool_engine  # noqa: E402
from kbservice.storage.migrate import upgrade  # noqa: E402
from kbservice.synth.corpus import load_corpus  # noqa: E402
from kbservice.synth.rules import ROLES, real_products, realistic_rules, synthetic_products  # noqa: E402
from kbservice.transfer.seeding import seed  # noqa: E402


def emit(row: str) -> None:
    """Print one table row at once (a full run takes minutes)."""
    print(row, flush=True)


def percentile(samples: list[float], fraction: float) -> float:
    """The `fraction` quantile of `samples` (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def build(url: str, articles: int, products: int) -> float:
    """Migrate, seed and load the corpus; return the load time in seconds."""
    upgrade(url)
    database = Database(make_null_pool_engine(url))
    catalog_entries = real_products() + synthetic_products(products)
    started = time.perf_counter()
    with database.write() as session:
        seed(session, ROOT / "seeds")
        upsert_products(session, catalog_entries)
        load_corpus(
            session,
            articles,
            seed=7,
            rules_factory=realistic_rules,
            catalog=Catalog.from_dicts(catalog_entries),
        )
    database.dispose()
    return time.perf_counter() - started


def random_system(rng: random.Random, catalog: Catalog) -> dict:
    """A fully described system on a random product."""
    product = rng.choice(catalog.products)
    return {
        "product": product.id,
        "edition": rng.choice(product.editions).id,
        "architecture": rng.choice(product.architectures),
        "service_pack": rng.choice(product.service_packs).number,
        "roles": rng.sample(ROLES, rng.randint(0, 2)),
        "ip_addresses": [rng.choice(["10.1.2.3", "192.168.0.9", "203.0.113.7"])],
        "installed_updates": [f"KB{rng.randint(800000, 999999)}" for _ in range(5)],
    }


def timed(call: Callable[[], object], runs: int) -> list[float]:
    """Wall times of `runs` calls, in seconds."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def measure(url: str, engine: str, articles: int, products: int, *, load: bool = True) -> None:
    """Run every measurement on one database, printing markdown table rows as they come."""
    load_seconds = build(url, articles, products) if load else 0.0
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "MAX_BATCH_SYSTEMS": 5000})
    client = app.test_client()
    rng = random.Random(3)
    emit(
        f"| {engine} | corpus load ({articles} articles, {products + 4} products) | "
        f"{load_seconds:.1f} s | | |"
    )
    with app.app_context():
        started = time.perf_counter()
        index: RuleIndex = get_rule_index()
        emit(f"| {engine} | rule index build (cold) | {time.perf_counter() - started:.2f} s | | |")
        catalog = get_catalog()
        kbs = [entry.kb for entry in index.entries]

    # Request bodies are encoded before the clock starts: the figures are server time.
    singles = iter(
        [json.dumps({"system": random_system(rng, catalog)}).encode() for _ in range(301)]
    )

    def single() -> None:
        response = client.post(
            "/api/v1/applicability", data=next(singles), content_type="application/json"
        )
        assert response.status_code == 200

    single()
    samples = timed(single, 300)
    emit(
        f"| {engine} | single system vs whole corpus "
        f"| p50 {percentile(samples, 0.5) * 1000:.1f} ms "
        f"| p95 {percentile(samples, 0.95) * 1000:.1f} ms | < 20 ms |"
    )

    batches = iter(
        [
            json.dumps(
                {
                    "systems": [
                        {"id": f"h{i}", **random_system(rng, catalog)} for i in range(1000)
                    ],
                    "articles": rng.sample(kbs, 10),
                }
            ).encode()
            for _ in range(16)
        ]
    )

    def batch() -> None:
        response = client.post(
            "/api/v1/applicability/batch", data=next(batches), content_type="application/json"
        )
        assert response.status_code == 200

    batch()
    samples = timed(batch, 15)
    emit(
        f"| {engine} | batch: 1000 systems × 10 articles | p50 {percentile(samples, 0.5):.3f} s "
        f"| p95 {percentile(samples, 0.95):.3f} s | < 0.3 s |"
    )

    systems = [normalize_system(random_system(rng, catalog), catalog) for _ in range(200)]

    def indexed() -> None:
        for system in systems:
            assess(index, system)

    with app.app_context():
        every = index.compiled(index.entries)

    def exhaustive() -> None:
        for system in systems:
            for entry in every:
                verdict = entry.rule.evaluate(system.facts).verdict
                _ = verdict is not Verdict.NOT_APPLICABLE

    fast = statistics.median(timed(indexed, 5)) / len(systems)
    slow = statistics.median(timed(exhaustive, 3)) / len(systems)
    emit(
        f"| {engine} | indexed vs every article (per system) | {fast * 1000:.2f} ms vs "
        f"{slow * 1000:.1f} ms | {slow / fast:.0f}× | ≥ 20× |"
    )
    get_database(app).dispose()


def main() -> None:
    """Parse arguments, run the benchmark on the chosen engines, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=200, help="synthetic products to add")
    parser.add_argument(
        "--database-url",
        help="measure an existing corpus (e.g. one made by `kbservice synth`) instead of building",
    )
    args = parser.parse_args()
    if args.database_url:
        print("| engine | measurement | result | | target |\n| --- | --- | --- | --- | --- |")
        measure(args.database_url, "existing", args.articles, args.products, load=False)
        return
    print("| engine | measurement | result | | target |\n| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="kbbench-") as folder:
        if args.engine in ("sqlite", "both"):
            measure(f"sqlite:///{folder}/bench.sqlite3", "SQLite", args.articles, args.products)
        if args.engine in ("postgresql", "both"):
            sys.path.insert(0, str(ROOT / "tests"))
            from pg import start_cluster

            cluster = start_cluster()
            try:
                measure(cluster.url("postgres"), "PostgreSQL", args.articles, args.products)
            finally:
                cluster.stop()


if __name__ == "__main__":
    main()
