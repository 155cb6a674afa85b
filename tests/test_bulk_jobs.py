"""`synth`, `search reindex` and `import` with tokenizing worker processes (`--jobs`).

Workers must change nothing but the speed: the same rows, the same index (FTS5's own
tables on SQLite, the tsvectors on PostgreSQL), the same answers; a failing worker
must leave the database as it was.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

from kbservice import create_app
from kbservice.cli import main
from kbservice.fulltext import indexer, workers
from kbservice.http.context import get_database
from kbservice.storage.db import make_null_pool_engine
from kbservice.synth import corpus

SCRIPT = Path(sys.executable).parent / "kbservice"
ARTICLES = 40
# Small batches, so that several are in flight across the workers.
BATCH = 7
QUERIES = [
    "ネットワーク",
    "静的マッピング",
    "registry",
    "service pack",
    '"access is denied"',
    "Tcpip",
]
# Columns that record when a row was written, not what.
CLOCK_COLUMNS = {"products": "updated_at"}


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexer, "BATCH_SIZE", BATCH)
    monkeypatch.setattr(corpus, "BATCH_SIZE", BATCH)


def _run(url: str, *args: str) -> Any:
    return CliRunner(env={"KB_DATABASE_URL": url, "KB_LOG_LEVEL": "WARNING"}).invoke(main, args)


def _ok(url: str, *args: str) -> None:
    result = _run(url, *args)
    assert result.exit_code == 0, result.output


def _tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (FTS5's shadow tables included), tsvectors as text."""
    engine = make_null_pool_engine(url)
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name in inspect(conn).get_table_names():
            if name == "search_fts":  # contentless: its rows are empty, its shadow tables not
                continue
            columns = [
                f"{column['name']}::text" if str(column["type"]) == "TSVECTOR" else column["name"]
                for column in inspect(conn).get_columns(name)
                if column["name"] != CLOCK_COLUMNS.get(name)
            ]
            selected = ", ".join(columns)
            found = conn.execute(text(f"SELECT {selected} FROM {name}")).all()
            rows[name] = sorted((tuple(row) for row in found), key=repr)
    engine.dispose()
    return rows


def _index(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The index's content however it is laid out: documents, and every FTS5 token."""
    found = {name: _tables(url)[name] for name in ("search_documents", "search_locales")}
    engine = make_null_pool_engine(url)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.execute(
                text("CREATE VIRTUAL TABLE temp.tokens USING fts5vocab(main, search_fts, instance)")
            )
            found["tokens"] = sorted(map(tuple, conn.execute(text("SELECT * FROM temp.tokens"))))
    engine.dispose()
    return found


def _answers(url: str) -> list[Any]:
    """Each query's total and article ids, in rank order, as the API gives them."""
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    client = app.test_client()
    answers = []
    for query in QUERIES:
        for locale in ("ja", "en"):
            body = client.get(
                "/api/v1/articles", query_string={"q": query, "per_page": 100, "locale": locale}
            ).get_json()
            answers.append((query, locale, body["total"], [item["kb"] for item in body["items"]]))
    get_database(app).dispose()
    return answers


def test_synth_with_workers_writes_the_same_corpus_and_index(database_factory):
    one, many = database_factory.new_url(), database_factory.new_url()
    _ok(one, "synth", "--articles", str(ARTICLES), "--products", "3", "--jobs", "1")
    _ok(many, "synth", "--articles", str(ARTICLES), "--products", "3", "--jobs", "3")
    written = _tables(many)
    assert len(written["articles"]) == ARTICLES + 1  # and the seed article
    assert written == _tables(one)
    answers = _answers(many)
    assert answers == _answers(one)
    assert sum(total > 0 for _, _, total, _ in answers) >= len(QUERIES)
    # What synth indexed while loading is what a rebuild from the stored texts makes.
    _ok(one, "search", "reindex", "--jobs", "1")
    assert _index(one) == _index(many)
    assert _answers(one) == answers


def test_reindex_with_workers_builds_the_same_index(database_factory):
    url = database_factory.new_url()
    _ok(url, "synth", "--articles", str(ARTICLES), "--products", "3", "--jobs", "1")
    _ok(url, "search", "reindex", "--jobs", "1")
    in_process, answers = _index(url), _answers(url)
    tables = _tables(url)
    _ok(url, "search", "reindex", "--jobs", "4")
    assert _index(url) == in_process
    assert _tables(url) == tables  # FTS5's shadow tables too, byte for byte
    assert _answers(url) == answers
    assert sum(total for _, _, total, _ in answers) > 0


@pytest.mark.parametrize("failure", ["raises", "killed"])
def test_a_failing_worker_is_reported_and_nothing_is_written(
    database_factory, monkeypatch, failure
):
    url = database_factory.new_url()
    _ok(url, "synth", "--articles", str(ARTICLES), "--products", "3", "--jobs", "1")
    before, answers = _tables(url), _answers(url)
    parent = os.getpid()
    document_terms = workers.document_terms
    calls = []

    def fail_in_a_worker(segments: Any) -> Any:
        # Inherited by the forked workers: the second batch a worker takes fails.
        calls.append(1)
        if os.getpid() != parent and len(calls) > 2 * BATCH * 2:
            if failure == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            raise ValueError("no tokens for you")
        return document_terms(segments)

    monkeypatch.setattr(workers, "document_terms", fail_in_a_worker)
    message = {
        "raises": "tokenizing failed in a worker process: ValueError('no tokens for you')",
        "killed": "a tokenizing worker process ended abruptly",
    }[failure]

    result = _run(url, "search", "reindex", "--jobs", "2")
    assert result.exit_code == 1, result.output
    assert message in result.output and "Nothing was written" in result.output
    assert _tables(url) == before
    assert _answers(url) == answers

    fresh = database_factory.new_url()
    result = _run(fresh, "synth", "--articles", str(ARTICLES), "--products", "3", "--jobs", "2")
    assert result.exit_code == 1, result.output
    assert message in result.output and "Nothing was written" in result.output
    migrated_only = database_factory.new_url()
    _ok(migrated_only, "db", "upgrade")
    assert _tables(fresh) == _tables(migrated_only)


def _state(pid: str) -> str:
    """A process's state letter (Z: ended, waiting to be reaped), or "" once gone."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split() or [""])[0]
    except OSError:
        return ""


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
@pytest.mark.parametrize("stop", ["ctrl-c", "kill"])
def test_stopping_a_reindex_leaves_no_worker_and_no_partial_index(database_factory, stop):
    url = database_factory.new_url()
    _ok(url, "synth", "--articles", "400", "--products", "3", "--jobs", "2")
    before = _tables(url)
    command = subprocess.Popen(
        [str(SCRIPT), "search", "reindex", "--jobs", "2"],
        env={**os.environ, "KB_DATABASE_URL": url, "KB_LOG_LEVEL": "WARNING"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    children: list[str] = []
    deadline = time.monotonic() + 60
    while not children and command.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{command.pid}/task/{command.pid}/children").read_text().split()
        time.sleep(0.01)
    assert children, "the workers were never seen"
    if stop == "ctrl-c":
        os.killpg(command.pid, signal.SIGINT)  # a terminal signals the whole process group
    else:
        command.kill()  # the command alone, without a chance to clean up
    output = command.communicate(timeout=60)[0].decode()
    assert command.returncode != 0, output
    if stop == "ctrl-c":
        assert "Aborted!" in output and "Traceback" not in output, output
    deadline = time.monotonic() + 10
    while any(_state(pid) not in ("", "Z") for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_state(pid) in ("", "Z") for pid in children), [_state(pid) for pid in children]
    assert _tables(url) == before
