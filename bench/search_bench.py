"""Search benchmark: 20,000 bilingual articles, the full-text index against a LIKE scan.

Usage (from the project root):

    .venv/bin/python bench/search_bench.py --engine both

It builds the synthetic corpus (kbservice.synthetic, seed 0) next to the seeds in a
temporary SQLite file and/or a throwaway PostgreSQL cluster (tests/pg.py), times
`kbservice search reindex`'s work (rebuild_index) and measures the index size, then for
each query reports p50/p95 latency of

* domain: kbservice.search.search_articles, first page of 20;
* http:   GET /api/v1/articles?q=… through the Flask test client, in-process (no
  network: the figure is server time, JSON included);
* like:   SELECT DISTINCT article_id … WHERE text LIKE '%…%' over the same text (title
  and sections of every locale, one row per article and locale), which finds the same
  substrings without any ranking.

Targets (issue 17, at 20,000 articles): index ≤ 100 MiB (SQLite) / ≤ 300 MiB
(PostgreSQL), reindex ≤ 30 s, corpus load ≥ 1,000 / ≥ 500 articles/s, query p95 ≤ 20 /
≤ 50 ms on every row. `--articles 200000` gives the scale run.
The figures go to stdout as Markdown, for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, select, text  # noqa: E402
from tqdm import tqdm  # noqa: E402

from kbservice import create_app  # noqa: E402
from kbservice.api import fastpath  # noqa: E402
from kbservice.fulltext import rebuild_index  # noqa: E402
from kbservice.fulltext.engines import is_fts_table  # noqa: E402
from kbservice.fulltext.indexer import body_segments  # noqa: E402
from kbservice.fulltext.models import SearchDocument  # noqa: E402
from kbservice.search import search_articles, searching  # noqa: E402
from kbservice.storage.db import Database, make_null_pool_engine  # noqa: E402
from kbservice.storage.migrate import upgrade  # noqa: E402
from kbservice.storage.models import Revision, RevisionText  # noqa: E402
from kbservice.synth.corpus import generate_articles, load_corpus  # noqa: E402
from kbservice.transfer.seeding import seed  # noqa: E402

SEED = 0
# (what it stands for, query). The KB number is filled in from the corpus. The last three
# are stress cases: terms far more common than a real knowledge base's.
QUERIES = [
    ("two-character Japanese word", "静的"),
    ("Japanese phrase", "完全メモリ ダンプ"),
    ("English word", "mapping"),
    ("KB number", None),
    ("English phrase", '"complete memory dumps"'),
    ("stress: Japanese word in 3/4 of the articles", "推奨"),
    ("stress: Japanese phrase in 1/10 of the articles", "静的マッピング"),
    ("stress: long phrase of common katakana", "ネットワーク アドレス変換"),
]

plain = Table(
    "bench_plain_text",
    MetaData(),
    Column("article_id", Integer, nullable=False),
    Column("locale", String(16), nullable=False),
    Column("text", Text, nullable=False),
)


def percentile(samples: list[float], fraction: float) -> float:
    """The `fraction` quantile of `samples` (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(action: Callable[[], Any], repeat: int, warmup: int = 3) -> tuple[float, float]:
    """p50 and p95 of `action` in milliseconds."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), percentile(samples, 0.95)


def build(url: str, articles: int) -> dict[str, Any]:
    """Migrate, seed, load the corpus, rebuild the index; return timings and sizes."""
    upgrade(url)
    database = Database(make_null_pool_engine(url))
    started, cpu = time.perf_counter(), time.process_time()
    with (
        tqdm(total=articles, unit="article", desc="Loading", file=sys.stderr) as bar,
        database.write() as session,
    ):
        seed(session, ROOT / "seeds")
        load_corpus(session, articles, seed=SEED, progress=bar.update)
    loaded, loaded_cpu = time.perf_counter() - started, time.process_time() - cpu
    # Before the rebuild: on PostgreSQL its deleted rows would count until a VACUUM FULL.
    size = index_size(url)
    started, cpu = time.perf_counter(), time.process_time()
    with (
        tqdm(total=articles + 1, unit="article", desc="Reindexing", file=sys.stderr) as bar,
        database.write() as session,
    ):
        report = rebuild_index(session, progress=bar.update)
    reindexed, reindexed_cpu = time.perf_counter() - started, time.process_time() - cpu
    with database.write() as session:
        plain.create(session.connection())
        rows = session.execute(
            select(
                Revision.article_id, RevisionText.locale, RevisionText.title, RevisionText.sections
            ).join(RevisionText, RevisionText.revision_id == Revision.id)
        )
        session.execute(
            plain.insert(),
            [
                {
                    "article_id": a,
                    "locale": loc,
                    "text": "\n".join([title, *body_segments(sections)]),
                }
                for a, loc, title, sections in rows
            ],
        )
    if database.dialect == "postgresql":
        # What autovacuum does soon after a bulk load (SQLite plans without statistics).
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    database.dispose()
    return {
        "load": loaded,
        "load_cpu": loaded_cpu,
        "reindex": reindexed,
        "reindex_cpu": reindexed_cpu,
        "load_average": os.getloadavg()[0],
        "documents": report.documents,
        "tokens": report.tokens,
        "articles": articles,
        "size": size,
    }


def index_size(url: str) -> tuple[int, int]:
    """Bytes of the search index (tables and their indexes) and of the whole database."""
    engine = make_null_pool_engine(url)
    names = (SearchDocument.__tablename__,)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # The documents table, its indexes, and FTS5's shadow tables.
            tables = [
                name
                for name, table in conn.execute(text("SELECT name, tbl_name FROM sqlite_master"))
                if table in names or is_fts_table(table)
            ]
            index = sum(
                conn.scalar(text("SELECT sum(pgsize) FROM dbstat WHERE name = :n"), {"n": n}) or 0
                for n in tables
            )
            whole = conn.scalar(text("SELECT sum(pgsize) FROM dbstat")) or 0
        else:
            index = sum(
                conn.scalar(text("SELECT pg_total_relation_size(CAST(:n AS regclass))"), {"n": n})
                for n in names
            )
            whole = conn.scalar(text("SELECT pg_database_size(current_database())"))
    engine.dispose()
    return int(index), int(whole)


def measure(
    url: str, queries: list[tuple[str, str]], repeat: int, *, scan: bool = True
) -> list[dict[str, Any]]:
    """Time every query three ways, cold: the per-process result cache is bypassed.

    Without `scan` (a corpus this bench did not build has no plain-text table) the LIKE
    scan is left out.
    """
    searching.open_cache = lambda session: None
    searching.open_cache_for_reads = lambda readers: None
    # The API's fast lane answers cached pages only: with no cache it must pass.
    fastpath.cached_search = lambda *args, **kwargs: None
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    database = Database(make_null_pool_engine(url))
    results = []
    with database.session() as session:
        dialect = session.bind.dialect.name  # type: ignore[union-attr]
        for label, query in queries:
            page = search_articles(session, query)
            # The scan looks for the words as typed (a KB number as its digits).
            words = query.strip('"').lower().removeprefix("kb")
            pattern = f"%{words}%"
            column = (
                plain.c.text.ilike(pattern)
                if dialect == "postgresql"
                else plain.c.text.like(pattern)
            )
            statement = select(plain.c.article_id).where(column).distinct()

            def run_scan(statement: Any = statement) -> int:
                return len(session.execute(statement).all()) if scan else 0

            def run_http(query: str = query) -> None:
                response = client.get("/api/v1/articles", query_string={"q": query})
                assert response.status_code == 200

            results.append(
                {
                    "label": label,
                    "query": query,
                    "hits": page.total,
                    "relation": "≥" if page.total_relation == "gte" else "",
                    "scan_hits": run_scan(),
                    "domain": timed(lambda query=query: search_articles(session, query), repeat),
                    "http": timed(run_http, repeat),
                    "like": timed(run_scan, max(5, repeat // 5)) if scan else None,
                }
            )
    database.dispose()
    return results


def postgres_url() -> tuple[str, Callable[[], None]]:
    """A database in a new throwaway cluster, and how to stop it."""
    from tests.pg import start_cluster

    cluster = start_cluster()
    admin = make_null_pool_engine(cluster.url("postgres"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text('CREATE DATABASE "search_bench"'))
    admin.dispose()
    return cluster.url("search_bench"), cluster.stop


def report(engine: str, build_times: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The Markdown section of one engine."""
    lines = [
        f"### {engine}",
        "",
        f"- corpus load (articles, revisions, texts, applicability and index, bulk): "
        f"{build_times['load']:.0f} s ({build_times['articles'] / build_times['load']:,.0f} "
        f"articles/s); CPU time of the loading process {build_times['load_cpu']:.0f} s "
        f"({build_times['articles'] / build_times['load_cpu']:,.0f} articles/s)",
        f"- index build (`rebuild_index`, as `kbservice search reindex`): "
        f"{build_times['reindex']:.1f} s, CPU time of the process "
        f"{build_times['reindex_cpu']:.1f} s — {build_times['documents']:,} documents, "
        f"{build_times['tokens']:,} tokens",
        f"- load average after the build: {build_times['load_average']:.1f}",
        f"- index size: {build_times['size'][0] / 2**20:.0f} MiB "
        f"(database: {build_times['size'][1] / 2**20:.0f} MiB)",
        "",
        "| query | q | hits | domain p50 / p95 ms | HTTP p50 / p95 ms "
        "| LIKE scan p50 / p95 ms | scan ÷ domain (p50) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        domain, http, like = row["domain"], row["http"], row["like"]
        lines.append(
            f"| {row['label']} | `{row['query']}` | {row['hits']:,} | "
            f"{domain[0]:.1f} / {domain[1]:.1f} | {http[0]:.1f} / {http[1]:.1f} | "
            f"{like[0]:.0f} / {like[1]:.0f} | {like[0] / domain[0]:.0f}× |"
        )
    return "\n".join(lines)


def measure_existing(url: str, repeat: int) -> None:
    """Print the query table of an existing corpus (its KB row names a KB from it)."""
    engine = make_null_pool_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(text("SELECT count(*) FROM articles")) or 0
        kb = connection.scalar(
            text("SELECT kb FROM articles ORDER BY id LIMIT 1 OFFSET :n"), {"n": count // 2}
        )
    engine.dispose()
    queries = [(label, query or f"KB{kb}") for label, query in QUERIES]
    rows = measure(url, queries, repeat, scan=False)
    print(
        f"{count:,} articles ({engine.dialect.name}); {repeat} timed runs per query after "
        f"3 warm-up runs; load average {os.getloadavg()[0]:.1f} at the end\n"
    )
    print("| query | q | hits | domain p50 / p95 ms | HTTP p50 / p95 ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    for row in rows:
        domain, http = row["domain"], row["http"]
        print(
            f"| {row['label']} | `{row['query']}` | {row['relation']}{row['hits']:,} | "
            f"{domain[0]:.1f} / {domain[1]:.1f} | {http[0]:.1f} / {http[1]:.1f} |"
        )


def main() -> None:
    """Run the benchmark and print the Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument(
        "--database-url",
        help="time the queries on this existing corpus (e.g. kbservice synth --articles "
        "200000) instead of building one; no build figures and no LIKE scan",
    )
    args = parser.parse_args()
    if args.database_url:
        measure_existing(args.database_url, args.repeat)
        return
    kb = list(generate_articles(args.articles, seed=SEED))[args.articles // 2].kb
    queries = [(label, query or f"KB{kb}") for label, query in QUERIES]
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    sections = []
    for engine in engines:
        with tempfile.TemporaryDirectory(prefix="kbservice-search-bench-") as folder:
            stop: Callable[[], None] = lambda: None  # noqa: E731
            if engine == "sqlite":
                url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
            else:
                url, stop = postgres_url()
            try:
                build_times = build(url, args.articles)
                rows = measure(url, queries, args.repeat)
            finally:
                stop()
        sections.append(report(engine, build_times, rows))
        print(sections[-1], "\n", flush=True)
    print(
        f"{args.articles:,} articles (seed {SEED}) plus the seeds; {args.repeat} timed runs per "
        f"query after 3 warm-up runs. {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end."
    )


if __name__ == "__main__":
    main()
