"""Worker memory of large applicability batches (issue 15): the results budget and streaming.

Usage (from the project root):

    .venv/bin/python bench/batch_memory.py --articles 3000 --engine sqlite

It takes a fresh copy of a synthetic corpus (`kbservice synth`, cached in bench/out/),
starts `kbservice serve` with one worker and one thread, makes the worker build its rule
index, and then sends, one at a time:

a. 5,000 systems that carry no facts (the request that once grew a worker to 23.5 GB;
   every article is `unknown` for each of them): now refused with 413;
b. the largest batch of such systems the results budget allows (budget ÷ articles);
c. 1,000 systems that each name a catalog product (and nothing else);
d. the same 1,000 systems with `articles` listing one KB 1,000 times.

For each it prints the status, the answer's size and time, and the worker's resident
memory (VmRSS) before and after, and its peak (VmHWM) since the start. The answer is
read in pieces and only counted, so the client holds none of it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness

sys.path.insert(0, str(harness.ROOT))
from kbservice.config import DEFAULTS

_MIB = 2**20


def status_kib(pid: int, field: str) -> int:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM)."""
    text = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in text.splitlines() if line.startswith(f"{field}:"))
    return int(line.split()[1])


def post(port: int, path: str, document: Any) -> tuple[int, int, float, bytes]:
    """Status, body bytes, seconds and the body's first 300 bytes; the body is only counted."""
    body = json.dumps(document).encode()
    started = time.perf_counter()
    connection = http.client.HTTPConnection(harness.HOST, port, timeout=600)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        size, head = 0, b""
        while piece := response.read(_MIB):
            size += len(piece)
            head = head or piece[:300]
        return response.status, size, time.perf_counter() - started, head
    finally:
        connection.close()


def article_count(url: str) -> int:
    """Articles in the corpus: what one system without facts is judged against."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM articles")).scalar_one()
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--budget", type=int, default=DEFAULTS["MAX_APPLICABILITY_RESULTS"])
    args = parser.parse_args()
    corpus = harness.Corpus(articles=args.articles)
    products = [product.id for product in harness.catalog_products(corpus)]
    with (
        harness.engine_url(args.engine, corpus) as url,
        tempfile.TemporaryDirectory(prefix="kbbench-", dir=harness.OUT) as folder,
    ):
        articles = article_count(url)
        kb = harness.kbs_of(url, 1)[0]
        bare = max(1, min(args.budget // articles, DEFAULTS["MAX_BATCH_SYSTEMS"]))
        named = [{"id": f"p{i}", "product": products[i % len(products)]} for i in range(1000)]
        cases = [
            ("a. 5,000 systems, no facts", {"systems": [{"id": f"h{i}"} for i in range(5000)]}),
            (f"b. {bare} systems, no facts", {"systems": [{"id": f"h{i}"} for i in range(bare)]}),
            ("c. 1,000 systems, product only", {"systems": named}),
            ("d. c with one KB listed 1,000 times", {"systems": named, "articles": [kb] * 1000}),
        ]
        log = Path(folder) / "server.log"
        env = harness.kb_env(url, KB_MAX_APPLICABILITY_RESULTS=str(args.budget))
        port = harness.free_port()
        command = [
            str(harness.KBSERVICE),
            "serve",
            f"--port={port}",
            "--workers=1",
            "--threads=1",
            "--timeout=600",
        ]
        with harness.Server(command, env, port, log) as server:
            server.wait_ready("/api/v1/health")
            (pid,) = server.workers()
            warm = {"system": {"product": products[0]}}
            assert post(port, "/api/v1/applicability", warm)[0] == 200
            start = status_kib(pid, "VmRSS")
            print(
                f"{args.engine}, {articles} articles, budget {args.budget} results, "
                f"worker RSS after warm-up {start / 1024:.1f} MiB\n"
            )
            print("| request | status | answer | time | RSS before → after | growth | peak |")
            print("| --- | --- | --- | --- | --- | --- | --- |")
            for name, document in cases:
                before = status_kib(pid, "VmRSS")
                status, size, seconds, head = post(port, "/api/v1/applicability/batch", document)
                after = status_kib(pid, "VmRSS")
                peak = status_kib(pid, "VmHWM")
                print(
                    f"| {name} | {status} | {size / 1e6:.1f} MB | {seconds:.2f} s "
                    f"| {before / 1024:.1f} → {after / 1024:.1f} MiB "
                    f"| {(after - start) / 1024:+.1f} MiB | {peak / 1024:.1f} MiB |"
                )
                if status != 200:
                    print(f"|   ↳ {head.decode(errors='replace')[:200]} |||||||")


if __name__ == "__main__":
    main()
