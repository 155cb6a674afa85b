"""Registered systems and webhooks (issue 20): registration rate, a rules change with 100,000
systems, the article's systems list, and delivery throughput.

Usage (from the project root):

    .venv/bin/python bench/systems_bench.py --engine both --systems 100000

On a freshly seeded database per engine (SQLite file, throwaway PostgreSQL 15 cluster),
through `kbservice serve` (2 workers × 4 threads, delivery in serve off):

* register: POST /api/v1/systems/batch, 5,000 systems a request, until --systems;
* publish:  PUT KB885348's rules so that the verdict of most systems changes; verdicts
  are re-evaluated and deliveries enqueued in the publishing transaction, so the 200
  is the moment both are done (the figure is the PUT's latency);
* list:     GET /api/v1/articles/885348/systems?page=N&per_page=100, random pages, right
  after the publish (on PostgreSQL again after a VACUUM, as autovacuum leaves it a
  minute or two later), with the CPU time per request of the server's processes and, on
  PostgreSQL, of the cluster's (autovacuum included);
* deliver:  1,000 single-system PUTs (each a small delivery) to 4 webhooks, then one
  `kbservice worker` (KB_WEBHOOK_CONCURRENCY=4) sends everything pending to a local
  receiver; deliveries/s and the most sockets the worker held open (--no-deliver: stop
  before this step).

Targets: register >= 2,000 systems/s; publish <= 5 s; list p95 <= 50 ms; deliver >= 200/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import KBSERVICE, OUT, Server, create_token, free_port, kb_env, request  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from tests.receivers import receiving  # noqa: E402

KB = "885348"
BATCH = 5000
EDITIONS = ["standard", "enterprise", "web"]


def system(rng: random.Random, number: int) -> dict:
    """A Windows Server 2003 machine: KB885348's rules judge every one of them."""
    facts = {
        "id": f"host-{number:06d}.example.net",
        "product": "windows_server_2003",
        "edition": rng.choice(EDITIONS),
        "architecture": rng.choice(["x86", "x64"]),
        "service_pack": rng.choice([1, 2]),
        "roles": rng.choice([["vpn_server"], ["file_server"], ["vpn_server", "dns_server"]]),
        "ip_addresses": [f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"],
    }
    if rng.random() < 0.5:
        del facts["ip_addresses"]  # behind_nat unknown
    return facts


def call(port: int, method: str, path: str, token: str, body: object = None, **headers: str):
    data = json.dumps(body).encode() if body is not None else None
    all_headers = {"Authorization": f"Bearer {token}", **headers}
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    status, answer_headers, raw = request(port, method, path, data, all_headers, timeout=300)
    return status, answer_headers, json.loads(raw) if raw else None


def row(engine: str, what: str, took: str, rate: str = "") -> None:
    """Print one row of the results table at once."""
    print(f"| {engine} | {what} | {took} | {rate} |", flush=True)


def socket_count(pid: int) -> int:
    """Open sockets of a process."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            count += os.readlink(fd).startswith("socket:")
    return count


def process_cpu(pid: int, children: bool = False) -> float:
    """User + system CPU seconds of a process (with its reaped children's if `children`)."""
    with contextlib.suppress(FileNotFoundError):
        # Fields after the command name (which may hold spaces): utime is the 12th.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        used = int(fields[11]) + int(fields[12])
        if children:
            used += int(fields[13]) + int(fields[14])
        return used / os.sysconf("SC_CLK_TCK")
    return 0.0


def database_cpu(folder: Path | None) -> float:
    """CPU seconds of a PostgreSQL cluster: its postmaster, live backends and reaped ones."""
    if folder is None:
        return 0.0
    postmaster = int((folder / "data" / "postmaster.pid").read_text().split()[0])
    backends = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return process_cpu(postmaster, children=True) + sum(process_cpu(int(p)) for p in backends)


def list_pages(
    engine: str,
    port: int,
    token: str,
    rng: random.Random,
    total: int,
    note: str,
    server: Server,
    cluster: Path | None,
) -> None:
    """Time 300 requests for random pages of the article's systems list, and their CPU."""
    pages = max(1, total // 100)
    timings = []
    cpu = (server.cpu_seconds(), database_cpu(cluster))
    for _ in range(300):
        page = rng.randint(1, pages)
        started = time.perf_counter()
        status, _, _ = call(
            port, "GET", f"/api/v1/articles/{KB}/systems?page={page}&per_page=100", token
        )
        timings.append(time.perf_counter() - started)
        assert status == 200
    served = (server.cpu_seconds() - cpu[0]) / len(timings) * 1000
    database = (database_cpu(cluster) - cpu[1]) / len(timings) * 1000
    timings.sort()
    p95 = timings[int(len(timings) * 0.95)]
    row(
        engine,
        f"GET …/systems (per_page=100, random pages of {pages:,}{note})",
        f"p50 {statistics.median(timings) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms",
        f"CPU a request: kbservice {served:.1f} ms"
        + (f", PostgreSQL {database:.1f} ms" if cluster else "")
        + f"; load average {os.getloadavg()[0]:.1f}",
    )


def run(
    engine: str, url: str, systems: int, folder: Path, cluster: Path | None, deliver: bool
) -> None:
    port = free_port()
    command = [str(KBSERVICE), "serve", f"--port={port}", "--workers=2", "--threads=4"]
    env = kb_env(url, KB_DELIVER_IN_SERVE="false", KB_REQUEST_TIMEOUT="300")
    with Server(command, env, port, folder / f"{engine}-serve.log") as server:
        server.wait_ready("/api/v1/health")
        admin = create_token(url, "bench-admin", "admin")
        inventory = create_token(url, "bench-inventory", "inventory")
        editor = create_token(url, "bench-editor", "editor")
        with receiving() as receiver:
            for _ in range(4):
                body = {
                    "url": receiver.url,
                    "secret": "bench-secret-0123456789",
                    "events": ["verdict.changed"],
                }
                assert call(port, "POST", "/api/v1/webhooks", admin, body)[0] == 201
            rng = random.Random(20)
            started = time.perf_counter()
            for start in range(0, systems, BATCH):
                batch = [system(rng, n) for n in range(start, min(start + BATCH, systems))]
                status, _, answer = call(
                    port, "POST", "/api/v1/systems/batch", inventory, {"systems": batch}
                )
                assert status == 200 and all("status" in r for r in answer["results"]), answer
            elapsed = time.perf_counter() - started
            row(
                engine,
                f"register {systems:,} systems (batches of {BATCH:,})",
                f"{elapsed:.1f} s",
                f"{systems / elapsed:,.0f} systems/s",
            )

            before = call(port, "GET", f"/api/v1/articles/{KB}/systems?per_page=1", inventory)[2][
                "total"
            ]
            status, headers, _ = call(port, "GET", f"/api/v1/articles/{KB}/rules", editor)
            rules = {
                "all": [
                    {"product": "windows_server_2003"},
                    {"fact": "architecture", "equals": "x86"},
                ]
            }
            started = time.perf_counter()
            status, _, answer = call(
                port,
                "PUT",
                f"/api/v1/articles/{KB}/rules",
                editor,
                {"rules": rules, "examples": []},
                **{"If-Match": headers["ETag"]},
            )
            elapsed = time.perf_counter() - started
            assert status == 200, answer
            after = call(port, "GET", f"/api/v1/articles/{KB}/systems?per_page=1", inventory)[2][
                "total"
            ]
            hooks = call(port, "GET", "/api/v1/webhooks", admin)[2]["items"]
            queued = sum(
                call(port, "GET", f"/api/v1/webhooks/{h['id']}/deliveries?per_page=1", admin)[2][
                    "total"
                ]
                for h in hooks
            )
            row(
                engine,
                f"rules change, {systems:,} registered (applies {before:,} → {after:,}); "
                f"verdicts stored and {queued:,} deliveries enqueued at the 200",
                f"{elapsed:.2f} s",
                "",
            )

            list_pages(engine, port, inventory, rng, after, "", server, cluster)
            if engine == "postgresql":
                # What autovacuum does within a minute or two of a large publish: sets the
                # visibility map, so counting and skipping use the index alone.
                vacuum = create_engine(url, isolation_level="AUTOCOMMIT")
                with vacuum.connect() as connection:
                    connection.execute(text("VACUUM ANALYZE system_verdicts"))
                vacuum.dispose()
                list_pages(engine, port, inventory, rng, after, ", after VACUUM", server, cluster)

            timings = []
            cpu = server.cpu_seconds()
            for _ in range(300):
                started = time.perf_counter()
                assert call(port, "GET", "/api/v1/webhooks", admin)[0] == 200
                timings.append(time.perf_counter() - started)
            served = (server.cpu_seconds() - cpu) / len(timings) * 1000
            timings.sort()
            p95 = timings[int(len(timings) * 0.95)]
            row(
                engine,
                "baseline on the same machine: GET /api/v1/webhooks (token, 4 rows)",
                f"p50 {statistics.median(timings) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms",
                f"CPU a request: kbservice {served:.1f} ms; load average {os.getloadavg()[0]:.1f}",
            )

            if not deliver:
                return
            for n in range(1000):
                facts = system(rng, n)
                facts.pop("id")
                facts["service_pack"] = 2 if n % 2 else 1
                facts["architecture"] = "x86" if n % 3 else "x64"
                call(port, "PUT", f"/api/v1/systems/single-{n}", inventory, facts)
            total = sum(
                call(port, "GET", f"/api/v1/webhooks/{h['id']}/deliveries?per_page=1", admin)[2][
                    "total"
                ]
                for h in hooks
            )
            worker_env = kb_env(url, KB_WEBHOOK_CONCURRENCY="4")
            started = time.perf_counter()
            worker = subprocess.Popen([str(KBSERVICE), "worker"], env=worker_env, cwd=ROOT)
            most = 0
            try:
                while len(receiver.accepted) < total:
                    most = max(most, socket_count(worker.pid))
                    time.sleep(0.05)
                elapsed = time.perf_counter() - started
            finally:
                worker.terminate()
                worker.wait(30)
            row(
                engine,
                f"deliver {total:,} pending deliveries to 4 webhooks (1 worker, 4 threads)",
                f"{elapsed:.1f} s",
                f"{total / elapsed:,.0f} deliveries/s, at most {most} sockets open",
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--systems", type=int, default=100_000)
    parser.add_argument(
        "--no-deliver", action="store_true", help="stop after the list and baseline rows"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    print("| engine | what | time | rate |")
    print("| --- | --- | --- | --- |")
    for engine in engines:
        with tempfile.TemporaryDirectory(prefix="kbbench-systems-", dir=OUT) as folder:
            if engine == "sqlite":
                run(
                    engine,
                    f"sqlite:///{folder}/kb.sqlite3",
                    args.systems,
                    Path(folder),
                    None,
                    not args.no_deliver,
                )
                continue
            from tests.pg import start_cluster

            cluster = start_cluster()
            try:
                run(
                    engine,
                    cluster.url("postgres"),
                    args.systems,
                    Path(folder),
                    cluster.folder,
                    not args.no_deliver,
                )
            finally:
                cluster.stop()


if __name__ == "__main__":
    main()
