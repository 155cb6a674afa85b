"""CPU per request inside one process: kbservice's WSGI stack without gunicorn or a network.

Usage (from the project root, on a database holding a corpus, e.g. a copy of the
cached bench/out/corpus-….sqlite3 that load_bench.py builds):

    KB_DATABASE_URL=sqlite:///copy.sqlite3 .venv/bin/python bench/request_cpu.py
    KB_DATABASE_URL=… .venv/bin/python bench/request_cpu.py --profile article

The app is built and warmed as `kbservice serve` does before it forks (rule index,
catalog, change listener, watchdog and Deadline middleware, multiprocess metrics), then
each request set of load_bench.py — the raw WSGI and bare-Flask ceilings, article GETs
over every KB in both locales, applicability for one system, searches over common terms
— is called through the WSGI interface in a loop, and the process's CPU time
(time.process_time) per request is printed. What gunicorn adds (HTTP parsing, sockets)
is the same for every endpoint and is left out, so the differences are kbservice's own.
`--profile NAME` prints cProfile's costliest functions for one request set instead.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import harness
import load_bench

Request = tuple[str, str, str, bytes]  # method, path, query string, body


def environ_for(request: Request) -> dict[str, Any]:
    """The WSGI environ gunicorn would give this request (keep-alive HTTP/1.1, JSON body)."""
    method, path, query, body = request
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "RAW_URI": path + ("?" + query if query else ""),
        "SERVER_NAME": harness.HOST,
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": harness.HOST,
        "HTTP_HOST": f"{harness.HOST}:8000",
        "HTTP_USER_AGENT": "wrk",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body:
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def call(app: Callable[..., Any], request: Request) -> str:
    """One request through `app`; its status line."""
    answer: list[str] = []

    def start_response(status: str, _headers: list[tuple[str, str]], _exc: Any = None) -> Any:
        answer.append(status)
        return lambda _data: None

    body = app(environ_for(request), start_response)
    try:
        for _chunk in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return answer[0]


def cpu_per_request(app: Callable[..., Any], requests: Sequence[Request], count: int) -> float:
    """Milliseconds of this process's CPU per request, over `count` requests in rotation."""
    for request in requests[: min(len(requests), 200)]:
        status = call(app, request)
        if not status.startswith(("200", "304")):
            raise RuntimeError(f"{request[:3]} answered {status}")
    started = time.process_time()
    for i in range(count):
        call(app, requests[i % len(requests)])
    return (time.process_time() - started) * 1000 / count


def request_sets(url: str, corpus: harness.Corpus, kbs_count: int) -> dict[str, list[Request]]:
    """The requests of load_bench.py, as (method, path, query, body)."""
    rng = random.Random(11)
    products = harness.catalog_products(corpus)
    kbs = harness.kbs_of(url, kbs_count or corpus.articles)
    articles = [
        ("GET", f"/api/v1/articles/{kb}", f"locale={locale}", b"")
        for kb in kbs
        for locale in load_bench.LOCALES
    ]
    searches = [
        ("GET", "/api/v1/articles", query.split("?", 1)[1], b"")
        for query in load_bench.search_paths()
    ]
    singles = [
        (
            "POST",
            "/api/v1/applicability",
            "",
            load_bench.single_body(harness.random_system(rng, products)).encode(),
        )
        for _ in range(500)
    ]
    return {
        "raw ceiling": [("GET", "/", "", b"")],
        "ceiling": [("GET", "/", "", b"")],
        "article": articles,
        "applicability": singles,
        "search": searches,
    }


def served_app() -> Any:
    """kbservice's WSGI callable as `kbservice serve` hands it to gunicorn, warmed."""
    from kbservice import create_app
    from kbservice.http.context import get_database
    from kbservice.http.server import prepare_for_fork
    from kbservice.http.watchdog import Deadline, Watchdog

    app = create_app()
    prepare_for_fork(app)
    database = get_database(app)
    if database.changes is not None:
        database.changes.start()
    watchdog = Watchdog(app.config["REQUEST_TIMEOUT"])
    watchdog.start()
    return Deadline(app, watchdog)


def main() -> None:
    """Measure (or profile) every request set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000, help="corpus size (for its KBs)")
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=20_000, help="requests per set")
    parser.add_argument("--kbs", type=int, default=0, help="KBs of the article GETs (0: all)")
    parser.add_argument("--profile", help="print cProfile's top functions for this set")
    parser.add_argument("--only", action="append", help="measure only this set (repeatable)")
    args = parser.parse_args()
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="kbcpu-"))
    os.environ.setdefault("KB_LOG_LEVEL", "WARNING")
    # Appended: the kbservice measured is the one on PYTHONPATH, if any.
    sys.path.append(str(harness.ROOT))
    from bench import ceiling_app

    corpus = harness.Corpus(args.articles, args.products, args.seed)
    sets = request_sets(os.environ["KB_DATABASE_URL"], corpus, args.kbs)
    kbservice = served_app()
    apps = {"raw ceiling": ceiling_app.raw, "ceiling": ceiling_app.app}
    if args.profile:
        app = apps.get(args.profile, kbservice)
        profiler = cProfile.Profile()
        profiler.runcall(cpu_per_request, app, sets[args.profile], args.requests)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
        return
    for name, requests in sets.items():
        if args.only and name not in args.only:
            continue
        ms = cpu_per_request(apps.get(name, kbservice), requests, args.requests)
        print(f"{name:<14} {ms * 1000:7.1f} µs CPU/request over {len(requests)} distinct")


if __name__ == "__main__":
    main()
