"""Real servers (`kbservice serve`, or gunicorn on wsgi.py) for tests from outside."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCRIPT = Path(sys.executable).parent / "kbservice"
GUNICORN = Path(sys.executable).parent / "gunicorn"
PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(
    url: str, body: dict | None = None, headers: dict | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], Any]:
    """One HTTP request; returns status, headers and the decoded JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def resolve_885348_by_kb999999(base: str, token: str) -> None:
    """Edit KB885348's rules through the API: KB999999 installed resolves it."""
    status, headers, body = call(f"{base}/articles/885348/rules")
    assert status == 200
    body["rules"]["resolved_by"] = {"fact": "installed_updates", "contains": "KB999999"}
    status, _, answer = call(
        f"{base}/articles/885348/rules",
        {"rules": body["rules"], "examples": []},
        {"Authorization": f"Bearer {token}", "If-Match": headers["ETag"]},
        method="PUT",
    )
    assert status == 200, answer


@contextmanager
def running_server(
    url: str,
    workers: int,
    log: Path,
    *,
    wsgi: bool = False,
    log_level: str = "WARNING",
    settings: dict[str, str] | None = None,
    threads: int | None = None,
) -> Iterator[str]:
    """`kbservice serve` on a free port until the block ends; yields the API base URL.

    With `wsgi`, `gunicorn --preload wsgi:app` from the project folder instead.
    `settings` are extra environment variables (KB_*); `threads` is serve's --threads.
    """
    port = free_port()
    env = {**os.environ, "KB_DATABASE_URL": url, "KB_LOG_LEVEL": log_level, **(settings or {})}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = (
        [str(GUNICORN), "--preload", f"--workers={workers}", f"--bind=127.0.0.1:{port}", "wsgi:app"]
        if wsgi
        else [str(SCRIPT), "serve", "--port", str(port), "--workers", str(workers)]
    )
    if threads is not None and not wsgi:
        command += ["--threads", str(threads)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            # Its own process group, so a test can kill master and workers at once.
            start_new_session=True,
        )
    log.with_name(log.name + ".pid").write_text(str(process.pid))
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if call(f"{base}/health")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)
