"""`kbservice synth` and `kbservice search reindex` timed end to end, with CPU per process.

Each run gets a fresh database (an SQLite file under bench/out/, or a new database on the
PostgreSQL server at --pg), runs `kbservice synth --articles N` then `kbservice search
reindex` as separate processes and prints, for each: wall time, the command's CPU (user +
sys, its worker processes included), PostgreSQL's server CPU (the backends of that
database, sampled from /proc every 0.2 s), max RSS and the load average before and after.
On a shared machine wall time follows the load; the quiet-machine estimate divides each
process's CPU over the cores: max(busiest process, all CPU / cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KBSERVICE = Path(sys.executable).parent / "kbservice"
TICK = os.sysconf("SC_CLK_TCK")


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _sample_own_cpu(process: subprocess.Popen[str]) -> list[float]:
    """The command's own CPU (not its workers'), last sampled just before it ends."""
    own = [0.0]

    def sample() -> None:
        while process.poll() is None:
            try:
                own[0] = _cpu(process.pid)
            except (OSError, ValueError):
                return
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()
    return own


class ServerCpu:
    """Sums the CPU of the PostgreSQL backends serving one database while running."""

    def __init__(self, database: str) -> None:
        self.prefix = f"postgres: kb {database} ".encode()
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    if Path(f"/proc/{entry}/cmdline").read_bytes().startswith(self.prefix):
                        self.seen[int(entry)] = _cpu(int(entry))
                except OSError:
                    continue

    def __enter__(self) -> ServerCpu:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def total(self) -> float:
        return sum(self.seen.values())


def run(label: str, args: list[str], env: dict[str, str], database: str | None) -> None:
    """Run one command and print its figures."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = _load()
    started = time.perf_counter()
    server = ServerCpu(database) if database else None
    if server:
        server.__enter__()
    process = subprocess.Popen(
        [str(KBSERVICE), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    own = _sample_own_cpu(process)
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    if server:
        server.__exit__()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode:
        sys.exit(f"{label} failed:\n{stdout}\n{stderr[-3000:]}")
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    line = (
        f"{label}: {wall:.1f} s wall, {user:.1f} user + {system:.1f} sys = "
        f"{user + system:.1f} s client CPU (main process {own[0]:.1f} s, its workers "
        f"{user + system - own[0]:.1f} s)"
    )
    if server:
        line += f", {server.total:.1f} s server CPU"
    line += f", max RSS {after.ru_maxrss // 1024} MB, load {load_before} → {_load()}"
    print(line, flush=True)
    print("   ", stdout.strip().splitlines()[-1], flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, help="--jobs for both commands (default: theirs)")
    parser.add_argument("--pg", default="127.0.0.1:55433", help="host:port of a PostgreSQL 15")
    parser.add_argument("--name", default=f"bulk_{os.getpid()}", help="database/file name")
    options = parser.parse_args()
    env = {**os.environ, "KB_LOG_LEVEL": "WARNING"}
    jobs = ["--jobs", str(options.jobs)] if options.jobs else []
    database = None
    if options.engine == "sqlite":
        folder = ROOT / "bench" / "out"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{options.name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        env["KB_DATABASE_URL"] = f"sqlite:///{path}"
    else:
        database = options.name
        host = options.pg
        admin = ["psql", "-q", "-h", host.split(":")[0], "-p", host.split(":")[1], "-U", "kb"]
        subprocess.run(
            [*admin, "postgres", "-c", f'DROP DATABASE IF EXISTS "{database}"'], check=True
        )
        subprocess.run([*admin, "postgres", "-c", f'CREATE DATABASE "{database}"'], check=True)
        env["KB_DATABASE_URL"] = f"postgresql+psycopg://kb@{host}/{database}"
    print(f"{options.engine}, {options.articles} articles, jobs {options.jobs or 'default'}")
    run("synth", ["synth", "--articles", str(options.articles), *jobs], env, database)
    run("reindex", ["search", "reindex", *jobs], env, database)


if __name__ == "__main__":
    main()
