"""Shared plumbing of the HTTP benchmarks: cached corpora, database engines, gunicorn servers.

`load_bench.py` and `soak.py` import it:

* `sqlite_corpus` / `postgres_corpus` give a database holding the synthetic corpus of
  `kbservice synth`, built once and cached in bench/out/ (gitignored) under a name made
  of the parameters and a digest of the code that shapes the stored rows (generator,
  seeds, search indexer and tokenizer): a change there rebuilds them;
* `engine_url` yields a fresh copy of that corpus on SQLite or on a throwaway
  PostgreSQL 15 cluster (tests/pg.py), upgraded to the current schema with
  `kbservice db upgrade` (newer migrations do not need a rebuild, as in production);
* `Server` starts a process (`kbservice serve`, or gunicorn on another app), waits for
  it to answer, reads its CPU time and its workers' memory, and stops it;
  `warm_workers` makes every worker build its rule index before anything is measured.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import http.client
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
KBSERVICE = BIN / "kbservice"
GUNICORN = BIN / "gunicorn"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Corpus:
    """Parameters of `kbservice synth`."""

    articles: int = 20_000
    products: int = 200
    seed: int = 7

    def key(self) -> str:
        """A file-name stem naming the parameters and the code that shapes the corpus."""
        return f"corpus-a{self.articles}-p{self.products}-s{self.seed}-{code_fingerprint()}"


def code_fingerprint() -> str:
    """A digest of the sources that shape the cached rows: generator, seeds, search index."""
    sources = [
        *sorted((ROOT / "kbservice" / "synth").glob("*.py")),
        *sorted((ROOT / "kbservice" / "fulltext").glob("*.py")),
        *sorted((ROOT / "seeds").rglob("*.yaml")),
    ]
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:10]


def kb_env(url: str, **extra: str) -> dict[str, str]:
    """The environment for a kbservice command on `url`, with request logging off.

    `KB_LOG_LEVEL=WARNING`: at INFO every request writes a JSON log line, which under
    load costs more than the request itself.
    """
    return {**os.environ, "KB_DATABASE_URL": url, "KB_LOG_LEVEL": "WARNING", **extra}


def synth(url: str, corpus: Corpus) -> None:
    """Load the corpus into `url` with `kbservice synth` (migrates and seeds first)."""
    print(f"building {corpus.key()} (a few minutes; cached afterwards) …", file=sys.stderr)
    command = [
        str(KBSERVICE),
        "synth",
        f"--articles={corpus.articles}",
        f"--products={corpus.products}",
        f"--seed={corpus.seed}",
    ]
    subprocess.run(command, env=kb_env(url), check=True, stdout=subprocess.DEVNULL)


def sqlite_corpus(corpus: Corpus) -> Path:
    """The cached SQLite file holding the corpus; built on first use."""
    cached = OUT / f"{corpus.key()}.sqlite3"
    if not cached.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=OUT) as folder:
            building = Path(folder) / "building.sqlite3"
            synth(f"sqlite:///{building}", corpus)
            checkpoint(building)
            building.rename(cached)
    return cached


def checkpoint(path: Path) -> None:
    """Fold the WAL into the main file, so that copying the file alone is a full copy."""
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()


def postgres_corpus(corpus: Corpus, url: str) -> None:
    """Restore the corpus into the empty database `url`, from a cached pg_dump file.

    Without the dump the corpus is synthesized into `url` and then dumped.
    """
    cached = OUT / f"{corpus.key()}.pgdump"
    libpq_url = url.replace("postgresql+psycopg://", "postgresql://")
    if cached.exists():
        subprocess.run(
            ["pg_restore", "--no-owner", "--single-transaction", "-d", libpq_url, str(cached)],
            check=True,
        )
        # Done now, as a long-running database would have it done: otherwise autovacuum
        # analyzes the restored tables during the first measurements.
        subprocess.run(["vacuumdb", "--analyze", "--quiet", "-d", libpq_url], check=True)
        return
    synth(url, corpus)
    OUT.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    subprocess.run(["pg_dump", "-Fc", "-f", str(partial), libpq_url], check=True)
    partial.rename(cached)


@contextlib.contextmanager
def engine_url(engine: str, corpus: Corpus) -> Iterator[str]:
    """A database URL holding a fresh copy of the corpus; removed afterwards."""
    if engine == "sqlite":
        source = sqlite_corpus(corpus)
        with tempfile.TemporaryDirectory(prefix="kbbench-", dir=OUT) as folder:
            copy = Path(folder) / "kb.sqlite3"
            shutil.copyfile(source, copy)
            url = f"sqlite:///{copy}"
            upgrade(url)
            yield url
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from pg import start_cluster

    cluster = start_cluster()
    try:
        url = cluster.url("postgres")
        postgres_corpus(corpus, url)
        upgrade(url)
        yield url
    finally:
        cluster.stop()


def upgrade(url: str) -> None:
    """Bring a cached corpus to the current schema (`kbservice db upgrade`)."""
    subprocess.run(
        [str(KBSERVICE), "db", "upgrade"], env=kb_env(url), check=True, stdout=subprocess.DEVNULL
    )


def kbs_of(url: str, limit: int) -> list[str]:
    """Up to `limit` KB numbers of the corpus, in a stable pseudo-random order."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT kb FROM articles ORDER BY (id * 7919) % 10007, id LIMIT :n"),
                {"n": limit},
            )
            return [row[0] for row in rows]
    finally:
        engine.dispose()


def create_token(url: str, name: str, role: str) -> str:
    """A new API token (`kbservice tokens create` prints it as its last line)."""
    result = subprocess.run(
        [str(KBSERVICE), "tokens", "create", f"--name={name}", f"--role={role}"],
        env=kb_env(url),
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip().splitlines()[-1]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, Mapping[str, str], bytes]:
    """One request on a new connection: status, headers, body."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class Server:
    """A server process in its own session: started, awaited, measured, stopped."""

    def __init__(
        self, command: Sequence[str], env: Mapping[str, str], port: int, log: Path
    ) -> None:
        self.port = port
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                list(command),
                cwd=ROOT,
                env=dict(env),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, path: str, timeout: float = 120) -> None:
        """Poll `path` until it answers 200; fail if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log}")
            with contextlib.suppress(OSError):
                if request(self.port, "GET", path, timeout=5)[0] == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout:.0f} s; see {self.log}")

    def workers(self) -> list[int]:
        """Process ids of the gunicorn workers (children of the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the master and its live workers so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in [self.process.pid, *self.workers()]:
            with contextlib.suppress(FileNotFoundError):
                # Fields after the command name (which may hold spaces): utime is the 12th.
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def worker_memory_mib(self) -> list[tuple[float, float]]:
        """(VmRSS, PSS) of each worker, in MiB: resident, and resident with shared pages split."""
        sizes = []
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            sizes.append((_kib_field(status, "VmRSS:") / 1024, _kib_field(rollup, "Pss:") / 1024))
        return sizes

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM the master (graceful); SIGKILL its process group if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _kib_field(text: str, name: str) -> int:
    """The value in kB of the /proc line starting with `name`."""
    line = next(line for line in text.splitlines() if line.startswith(name))
    return int(line.split()[1])


def kbservice_server(
    url: str,
    workers: int,
    threads: int,
    log: Path,
    metrics_dir: Path,
    timeout: int = 60,
    fast_lanes: bool = True,
) -> Server:
    """`kbservice serve` on a free port, request logging off, ready to answer.

    `timeout` is gunicorn's worker timeout (`kbservice serve --timeout`, default 60 s);
    `fast_lanes` False serves every request through the Flask views (KB_FAST_LANES=off).
    """
    port = free_port()
    command = [
        str(KBSERVICE),
        "serve",
        f"--port={port}",
        f"--workers={workers}",
        f"--threads={threads}",
        f"--timeout={timeout}",
    ]
    env = kb_env(
        url, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), KB_FAST_LANES="on" if fast_lanes else "off"
    )
    server = Server(command, env, port, log)
    try:
        server.wait_ready("/api/v1/health")
    except BaseException:
        server.stop()
        raise
    return server


def percentile(samples: list[float], fraction: float) -> float:
    """The `fraction` quantile of `samples` (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def load_average() -> str:
    """The 1-minute load average, as /proc/loadavg gives it."""
    return Path("/proc/loadavg").read_text().split()[0]


def catalog_products(corpus: Corpus) -> list[Any]:
    """The products of the corpus's catalog (the seeds plus the synthetic ones)."""
    # Appended: a kbservice on PYTHONPATH (another checkout's code) comes first.
    sys.path.append(str(ROOT))
    from kbservice.catalog.products import Catalog
    from kbservice.synth.rules import real_products, synthetic_products

    return list(Catalog.from_dicts(real_products() + synthetic_products(corpus.products)).products)


def random_system(rng: random.Random, products: Sequence[Any]) -> dict[str, Any]:
    """A fully described system (the contract's SYSTEM) on a random catalog product."""
    product = rng.choice(products)
    return {
        "product": product.id,
        "edition": rng.choice(product.editions).id,
        "architecture": rng.choice(product.architectures),
        "service_pack": rng.choice(product.service_packs).number,
        "roles": rng.sample(["vpn_server", "domain_controller", "file_server"], rng.randint(0, 2)),
        "ip_addresses": [rng.choice(["10.1.2.3", "192.168.0.9", "203.0.113.7"])],
        "installed_updates": [f"KB{rng.randint(800000, 999999)}" for _ in range(5)],
    }


def warm_workers(port: int, body: bytes, concurrency: int, timeout: float = 900) -> float:
    """Send rounds of `concurrency` applicability requests until every answer is fast.

    Each worker builds its rule index (every article's compiled rules) on its first
    applicability request; none of that should be measured. `concurrency` should be
    workers × threads, so that every worker gets requests. Returns the seconds the
    slowest request took (the workers' cold start).
    """

    def one(_: int) -> float:
        started = time.perf_counter()
        try:
            status = request(
                port,
                "POST",
                "/api/v1/applicability",
                body=body,
                headers={"Content-Type": "application/json"},
                timeout=timeout,
            )[0]
        except (OSError, http.client.HTTPException) as exc:
            # A worker killed by gunicorn's timeout while it builds: counted as slow.
            print(f"  warm-up request failed: {exc!r}", file=sys.stderr)
            return math.inf
        if status != 200:
            raise RuntimeError(f"applicability answered {status} while warming up")
        return time.perf_counter() - started

    deadline = time.monotonic() + timeout
    fast_rounds = 0
    cold = 0.0
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        while fast_rounds < 3:
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers still slow after {timeout:.0f} s of warm-up")
            times = list(pool.map(one, range(concurrency)))
            cold = max([cold, *(t for t in times if t < math.inf)])
            fast_rounds = fast_rounds + 1 if max(times) < 0.5 else 0
    return cold
