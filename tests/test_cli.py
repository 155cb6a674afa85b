"""The command line: migrations, drift check, seeding, and `kbservice serve` from outside."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

from kbservice.cli import main
from kbservice.storage.db import make_null_pool_engine
from kbservice.storage.migrate import check, upgrade
from kbservice.storage.models import Article, Product, Revision, RevisionText

SCRIPT = Path(sys.executable).parent / "kbservice"


def _counts(url: str) -> tuple[int, ...]:
    engine = make_null_pool_engine(url)
    with engine.connect() as conn:
        counts = tuple(
            conn.scalar(select(func.count()).select_from(model))
            for model in (Product, Article, Revision, RevisionText)
        )
    engine.dispose()
    return counts


def test_migrations_upgrade_an_empty_database_and_match_the_models(fresh_url):
    upgrade(fresh_url)
    check(fresh_url)  # raises when models and migrations drift apart


def test_db_upgrade_seed_and_idempotent_reseed(cli, fresh_url):
    result = cli.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert cli.invoke(main, ["db", "check"]).exit_code == 0
    first = cli.invoke(main, ["seed"])
    assert first.exit_code == 0, first.output
    assert "Created article KB885348" in first.output
    after_first = _counts(fresh_url)
    assert after_first[1] == 1 and after_first[0] >= 3
    second = cli.invoke(main, ["seed"])
    assert second.exit_code == 0, second.output
    assert "Nothing to do" in second.output
    assert _counts(fresh_url) == after_first


def test_help_explains_every_command():
    from click.testing import CliRunner

    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    for command in ("db", "seed", "serve"):
        assert command in top.output
    serve_help = runner.invoke(main, ["serve", "--help"])
    assert "--port" in serve_help.output and "--host" in serve_help.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_serve_migrates_seeds_and_answers_from_outside(fresh_url, engine_name, tmp_path):
    """`kbservice serve` by its full path, from another folder, without an activated venv."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin:/usr/local/bin"
    env["KB_DATABASE_URL"] = fresh_url
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(SCRIPT), "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, _ = _get(f"{base}/health")
                if status == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        status, headers, body = _get(f"{base}/articles/885348?locale=ja")
        assert status == 200
        assert headers["Content-Language"] == "ja"
        assert "IPSec NAT-T" in body.decode()
        status, _, _ = _get(f"{base}/articles/885348?locale=ja", {"If-None-Match": headers["ETag"]})
        assert status == 304
        # A request line of 8 KiB reaches the application.
        long_query = "x" * (8192 - len("GET /api/v1/articles?q= HTTP/1.1") - 2)
        status, headers, _ = _get(f"{base}/articles?q={long_query}")
        assert status < 500
        assert headers["Content-Type"].startswith("application/"), "gunicorn refused it"
        status, headers, _ = _get(f"{base}/articles/404404")
        assert status == 404 and headers["Content-Type"] == "application/problem+json"
    finally:
        server.terminate()
        server.wait(timeout=30)
    # It says how its caches learn of writes (docs/deployment.md): PostgreSQL listens too.
    said = log.read_text()
    assert "Caches ask the database after a change signal (KB_FRESHNESS=notify)" in said
    assert ("LISTEN kbservice_changes" in said) is (engine_name == "postgresql")
