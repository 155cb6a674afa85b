"""Soak test: mixed traffic against kbservice under gunicorn, then verify every acknowledged edit.

Usage (from the project root; initdb/pg_ctl on PATH for PostgreSQL):

    .venv/bin/python bench/soak.py --engine postgresql --duration 60

It serves a fresh copy of the synthetic corpus (cached in bench/out/, as for
load_bench.py) with `kbservice serve --workers N --threads T` (KB_LOG_LEVEL=WARNING),
creates an editor token with `kbservice tokens create`, warms every worker (each builds
its rule index on its first applicability request), and runs `--clients` client
processes (keep-alive `http.client`) for `--duration` seconds. Each picks, at random:
article GETs over many KBs, conditional GETs (304), searches, applicability for one
system, batches of systems, and edits: GET a hot article for its ETag, then PUT one
locale's text with If-Match. The few hot articles make edits race, so 412 is expected;
it is counted apart.

Right after each acknowledged edit, the client GETs the article on a new connection
(so most likely from another worker): it must serve that revision or a later one.
Then it checks, for every hot article:

* every acknowledged edit (200 from the PUT) is in `GET …/revisions`, and
  `GET …/revisions/{number}` serves exactly the title and sections the PUT returned;
* the revisions created during the run are exactly the acknowledged ones, each once,
  numbered contiguously after the one before the run (1.0 → 1.1 → 1.2 …).

It prints throughput, p50/p99 per operation, status counts, and exits 1 on any 5xx,
unexpected status, transport error, worker restart, error in the server log or
failed check. One exception: a safe request (not the PUT) that fails on a reused
keep-alive connection before any answer (the server closed the idle connection as the
request went out) is sent once more on a new connection and counted apart.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import http.client
import json
import random
import re
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness

# Operation → relative weight in the mix.
MIX = {"article": 35, "article 304": 10, "search": 15, "applicability": 20, "batch": 5, "edit": 15}
# Statuses each operation may answer; anything else is a violation.
EXPECTED = {
    "article": {200},
    "article 304": {304},
    "search": {200},
    "applicability": {200},
    "batch": {200},
    "edit GET": {200},
    "edit PUT": {200, 412},
    "edit read": {200},
}
SEARCHES = ["静的", "ネットワーク アドレス変換", "推奨", "mapping", "ipsec", '"static mappings"']
BATCH_SIZE = 20
SERVER_LOG_ERRORS = re.compile(r"Traceback|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT")


@dataclass(frozen=True)
class Edit:
    """An acknowledged edit: what the 200 answer of the PUT said."""

    kb: str
    locale: str
    number: str
    title: str
    sections: list[dict[str, Any]]


@dataclass
class ClientPlan:
    """What one client process does."""

    client: int
    port: int
    token: str
    duration: float
    kbs: list[str]
    hot: list[str]
    etags: dict[str, str]
    systems: list[dict[str, Any]]
    seed: int


@dataclass
class ClientReport:
    """What one client process saw."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    statuses: dict[str, collections.Counter[int]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    unexpected: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    keepalive_retries: list[str] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)


class Client:
    """One keep-alive connection that times and checks every exchange."""

    def __init__(self, port: int, report: ClientReport) -> None:
        self.connection = http.client.HTTPConnection(harness.HOST, port, timeout=30)
        self.report = report

    def exchange(
        self, method: str, path: str, payload: bytes | None, headers: dict[str, str], retry: bool
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """One round trip; with `retry`, once more on a new connection after a keep-alive race.

        A server may close an idle kept-alive connection just as a request is sent on it;
        the request then fails before any answer and, being safe, is sent again.
        """
        reused = self.connection.sock is not None
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            return response, response.read()
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected) as exc:
            self.connection.close()
            if not (retry and reused):
                raise
            self.report.keepalive_retries.append(f"{method} {path}: {exc!r}")
            return self.exchange(method, path, payload, headers, retry=False)

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPResponse | None, bytes]:
        """Send one request; record latency and status; status 0 on a transport error.

        Every operation but the PUT of an edit is safe to send twice: only those are
        retried after a keep-alive race.
        """
        headers = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            response, data = self.exchange(
                method, path, payload, headers, retry=operation != "edit PUT"
            )
        except (OSError, http.client.HTTPException) as exc:
            self.connection.close()
            self.report.transport_errors.append(f"{operation} {method} {path}: {exc!r}")
            return 0, None, b""
        self.report.latencies[operation].append(time.perf_counter() - started)
        self.report.statuses[operation][response.status] += 1
        if response.status not in EXPECTED[operation]:
            self.report.unexpected.append(
                f"{operation} {method} {path} → {response.status}: {data[:300]!r}"
            )
        return response.status, response, data


def edit(client: Client, plan: ClientPlan, rng: random.Random, serial: int) -> None:
    """GET a hot article for its ETag, then PUT a new text of one locale with If-Match."""
    kb = rng.choice(plan.hot)
    locale = rng.choice(["ja", "en"])
    status, response, _ = client.call("edit GET", "GET", f"/api/v1/articles/{kb}?locale={locale}")
    if status != 200 or response is None:
        return
    title = f"Soak c{plan.client} n{serial} ({locale})"
    sections = [{"heading": "Soak", "body": f"Edit {serial} by client {plan.client} of KB{kb}."}]
    status, _, data = client.call(
        "edit PUT",
        "PUT",
        f"/api/v1/articles/{kb}/translations/{locale}",
        body={"title": title, "sections": sections, "summary": f"soak {plan.client}/{serial}"},
        headers={
            "Authorization": f"Bearer {plan.token}",
            "If-Match": response.getheader("ETag") or "",
        },
    )
    if status != 200:
        return
    answer = json.loads(data)
    if answer["title"] != title or answer["sections"] != sections:
        client.report.unexpected.append(f"PUT KB{kb}/{locale} answered other content: {answer}")
    number = answer["revision"]["number"]
    client.report.edits.append(Edit(kb, locale, number, answer["title"], answer["sections"]))
    read_your_write(client, kb, locale, number)


def read_your_write(client: Client, kb: str, locale: str, number: str) -> None:
    """The next GET, on a new connection (likely another worker), serves the edit or later."""
    reader = Client(client.connection.port, client.report)
    try:
        status, _, data = reader.call("edit read", "GET", f"/api/v1/articles/{kb}?locale={locale}")
    finally:
        reader.connection.close()
    if status != 200:
        return
    served = json.loads(data)["revision"]["number"]
    if _revision_key(served) < _revision_key(number):
        client.report.unexpected.append(
            f"stale read: KB{kb}/{locale} served {served} after edit {number} was acknowledged"
        )


def _revision_key(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("."))


def run_client(plan: ClientPlan) -> ClientReport:
    """Drive the mix until the deadline (runs in its own process)."""
    rng = random.Random(plan.seed)
    report = ClientReport()
    client = Client(plan.port, report)
    operations = list(MIX)
    weights = list(MIX.values())
    conditional = list(plan.etags.items())
    deadline = time.monotonic() + plan.duration
    serial = 0
    while time.monotonic() < deadline:
        operation = rng.choices(operations, weights)[0]
        if operation == "article":
            client.call(operation, "GET", f"/api/v1/articles/{rng.choice(plan.kbs)}?locale=ja")
        elif operation == "article 304":
            path, tag = rng.choice(conditional)
            client.call(operation, "GET", path, headers={"If-None-Match": tag})
        elif operation == "search":
            query = urllib.parse.urlencode({"q": rng.choice(SEARCHES)})
            client.call(operation, "GET", f"/api/v1/articles?{query}")
        elif operation == "applicability":
            body = {"system": rng.choice(plan.systems)}
            client.call(operation, "POST", "/api/v1/applicability", body=body)
        elif operation == "batch":
            systems = [
                {"id": f"h{i}", **system}
                for i, system in enumerate(rng.sample(plan.systems, BATCH_SIZE))
            ]
            client.call(operation, "POST", "/api/v1/applicability/batch", body={"systems": systems})
        else:
            serial += 1
            edit(client, plan, rng, serial)
    client.connection.close()
    report.latencies = dict(report.latencies)
    report.statuses = dict(report.statuses)
    return report


def revision_numbers(port: int, kb: str) -> list[str]:
    """The article's revision numbers, oldest first."""
    status, _, data = harness.request(port, "GET", f"/api/v1/articles/{kb}/revisions")
    if status != 200:
        raise RuntimeError(f"GET revisions of KB{kb} answered {status}")
    return [item["number"] for item in reversed(json.loads(data)["items"])]


def verify(port: int, before: dict[str, list[str]], edits: list[Edit]) -> list[str]:
    """Check every acknowledged edit against the history; return the violations."""
    problems = []
    for kb, old in before.items():
        numbers = revision_numbers(port, kb)
        if numbers[: len(old)] != old:
            problems.append(
                f"KB{kb}: history before the run changed: {old} → {numbers[: len(old)]}"
            )
        created = numbers[len(old) :]
        acknowledged = [e.number for e in edits if e.kb == kb]
        if len(set(acknowledged)) != len(acknowledged):
            duplicates = [n for n, c in collections.Counter(acknowledged).items() if c > 1]
            problems.append(f"KB{kb}: revision numbers acknowledged twice: {duplicates}")
        if sorted(created) != sorted(acknowledged):
            missing = sorted(set(acknowledged) - set(created))
            extra = sorted(set(created) - set(acknowledged))
            problems.append(f"KB{kb}: acknowledged but absent {missing}; unacknowledged {extra}")
        major, minor = (int(part) for part in old[-1].split("."))
        expected = [f"{major}.{minor + step}" for step in range(1, len(created) + 1)]
        if created != expected:
            problems.append(f"KB{kb}: revisions not contiguous after {old[-1]}: {created}")
    for item in edits:
        path = f"/api/v1/articles/{item.kb}/revisions/{item.number}?locale={item.locale}"
        status, _, data = harness.request(port, "GET", path)
        if status != 200:
            problems.append(f"GET {path} → {status}")
            continue
        stored = json.loads(data)
        if (stored["title"], stored["sections"]) != (item.title, item.sections):
            problems.append(f"KB{item.kb} {item.number} {item.locale}: content differs from PUT")
    return problems


def summary(reports: list[ClientReport], seconds: float) -> tuple[str, int, int]:
    """A markdown table per operation; the total of 5xx answers and of 412s."""
    latencies: dict[str, list[float]] = collections.defaultdict(list)
    statuses: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for report in reports:
        for operation, samples in report.latencies.items():
            latencies[operation] += samples
        for operation, counts in report.statuses.items():
            statuses[operation].update(counts)
    lines = [
        "| operation | requests | req/s | p50 ms | p99 ms | statuses |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for operation in EXPECTED:
        samples = latencies.get(operation, [])
        if not samples:
            continue
        counts = ", ".join(f"{code}: {n}" for code, n in sorted(statuses[operation].items()))
        lines.append(
            f"| {operation} | {len(samples)} | {len(samples) / seconds:.1f} "
            f"| {harness.percentile(samples, 0.5) * 1000:.1f} "
            f"| {harness.percentile(samples, 0.99) * 1000:.1f} "
            f"| {counts} |"
        )
    everything = [sample for samples in latencies.values() for sample in samples]
    lines.append(
        f"| **all** | {len(everything)} | {len(everything) / seconds:.1f} "
        f"| {harness.percentile(everything, 0.5) * 1000:.1f} "
        f"| {harness.percentile(everything, 0.99) * 1000:.1f} | |"
    )
    server_errors = sum(n for c in statuses.values() for code, n in c.items() if code >= 500)
    return "\n".join(lines), server_errors, statuses["edit PUT"][412]


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--duration", type=float, default=60, help="seconds of traffic")
    parser.add_argument("--clients", type=int, default=6, help="client processes")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--hot", type=int, default=3, help="articles the edits race on")
    parser.add_argument("--articles", type=int, default=20_000, help="corpus size")
    parser.add_argument("--products", type=int, default=200, help="synthetic products")
    parser.add_argument("--seed", type=int, default=7, help="corpus random seed")
    return parser.parse_args()


def main() -> int:
    """Run the soak; return the exit status (1 on any violation)."""
    args = parse_args()
    corpus = harness.Corpus(args.articles, args.products, args.seed)
    rng = random.Random(5)
    violations: list[str] = []
    with (
        harness.engine_url(args.engine, corpus) as url,
        tempfile.TemporaryDirectory(prefix="kbsoak-", dir=harness.OUT) as name,
    ):
        folder = Path(name)
        token = harness.create_token(url, "soak", "editor")
        kbs = harness.kbs_of(url, 2000)
        hot, readable = kbs[: args.hot], kbs[args.hot :]
        products = harness.catalog_products(corpus)
        systems = [harness.random_system(rng, products) for _ in range(300)]
        (folder / "metrics").mkdir()
        with harness.kbservice_server(
            url, args.workers, args.threads, folder / "server.log", folder / "metrics"
        ) as server:
            before = {kb: revision_numbers(server.port, kb) for kb in hot}
            etags = {}
            for kb in readable[:200]:
                path = f"/api/v1/articles/{kb}?locale=ja"
                etags[path] = harness.request(server.port, "GET", path)[1]["ETag"]
            cold = harness.warm_workers(
                server.port,
                json.dumps({"system": systems[0]}).encode(),
                args.workers * args.threads,
            )
            workers_before = sorted(server.workers())
            plans = [
                ClientPlan(n, server.port, token, args.duration, readable, hot, etags, systems, n)
                for n in range(args.clients)
            ]
            started = time.monotonic()
            with concurrent.futures.ProcessPoolExecutor(args.clients) as pool:
                reports = list(pool.map(run_client, plans))
            elapsed = time.monotonic() - started
            if sorted(server.workers()) != workers_before:
                violations.append("gunicorn workers were restarted during the run")
            edits = [edit for report in reports for edit in report.edits]
            violations += verify(server.port, before, edits)
            if harness.request(server.port, "GET", "/api/v1/health")[0] != 200:
                violations.append("health check failed after the run")
        server_log = server.log.read_text(errors="replace")
        log_errors = [line for line in server_log.splitlines() if SERVER_LOG_ERRORS.search(line)]
        if log_errors:
            # Keep the whole log for the post-mortem: the folder is removed on exit.
            kept = harness.OUT / f"soak-{args.engine}-server.log"
            kept.write_text(server_log)
            violations.append(f"server log kept in {kept}")
    table, server_errors, conflicts = summary(reports, elapsed)
    for report in reports:
        violations += report.unexpected + report.transport_errors
    violations += [f"server log: {line}" for line in log_errors]
    print(
        f"Soak on {args.engine}: {args.workers} workers × {args.threads} threads, "
        f"{args.clients} client processes, {elapsed:.0f} s, {args.hot} hot articles, "
        f"corpus {args.articles} articles; workers warmed first (cold start {cold:.0f} s).\n"
    )
    print(table)
    per_article = ", ".join(
        f"KB{kb} {before[kb][-1]} + {sum(e.kb == kb for e in edits)}" for kb in before
    )
    print(
        f"\n5xx: {server_errors}; unexpected statuses: {sum(len(r.unexpected) for r in reports)}; "
        f"transport errors: {sum(len(r.transport_errors) for r in reports)}; "
        f"keep-alive races retried: {sum(len(r.keepalive_retries) for r in reports)}; "
        f"412 (racing edits, expected): {conflicts}; acknowledged edits verified: {len(edits)} "
        f"({per_article}); violations: {len(violations)}"
    )
    for violation in violations[:50]:
        print(f"VIOLATION: {violation}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
