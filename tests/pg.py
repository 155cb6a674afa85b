"""A throwaway PostgreSQL cluster in a temporary folder, for the test suite."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_available() -> bool:
    """True when initdb and pg_ctl are on PATH."""
    return bool(shutil.which("initdb") and shutil.which("pg_ctl"))


@dataclass
class Cluster:
    """A running cluster; `url(db)` gives an SQLAlchemy URL for one of its databases."""

    folder: Path
    port: int
    user: str
    run_as: str | None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _cmd(self, *args: str) -> list[str]:
        # PostgreSQL refuses to run as root: run its binaries as the postgres user.
        return ["runuser", "-u", self.run_as, "--", *args] if self.run_as else list(args)

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server but keep its data (to simulate an outage)."""
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "stop"),
            check=False,
            capture_output=True,
        )

    def start_server(self) -> None:
        """Start (or restart) the server on its port."""
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            self._cmd(
                "pg_ctl",
                "-D",
                str(self.folder / "data"),
                "-o",
                options,
                "-l",
                str(self.folder / "log"),
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        self.stop_server("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb + pg_ctl start on a free loopback port; trust authentication for user `kb`."""
    folder = Path(tempfile.mkdtemp(prefix="kbservice-pg-"))
    run_as = None
    if os.geteuid() == 0:
        run_as = "postgres"
        entry = pwd.getpwnam(run_as)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    cluster = Cluster(folder=folder, port=port, user="kb", run_as=run_as)
    subprocess.run(
        cluster._cmd(
            "initdb",
            "-D",
            str(folder / "data"),
            "-U",
            "kb",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        ),
        check=True,
        capture_output=True,
    )
    cluster.start_server()
    return cluster


def terminate_backends(url: str, condition: str) -> int:
    """End the sessions of `url`'s database that match the SQL `condition`; how many."""
    from sqlalchemy import text

    from kbservice.storage.db import make_null_pool_engine

    engine = make_null_pool_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        f"WHERE datname = current_database() AND {condition}"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()
