"""Serving at scale: `kbservice serve` on an existing large corpus, as an operator starts it.

Usage (from the project root), on a corpus made by `kbservice synth`:

    KB_DATABASE_URL=sqlite:////tmp/s200k.db .venv/bin/kbservice synth --articles 200000
    .venv/bin/python bench/scale_bench.py --database-url sqlite:////tmp/s200k.db

It starts `kbservice serve` (its default workers and threads unless told otherwise) and
measures, through HTTP on new connections as a client sees it:

* cold start: seconds from launching the command to the first answer of the health
  check, of an article and of a single-system applicability request;
* latency p50 / p95 / max of single-system applicability (random systems on the
  catalog's products, read from `GET /api/v1/products`), article GETs rotating over KBs
  in both locales, and searches with a new query each time (so no result cache helps);
* memory of each worker (VmRSS and PSS: resident with shared pages split between the
  processes that share them) after a mixed warm-up that reaches every worker.

Targets (issue 17, 200,000 articles): applicability p95 ≤ 20 ms, search p95 ≤ 50 ms,
PSS ≤ 250 MB per worker, cold start to first answer ≤ 30 s. Markdown on stdout.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import random
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    KBSERVICE,
    Server,
    free_port,
    kb_env,
    kbs_of,
    load_average,
    percentile,
    request,
)

# Words of the synthetic vocabulary, combined into two-word queries: each query text is
# new to the server, so every search is answered by the index, not by a cache.
SEARCH_WORDS = [
    "静的", "推奨", "マッピング", "ダンプ", "ネットワーク", "mapping", "memory", "server",
    "update", "network", "static", "dump", "ipsec", "サーバー", "更新", "構成",
]  # fmt: skip


def random_system(rng: random.Random, products: list[dict]) -> dict:
    """A fully described system on a random catalog product (the contract's SYSTEM)."""
    product = rng.choice(products)
    return {
        "product": product["id"],
        "edition": rng.choice(product["editions"]),
        "architecture": rng.choice(product["architectures"]),
        "service_pack": rng.choice(product["service_packs"]),
        "roles": rng.sample(["vpn_server", "domain_controller", "file_server"], rng.randint(0, 2)),
        "ip_addresses": [rng.choice(["10.1.2.3", "192.168.0.9", "203.0.113.7"])],
    }


def wait_for(check: Callable[[], bool], started: float, timeout: float) -> float:
    """Poll `check` until it is true; seconds since `started`."""
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no answer within {timeout:.0f} s")


def timed(action: Callable[[], int], count: int) -> list[float]:
    """Milliseconds of `count` calls of `action`, each of which must answer 200."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        status = action()
        samples.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"answered {status}")
    return samples


def main() -> None:
    """Start the server on the corpus, measure, print Markdown."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--database-url", required=True, help="a corpus made by kbservice synth")
    parser.add_argument("--workers", type=int, help="kbservice serve --workers (default: its own)")
    parser.add_argument("--threads", type=int, help="kbservice serve --threads (default: its own)")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per kind")
    parser.add_argument("--warmup", type=float, default=20, help="seconds of mixed warm-up")
    parser.add_argument("--cold-timeout", type=float, default=600)
    args = parser.parse_args()

    port = free_port()
    command = [str(KBSERVICE), "serve", f"--port={port}"]
    command += [f"--workers={args.workers}"] if args.workers else []
    command += [f"--threads={args.threads}"] if args.threads else []
    kbs = kbs_of(args.database_url, 5000)
    rng = random.Random(1)
    log = Path(tempfile.mkdtemp(prefix="scale-bench-")) / "serve.log"
    json_headers = {"Content-Type": "application/json"}
    print(f"load average before: {load_average()}", file=sys.stderr)

    started = time.monotonic()
    server = Server(command, kb_env(args.database_url), port, log)
    try:
        health = wait_for(
            lambda: request(port, "GET", "/api/v1/health", timeout=5)[0] == 200,
            started,
            args.cold_timeout,
        )
        article = wait_for(
            lambda: request(port, "GET", f"/api/v1/articles/{kbs[0]}")[0] == 200,
            started,
            args.cold_timeout,
        )
        products = json.loads(request(port, "GET", "/api/v1/products")[2])["items"]
        products = [p for p in products if p["editions"] and p["architectures"]]

        def applicability() -> int:
            body = json.dumps({"system": random_system(rng, products)}).encode()
            return request(port, "POST", "/api/v1/applicability", body, json_headers)[0]

        first_applicability = wait_for(lambda: applicability() == 200, started, args.cold_timeout)
        cold = {"health": health, "article": article, "applicability": first_applicability}

        def article_get() -> int:
            kb = rng.choice(kbs)
            locale = rng.choice(["ja", "en"])
            return request(port, "GET", f"/api/v1/articles/{kb}?locale={locale}")[0]

        def search() -> int:
            words = " ".join(rng.sample(SEARCH_WORDS, 2))
            query = urllib.parse.urlencode({"q": words, "page": rng.randint(1, 50)})
            return request(port, "GET", f"/api/v1/articles?{query}")[0]

        kinds = {"applicability": applicability, "article": article_get, "search": search}
        # Every worker answers each kind before anything is measured (per-worker caches).
        concurrency = 4 * len(server.workers()) * (args.threads or 4)
        deadline = time.monotonic() + args.warmup
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            while time.monotonic() < deadline:
                list(pool.map(lambda i: list(kinds.values())[i % 3](), range(concurrency)))
        memory = server.worker_memory_mib()
        latencies = {name: timed(action, args.requests) for name, action in kinds.items()}
        memory_after = server.worker_memory_mib()
    finally:
        server.stop()

    print(f"- load average after: {load_average()}; workers: {len(memory)}")
    print(
        "- cold start (launch → first 200): " + ", ".join(f"{k} {v:.1f} s" for k, v in cold.items())
    )
    pss = [p for _, p in memory_after]
    rss = [r for r, _ in memory_after]
    print(
        "- per worker after warm-up and the timed requests: "
        f"PSS {min(pss):.0f}–{max(pss):.0f} MiB, "
        f"VmRSS {min(rss):.0f}–{max(rss):.0f} MiB (after warm-up only: PSS "
        f"{min(p for _, p in memory):.0f}–{max(p for _, p in memory):.0f} MiB)"
    )
    print("\n| request (HTTP, new connection each) | n | p50 ms | p95 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, samples in latencies.items():
        print(
            f"| {name} | {len(samples)} | {percentile(samples, 0.5):.1f} | "
            f"{percentile(samples, 0.95):.1f} | {max(samples):.1f} |"
        )


if __name__ == "__main__":
    main()
