"""HTTP load benchmark: kbservice under gunicorn, driven by wrk, against two ceilings.

Usage (from the project root; needs `wrk` on PATH, and initdb/pg_ctl for PostgreSQL):

    .venv/bin/python bench/load_bench.py --engine both --workers 5 --threads 1,4

For each engine (SQLite, PostgreSQL 15 in a throwaway cluster) it takes a fresh copy of
a synthetic corpus (`kbservice synth`, cached in bench/out/), and for each thread count:

1. serves the two ceilings of bench/ceiling_app.py with gunicorn under the same workers
   and threads — `app`, one bare Flask route returning {"status": "ok"}, and `raw`, a
   WSGI callable returning the same bytes — beside kbservice (`kbservice serve
   --workers N --threads T`, KB_LOG_LEVEL=WARNING);
2. after warming every kbservice worker, measures one endpoint at a time with wrk
   (bench/wrk/rotate.lua rotates over pre-built requests, each run from a new offset):
   article GETs over every KB of the corpus in both locales (shuffled; --kbs for fewer),
   the same with If-None-Match (304), searches over common words and phrases of the
   corpus in both locales (QUERIES), applicability for one system, a batch of 100
   systems — each right after a measurement of both ceilings, so that every ratio
   compares runs taken under the same conditions (a short request file, the searches,
   is first sent to every worker a few times: see `prime`); a ratio uses the faster of that
   ceiling run and the median of all of them (the ceiling rows), so that a slowed-down
   ceiling run never flatters the endpoint after it;
3. reads the resident memory (VmRSS) of every gunicorn worker after the load.

It prints markdown tables: req/s, p50 and p99 per endpoint; the ratio of its req/s to
each ceiling's, with the issue-17 targets (TARGETS, RAW_TARGETS); the server's CPU time
per request (master and workers, user + system, from /proc: far less sensitive to other
load on the machine than req/s) and the ratio of each ceiling's to it; errors (socket
errors, non-2xx/3xx answers); then the memory of each worker (VmRSS, and PSS, which
splits shared pages between processes), the cold start (the slowest first applicability
request, while each worker builds its rule index) and worker restarts during the
measurements. bench/request_cpu.py measures the same requests inside one process.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import http.client
import itertools
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness

ROTATE_LUA = harness.ROOT / "bench" / "wrk" / "rotate.lua"
# The "≤ 250 MB" per worker, read as decimal megabytes: 238.4 MiB.
TARGET_RSS_MIB = 250e6 / 2**20

LOCALES = ("ja", "en")
# Search queries the load rotates over: common words and phrases of the synthetic
# corpus in both locales (its topics, components and fixes), as a helpdesk types them.
QUERIES = [
    ("静的", "ja"),
    ("ネットワーク アドレス変換", "ja"),
    ("推奨", "ja"),
    ("mapping", "en"),
    ("ipsec", "en"),
    ('"static mappings"', "en"),
    ("グループ ポリシー", "ja"),
    ("レジストリ", "ja"),
    ("ドメイン コントローラー", "ja"),
    ("ファイアウォール", "ja"),
    ("修正プログラム", "ja"),
    ("サービス 再起動", "ja"),
    ("証明書", "ja"),
    ("Group Policy", "en"),
    ("registry", "en"),
    ("domain controllers", "en"),
    ("Windows Firewall", "en"),
    ("hotfix", "en"),
    ("service pack", "en"),
    ("print spooler", "en"),
    ("Netlogon", "en"),
    ("Tcpip.sys", "en"),
]
# Varied searches, to see past the per-process result cache: two terms of the corpus's
# vocabulary, pages 1-20, both locales (3,360 distinct requests; a worker sees few twice).
VARIED_TERMS = [
    "EnableTimeout",
    "MaxConnections",
    "Retry",
    "静的",
    "推奨",
    "mapping",
    "ipsec",
    "ネットワーク",
    "構成",
    "サービス",
    "registry",
    "修正プログラム",
]
VARIED_WITH = ["Tcpip", "IPSec", "PolicyAgent", "Netlogon", "LanmanServer", "Spooler", "Dnscache"]
# Minimum ratio of an endpoint's req/s to the bare-Flask ceiling's and to the raw WSGI
# ceiling's (issue 17; "article 304" from issue 7, which named no raw target).
TARGETS = {"article": 0.8, "article 304": 0.7, "applicability": 0.6, "search": 0.5}
RAW_TARGETS = {"article": 0.5, "applicability": 0.4, "search": 0.3}


@dataclass
class Result:
    """One wrk measurement."""

    endpoint: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float = 0.0

    @property
    def cpu_per_request(self) -> float:
        """Server CPU (master and workers, user + system) per request, in ms."""
        return self.cpu_ms / max(self.requests, 1)

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds


@dataclass
class Settings:
    """How wrk drives each endpoint."""

    wrk_threads: int
    connections: int
    duration: int
    warmup: int
    gunicorn_timeout: int


# Where each wrk run starts in its request file: a measured run does not repeat the
# requests of its warm-up (which would find them in the caches of the workers).
_offsets = random.Random(17)


def wrk(port: int, requests_file: Path, endpoint: str, settings: Settings, seconds: int) -> Result:
    """Run wrk for `seconds` against `port`, rotating over `requests_file`."""
    command = [
        "wrk",
        f"-t{settings.wrk_threads}",
        f"-c{settings.connections}",
        f"-d{seconds}s",
        "--timeout=10s",
        f"-s{ROTATE_LUA}",
        f"http://{harness.HOST}:{port}",
        "--",
        str(requests_file),
        str(_offsets.randrange(1_000_000)),
    ]
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, timeout=seconds + 60
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    data = json.loads(line.removeprefix("RESULT "))
    errors = sum(
        data[key]
        for key in ("connect_errors", "read_errors", "write_errors", "timeouts", "bad_status")
    )
    return Result(
        endpoint=endpoint,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
    )


def measure(
    server: harness.Server, requests_file: Path, endpoint: str, settings: Settings
) -> Result:
    """A warm-up run, then the measured run, with the server's CPU time during it."""
    if settings.warmup:
        wrk(server.port, requests_file, endpoint, settings, settings.warmup)
    cpu = server.cpu_seconds()
    result = wrk(server.port, requests_file, endpoint, settings, settings.duration)
    result.cpu_ms = (server.cpu_seconds() - cpu) * 1000
    print(
        f"  {endpoint:<14} {result.rate:8.0f} req/s  p50 {result.p50_ms:6.1f} ms  "
        f"p99 {result.p99_ms:6.1f} ms  CPU {result.cpu_per_request:5.2f} ms/req  "
        f"errors {result.errors}",
        file=sys.stderr,
    )
    return result


# A request file this short is sent in full to every worker before its warm-up.
PRIMED_LINES = 100


def prime(port: int, requests_file: Path, workers: int, threads: int) -> None:
    """Send every request of a short file to (very likely) every worker, a few times.

    Per-process caches (search results) start empty in each worker; computing each
    distinct request once per worker is start-up, like the rule index warm_workers
    builds, and a 10 s run over a few dozen requests would otherwise mostly measure it.
    Each request goes out `2 × workers` times, `workers × threads` at once.
    """
    lines = requests_file.read_text(encoding="utf-8").splitlines()
    if len(lines) > PRIMED_LINES:
        return
    rows = [line.split("\t") for line in lines] * (2 * workers)

    def send(row: list[str]) -> int:
        method, path, etag, body = row
        headers = {"If-None-Match": etag} if etag else {}
        if body:
            headers["Content-Type"] = "application/json"
        return harness.request(port, method, path, body.encode() or None, headers)[0]

    with concurrent.futures.ThreadPoolExecutor(workers * threads) as pool:
        failed = [status for status in pool.map(send, rows) if status >= 400]
    if failed:
        raise RuntimeError(f"priming {requests_file.name}: answers {sorted(set(failed))}")


def write_requests(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """Write the rotate.lua request file: METHOD, PATH, IF-NONE-MATCH, BODY per line."""
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            assert not any("\t" in field or "\n" in field for field in row)
            handle.write("\t".join(row) + "\n")
    return path


def etags(port: int, paths: list[str]) -> list[str]:
    """The ETag of each article path, fetched over one keep-alive connection."""
    connection = http.client.HTTPConnection(harness.HOST, port, timeout=30)
    tags = []
    try:
        for path in paths:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {path} answered {response.status}")
            tags.append(response.getheader("ETag"))
    finally:
        connection.close()
    return tags


ENDPOINTS = ("article", "article 304", "search", "search, varied", "applicability", "batch 100")


def article_paths(kbs: list[str], rng: random.Random) -> list[str]:
    """A GET of every one of `kbs` in each locale, shuffled."""
    paths = [f"/api/v1/articles/{kb}?locale={locale}" for kb in kbs for locale in LOCALES]
    rng.shuffle(paths)
    return paths


def search_paths() -> list[str]:
    """The searches for QUERIES."""
    return [
        f"/api/v1/articles?{urllib.parse.urlencode({'q': query, 'locale': locale})}"
        for query, locale in QUERIES
    ]


def single_body(system: dict[str, Any]) -> str:
    """The body of a single-system applicability request."""
    return json.dumps({"system": system}, separators=(",", ":"))


def build_requests(
    folder: Path, port: int, kbs: list[str], products: list[Any], etag_count: int
) -> dict[str, Path]:
    """One request file per kbservice endpoint."""
    rng = random.Random(11)
    articles = article_paths(kbs, rng)
    conditional = articles[:etag_count]
    tags = etags(port, conditional)
    status = harness.request(port, "GET", conditional[0], headers={"If-None-Match": tags[0]})[0]
    if status != 304:
        raise RuntimeError(f"If-None-Match with the ETag answered {status}, not 304")
    searches = search_paths()
    varied = [
        "/api/v1/articles?"
        + urllib.parse.urlencode({"q": f"{term} {other}", "page": page, "locale": locale})
        for term in VARIED_TERMS
        for other in VARIED_WITH
        for page in range(1, 21)
        for locale in ("ja", "en")
    ]
    rng.shuffle(varied)
    singles = [single_body(harness.random_system(rng, products)) for _ in range(500)]
    batches = [
        json.dumps(
            {
                "systems": [
                    {"id": f"h{i}", **harness.random_system(rng, products)} for i in range(100)
                ]
            },
            separators=(",", ":"),
        )
        for _ in range(20)
    ]
    return {
        "article": write_requests(
            folder / "article.tsv", [("GET", path, "", "") for path in articles]
        ),
        "article 304": write_requests(
            folder / "article304.tsv",
            [("GET", path, f'"{tag}"', "") for path, tag in zip(conditional, tags, strict=True)],
        ),
        "search": write_requests(folder / "search.tsv", [("GET", p, "", "") for p in searches]),
        "search, varied": write_requests(
            folder / "varied.tsv", [("GET", p, "", "") for p in varied]
        ),
        "applicability": write_requests(
            folder / "single.tsv", [("POST", "/api/v1/applicability", "", b) for b in singles]
        ),
        "batch 100": write_requests(
            folder / "batch.tsv", [("POST", "/api/v1/applicability/batch", "", b) for b in batches]
        ),
    }


@contextlib.contextmanager
def ceiling_server(
    workers: int, threads: int, settings: Settings, folder: Path, app: str = "app"
) -> Iterator[harness.Server]:
    """A ceiling app under the same gunicorn settings, serving while kbservice does.

    `app` names the callable of bench/ceiling_app.py: `app` (bare Flask) or `raw` (WSGI).
    """
    port = harness.free_port()
    command = [
        str(harness.GUNICORN),
        f"--workers={workers}",
        f"--threads={threads}",
        f"--worker-class={'gthread' if threads > 1 else 'sync'}",
        f"--timeout={settings.gunicorn_timeout}",
        f"--bind={harness.HOST}:{port}",
        f"bench.ceiling_app:{app}",
    ]
    with harness.Server(command, os.environ, port, folder / f"ceiling-{app}.log") as server:
        server.wait_ready("/")
        yield server


@dataclass
class ConfigRun:
    """Everything measured under one gunicorn configuration."""

    # Each kbservice endpoint with the two ceilings (Flask, raw WSGI) measured before it.
    runs: list[tuple[Result, Result, Result]]
    cold_seconds: float
    rss_mib: list[float]
    pss_mib: list[float]
    restarts: int


def run_config(
    url: str,
    corpus: harness.Corpus,
    kbs: list[str],
    workers: int,
    threads: int,
    settings: Settings,
    etag_count: int,
    endpoints: list[str],
    fast_lanes: bool = True,
) -> ConfigRun:
    """The ceiling and every kbservice endpoint under one gunicorn configuration."""
    with tempfile.TemporaryDirectory(prefix="kbload-", dir=harness.OUT) as name:
        folder = Path(name)
        runs: list[tuple[Result, Result, Result]] = []
        metrics = folder / "metrics"
        metrics.mkdir()
        ceiling_requests = write_requests(folder / "ceiling.tsv", [("GET", "/", "", "")])
        with (
            ceiling_server(workers, threads, settings, folder) as top,
            ceiling_server(workers, threads, settings, folder, "raw") as raw,
            harness.kbservice_server(
                url,
                workers,
                threads,
                folder / "kbservice.log",
                metrics,
                settings.gunicorn_timeout,
                fast_lanes,
            ) as server,
        ):
            files = build_requests(
                folder, server.port, kbs, harness.catalog_products(corpus), etag_count
            )
            first_single = files["applicability"].read_text().splitlines()[0].split("\t")[3]
            started = set(server.workers())
            cold = harness.warm_workers(server.port, first_single.encode(), workers * threads)
            warm = set(server.workers())
            for endpoint in endpoints:
                requests_file = files[endpoint]
                # The ceilings right before each endpoint: the machine's speed drifts
                # (other work, page-cache writeback), and a ratio should compare
                # measurements taken under the same conditions.
                bare = measure(raw, ceiling_requests, "raw ceiling", settings)
                flask = measure(top, ceiling_requests, "ceiling", settings)
                prime(server.port, requests_file, workers, threads)
                runs.append((measure(server, requests_file, endpoint, settings), flask, bare))
            if server.process.poll() is not None:
                raise RuntimeError(f"kbservice exited during the load; see {server.log}")
            memory = server.worker_memory_mib()
            restarts = len(set(server.workers()) - warm) + len(warm - started)
    return ConfigRun(runs, cold, [rss for rss, _ in memory], [pss for _, pss in memory], restarts)


def machine_facts() -> str:
    """nproc, CPU model, memory, Python, date and load average, for the record."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        int(line.split()[1]) / 1024 / 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    return (
        f"{dt.date.today().isoformat()}; nproc {os.cpu_count()}, {model}, "
        f"{memory:.0f} GiB RAM; Python {platform.python_version()}, wrk {wrk_version}; "
        f"load average at start {harness.load_average()}"
    )


Row = tuple[str, str, Result, Result, Result]  # engine, config, result, Flask and raw ceiling


def _ratio_cells(result: Result, top: Result, target: float | None) -> str:
    """Ratio of req/s, its target with ✓/✗, and the CPU ratio against one ceiling."""
    ratio = result.rate / top.rate
    verdict = "" if target is None else f"≥ {target} {'✓' if ratio >= target else '✗'}"
    cpu_ratio = top.cpu_per_request / result.cpu_per_request if result.cpu_ms else 0.0
    return f"{ratio:.2f} | {verdict} | {cpu_ratio:.2f}"


def table(rows: list[Row]) -> str:
    """The markdown table of every measurement."""
    lines = [
        "| engine | workers × threads | endpoint | req/s | p50 ms | p99 ms "
        "| ratio to Flask ceiling | target | CPU ratio | ratio to raw WSGI | target "
        "| CPU ratio (raw) | server CPU ms/req | errors |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- | ---: "
        "| ---: | ---: |",
    ]
    for engine, config, result, top, raw in rows:
        lines.append(
            f"| {engine} | {config} | {result.endpoint} | {result.rate:.0f} | {result.p50_ms:.1f} "
            f"| {result.p99_ms:.1f} | {_ratio_cells(result, top, TARGETS.get(result.endpoint))} "
            f"| {_ratio_cells(result, raw, RAW_TARGETS.get(result.endpoint))} "
            f"| {result.cpu_per_request:.2f} | {result.errors} |"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--articles", type=int, default=20_000, help="corpus size")
    parser.add_argument("--products", type=int, default=200, help="synthetic products")
    parser.add_argument("--seed", type=int, default=7, help="corpus random seed")
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers"
    )
    parser.add_argument(
        "--threads",
        default="1,4",
        help="comma-separated threads per worker to compare (1: sync worker, more: gthread)",
    )
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument(
        "--gunicorn-timeout",
        type=int,
        default=60,
        help="gunicorn worker timeout, s (kbservice serve --timeout); sync workers that build "
        "their rule index at the same time may need more than the default",
    )
    parser.add_argument(
        "--kbs",
        type=int,
        default=0,
        help="KBs the article GETs rotate over, each in every locale (0: every KB of the corpus)",
    )
    parser.add_argument("--etags", type=int, default=500, help="KBs the 304 GETs rotate over")
    parser.add_argument(
        "--endpoint",
        dest="endpoints",
        action="append",
        choices=ENDPOINTS,
        help="measure only this endpoint (repeatable), for a quicker partial run (default: all)",
    )
    parser.add_argument(
        "--fast-lanes",
        default="on",
        help="comma-separated KB_FAST_LANES settings to compare, e.g. on,off for the A/B of "
        "the fast lanes against the plain Flask views, measured one after the other",
    )
    args = parser.parse_args()
    args.fast_lanes = [value.strip() == "on" for value in args.fast_lanes.split(",")]
    args.threads = [int(value) for value in args.threads.split(",")]
    args.endpoints = args.endpoints or list(ENDPOINTS)
    return args


def _median(results: list[Result]) -> Result:
    return sorted(results, key=lambda result: result.rate)[len(results) // 2]


def _faster(one: Result, other: Result) -> Result:
    return max(one, other, key=lambda result: result.rate)


def main() -> None:
    """Run every configuration on the chosen engines and print the tables."""
    args = parse_args()
    corpus = harness.Corpus(args.articles, args.products, args.seed)
    settings = Settings(
        args.wrk_threads, args.connections, args.duration, args.warmup, args.gunicorn_timeout
    )
    facts = machine_facts()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    rows: list[Row] = []
    memory: list[str] = []
    for engine in engines:
        with harness.engine_url(engine, corpus) as url:
            kbs = harness.kbs_of(url, args.kbs or corpus.articles)
            for threads, lanes in itertools.product(args.threads, args.fast_lanes):
                config = f"{args.workers} × {threads}"
                if len(args.fast_lanes) > 1:
                    config += ", lanes " + ("on" if lanes else "off")
                print(f"{names[engine]}, {config}:", file=sys.stderr)
                run = run_config(
                    url,
                    corpus,
                    kbs,
                    args.workers,
                    threads,
                    settings,
                    args.etags,
                    args.endpoints,
                    lanes,
                )
                flask = _median([top for _, top, _ in run.runs])
                raw = _median([bare for _, _, bare in run.runs])
                rows.append((names[engine], config, raw, flask, raw))
                rows.append((names[engine], config, flask, flask, raw))
                # Against the faster of the adjacent and the median ceiling: a ceiling
                # run that was slowed down must not flatter the endpoint after it.
                rows += [
                    (names[engine], config, result, _faster(top, flask), _faster(bare, raw))
                    for result, top, bare in run.runs
                ]
                worst = max(run.rss_mib)
                memory.append(
                    f"| {names[engine]} | {config} | {', '.join(f'{m:.0f}' for m in run.rss_mib)} "
                    f"| {', '.join(f'{m:.0f}' for m in run.pss_mib)} "
                    f"| {worst:.0f} | ≤ 238 (250 MB) {'✓' if worst <= TARGET_RSS_MIB else '✗'} "
                    f"| {run.cold_seconds:.1f} | {run.restarts} |"
                )
    print(f"{facts}; load average at end {harness.load_average()}\n")
    print(
        f"Corpus: {corpus.articles} articles, {corpus.products} synthetic products; wrk "
        f"-t{args.wrk_threads} -c{args.connections} -d{args.duration}s after a "
        f"{args.warmup} s warm-up; gunicorn --timeout {args.gunicorn_timeout}.\n"
    )
    print(table(rows))
    print(
        "\n| engine | workers × threads | VmRSS per worker (MiB) | PSS per worker (MiB) "
        "| max VmRSS | target | cold start (s) | worker restarts |"
    )
    print("| --- | --- | --- | --- | ---: | --- | ---: | ---: |")
    print("\n".join(memory))


if __name__ == "__main__":
    main()
