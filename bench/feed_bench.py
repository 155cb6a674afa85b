"""Change feed and as-of benchmark: feed pages at 200,000 revisions, as-of vs current checks.

Usage (from the project root):

    .venv/bin/python bench/feed_bench.py --engine both
    .venv/bin/python bench/feed_bench.py --engine sqlite --part asof --articles 20000

Measured through the Flask application in-process (no network: server time), on a
temporary SQLite file and/or a throwaway PostgreSQL 15 cluster:

* feed: 200,000 revisions inserted in bulk (2,000 articles × 100 revisions, with their
  feed entries), then `GET /api/v1/changes?limit=100` at the start, the middle and the
  end of the feed, an idle poll (nothing after the cursor) and the same poll with
  `If-None-Match` (304); the same requests on the seeded database (one revision) show
  whether the cost grows with the history.
* asof: the synthetic corpus (`kbservice synth`'s generator), 200 of its articles edited
  after an instant T; `POST /api/v1/applicability` for one system against the whole
  corpus now, and `as_of` T with the as-of index cached (warm) and rebuilt (cold).

Targets (issue 19): feed pages independent of the history length; as-of within 10× of
the current path at 20,000 articles.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from applicability_bench import build, percentile, random_system, timed  # noqa: E402
from sqlalchemy import create_engine, func, insert, select  # noqa: E402

from kbservice import create_app  # noqa: E402
from kbservice.applicability.asof import AsOfIndexes  # noqa: E402
from kbservice.articles import feed, reading, revisions  # noqa: E402
from kbservice.http.context import get_catalog, get_database, get_rule_index  # noqa: E402
from kbservice.storage.db import Database, make_null_pool_engine  # noqa: E402
from kbservice.storage.migrate import upgrade  # noqa: E402
from kbservice.storage.models import Article, FeedEntry, Revision  # noqa: E402
from kbservice.transfer.seeding import seed  # noqa: E402

REVISIONS = 200_000
PER_ARTICLE = 100


def emit(row: str) -> None:
    """Print one table row at once."""
    print(row, flush=True)


def ms(samples: list[float]) -> str:
    p50, p95 = percentile(samples, 0.5) * 1000, percentile(samples, 0.95) * 1000
    return f"p50 {p50:.2f} ms | p95 {p95:.2f} ms"


def bulk_revisions(url: str, total: int) -> float:
    """Insert `total` revisions (PER_ARTICLE per new article) and their feed entries."""
    database = Database(make_null_pool_engine(url))
    started = time.perf_counter()
    moment = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    with database.write() as session:
        kb = 950_000
        for first in range(0, total, 10_000):
            count = min(10_000, total - first)
            articles = count // PER_ARTICLE
            article_ids = list(
                session.scalars(
                    insert(Article).returning(Article.id, sort_by_parameter_order=True),
                    [
                        {
                            "kb": str(kb + n),
                            "source_locale": "en",
                            "created_at": moment,
                            "current_seq": PER_ARTICLE,
                        }
                        for n in range(articles)
                    ],
                )
            )
            kb += articles
            revision_ids = list(
                session.scalars(
                    insert(Revision).returning(Revision.id, sort_by_parameter_order=True),
                    [
                        {
                            "article_id": article_id,
                            "seq": seq,
                            "number": f"1.{seq - 1}",
                            "created_at": moment + dt.timedelta(seconds=first + n),
                            "author": "bench",
                            "summary": "",
                            "keywords": [],
                            "related": [],
                            "applies_to": [],
                            "rules": None,
                        }
                        for n, (article_id, seq) in enumerate(
                            (a, s) for s in range(1, PER_ARTICLE + 1) for a in article_ids
                        )
                    ],
                )
            )
            feed.record_many(session, revision_ids, feed.REVISED)
    database.dispose()
    return time.perf_counter() - started


def feed_requests(client, label: str, engine: str, total: int) -> None:
    """Time feed pages at the start, middle and end, and idle polls, printing rows."""
    app = client.application
    with app.app_context():
        session = get_database(app).read_session()
        highest = session.scalar(select(func.max(FeedEntry.position))) or 0
        session.close()

    def page(after: int, headers: dict[str, str] | None = None) -> Callable[[], None]:
        query = {"after": feed.encode_cursor(after) if after else "", "limit": 100}

        def call() -> None:
            response = client.get("/api/v1/changes", query_string=query, headers=headers or {})
            assert response.status_code in (200, 304)

        return call

    points = {"start": 0, "middle": highest // 2, "end": max(highest - 100, 0)}
    for name, after in points.items():
        call = page(after)
        call()
        emit(f"| {engine} | {label}: page of 100 at the {name} | {ms(timed(call, 300))} |")
    idle = page(highest)
    idle()
    emit(f"| {engine} | {label}: idle poll (no new items) | {ms(timed(idle, 300))} |")
    etag = client.get(
        "/api/v1/changes", query_string={"after": feed.encode_cursor(highest), "limit": 100}
    ).headers["ETag"]
    conditional = page(highest, {"If-None-Match": etag})
    samples = timed(conditional, 300)
    emit(f"| {engine} | {label}: idle poll with If-None-Match (304) | {ms(samples)} |")


def measure_feed(url: str, engine: str, total: int) -> None:
    """The feed on the seeded database, then with `total` more revisions."""
    upgrade(url)
    database = Database(make_null_pool_engine(url))
    with database.write() as session:
        seed(session, ROOT / "seeds")
    database.dispose()
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    feed_requests(app.test_client(), "seed only (1 revision)", engine, 1)
    get_database(app).dispose()
    emit(
        f"| {engine} | bulk insert of {total:,} revisions | {bulk_revisions(url, total):.1f} s | |"
    )
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    feed_requests(app.test_client(), f"{total:,} revisions", engine, total)
    get_database(app).dispose()


def measure_asof(
    url: str, engine: str, articles: int, products: int, edits: int, corpus: Path | None
) -> None:
    """Current vs as-of applicability on the synthetic corpus with `edits` later edits.

    With `corpus` (a cached SQLite corpus of bench/out, SQLite only) it is copied, not built.
    """
    if corpus is not None:
        shutil.copyfile(corpus, url.removeprefix("sqlite:///"))
        upgrade(url)
    else:
        seconds = build(url, articles, products)
        emit(f"| {engine} | corpus load ({articles} articles) | {seconds:.1f} s | |")
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    rng = random.Random(19)
    with app.app_context():
        index = get_rule_index()
        catalog = get_catalog()
        kbs = rng.sample([entry.kb for entry in index.entries], edits)
    time.sleep(0.01)
    before = dt.datetime.now(dt.UTC)
    time.sleep(0.01)
    database = get_database(app)
    published: list[dt.datetime] = []
    for kb in kbs:
        with database.write() as session:
            current = reading.get_article(session, kb)
            snapshot = revisions.publish(
                session,
                kb,
                current.revision_id,
                revisions.Change(keywords=["edited"]),
                author="bench",
                summary="bench edit",
            )
        published.append(snapshot.revision.created_at)
    bodies = [random_system(rng, catalog) for _ in range(301)]

    def check(
        instants: Iterator[dt.datetime | None], cold: bool = False, **extra: object
    ) -> Callable[[], None]:
        """A request per call, `as_of` the next of `instants` (None: without)."""

        def call() -> None:
            if cold:
                app.extensions["kbservice.rules_as_of"] = AsOfIndexes()
            as_of = next(instants)
            body = {"system": rng.choice(bodies), **extra}
            if as_of is not None:
                body["as_of"] = as_of.isoformat()
            response = client.post(
                "/api/v1/applicability", data=json.dumps(body), content_type="application/json"
            )
            assert response.status_code == 200, response.get_data(as_text=True)

        return call

    now = check(itertools.repeat(None))
    now()
    current_samples = timed(now, 300)
    emit(f"| {engine} | current: one system vs {articles} articles | {ms(current_samples)} |")
    flask = check(itertools.repeat(None), explain=False)
    flask()
    flask_samples = timed(flask, 300)
    emit(f"| {engine} | current, through Flask (not the fast lane) | {ms(flask_samples)} |")
    # Each request a new instant (just after one of the edits): each builds an index.
    fresh_samples = timed(check(iter(published[1:])), min(100, edits - 1))
    emit(f"| {engine} | as_of a new instant each request (index built) | {ms(fresh_samples)} |")
    warm = check(itertools.repeat(before))
    warm()
    warm_samples = timed(warm, 300)
    emit(f"| {engine} | as_of before {edits} edits, index cached | {ms(warm_samples)} |")
    cold_samples = timed(check(itertools.repeat(before), cold=True), 20)
    emit(f"| {engine} | as_of before {edits} edits, nothing remembered | {ms(cold_samples)} |")
    base = percentile(current_samples, 0.5)
    ratios = ", ".join(
        f"{name} {percentile(samples, 0.5) / base:.1f}×"
        for name, samples in (
            ("through Flask", flask_samples),
            ("new instant", fresh_samples),
            ("cached", warm_samples),
            ("nothing remembered", cold_samples),
        )
    )
    emit(f"| {engine} | p50 / current p50 | {ratios} | target ≤ 10× |")
    database.dispose()


def main() -> None:
    """Parse arguments, run the chosen parts on the chosen engines, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--part", choices=["feed", "asof", "both"], default="both")
    parser.add_argument("--revisions", type=int, default=REVISIONS)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--corpus", type=Path, help="a cached SQLite corpus to copy (SQLite)")
    args = parser.parse_args()
    print("| engine | measurement | result | |\n| --- | --- | --- | --- |")

    def run(make_url: Callable[[str], str], engine: str) -> None:
        if args.part in ("feed", "both"):
            measure_feed(make_url("feed"), engine, args.revisions)
        if args.part in ("asof", "both"):
            corpus = args.corpus if engine == "SQLite" else None
            measure_asof(make_url("asof"), engine, args.articles, args.products, args.edits, corpus)

    with tempfile.TemporaryDirectory(prefix="kbbench-") as folder:
        if args.engine in ("sqlite", "both"):
            run(lambda name: f"sqlite:///{folder}/{name}.sqlite3", "SQLite")
        if args.engine in ("postgresql", "both"):
            sys.path.insert(0, str(ROOT / "tests"))
            from pg import start_cluster

            cluster = start_cluster()
            try:

                def pg_url(name: str) -> str:
                    admin = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
                    with admin.connect() as connection:
                        connection.exec_driver_sql(f"CREATE DATABASE {name}")
                    admin.dispose()
                    return cluster.url(name)

                run(pg_url, "PostgreSQL")
            finally:
                cluster.stop()


if __name__ == "__main__":
    main()
