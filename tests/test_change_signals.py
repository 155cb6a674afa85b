"""KB_FRESHNESS=notify: caches skip the freshness query until a change is signalled.

Writes through a server on the same host are seen by the next response (the shared
host counter; test_scale_out.py runs in both modes, on both databases). These tests give two servers
different runtime folders, as on two hosts, so that only the database's notifications
can tell one about the other's writes; `KB_FRESHNESS_MAX_AGE=3600` keeps the periodic
re-check from doing it for them.
"""

from __future__ import annotations

import multiprocessing
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from kbservice.cli import main
from kbservice.storage.changes import HostCounter
from kbservice.storage.db import make_null_pool_engine

from .conftest import make_token, migrated_and_seeded
from .pg import terminate_backends
from .servers import call, free_port, resolve_885348_by_kb999999
from .servers import running_server as server

ARTICLE = "articles/885348?locale=ja"


def _host(tmp_path: Path, name: str) -> dict[str, str]:
    folder = tmp_path / name
    folder.mkdir()
    return {"KB_RUNTIME_DIR": str(folder), "KB_FRESHNESS_MAX_AGE": "3600"}


def _served(base: str, count: int = 12) -> set[str]:
    """Revision numbers of KB885348 served to `count` plain GETs (spread over workers)."""
    return {call(f"{base}/{ARTICLE}")[2]["revision"]["number"] for _ in range(count)}


def _notice_dates(base: str, count: int = 12) -> set[tuple[str, ...]]:
    return {tuple(n["date"] for n in call(f"{base}/{ARTICLE}")[2]["notices"]) for _ in range(count)}


def _eventually(probe, expected, seconds: float = 10.0):
    """`probe()` until it returns `expected`; the last answer otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        answer = probe()
        if answer == expected or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


# KB885348's notices before and after _change_lifecycle_outside_kbservice: end of support
# (2015-07-14), then, with extended support until 2099, end of mainstream support.
BEFORE = {("2015-07-14",)}
AFTER = {("2010-07-13",)}


_SET_EXTENDED_END = {
    "postgresql": "UPDATE products SET updated_at = now(), data = jsonb_set("
    "data::jsonb, '{extended_end}', to_jsonb(CAST(:end AS text)))::json "
    "WHERE id = 'windows_server_2003'",
    "sqlite": "UPDATE products SET updated_at = strftime('%Y-%m-%d %H:%M:%f', 'now'), "
    "data = json_set(data, '$.extended_end', :end) WHERE id = 'windows_server_2003'",
}


def _change_lifecycle_outside_kbservice(url: str, extended_end: str = "2099-12-31") -> None:
    engine = make_null_pool_engine(url)
    with engine.begin() as connection:
        connection.execute(text(_SET_EXTENDED_END[engine.dialect.name]), {"end": extended_end})
    engine.dispose()


@pytest.fixture
def postgresql(engine_name):
    if engine_name != "postgresql":
        pytest.skip("the PostgreSQL variant: SQLite has no notifications")


def test_writes_reach_servers_on_other_hosts_through_notifications(
    postgresql, fresh_url, tmp_path, make_app
):
    url = migrated_and_seeded(fresh_url)
    token = make_token(make_app({"DATABASE_URL": url}), "editor")
    with (
        server(url, 2, tmp_path / "a.log", settings=_host(tmp_path, "a")) as first,
        server(url, 2, tmp_path / "b.log", settings=_host(tmp_path, "b")) as second,
    ):
        (old,) = _served(first) | _served(second)
        resolve_885348_by_kb999999(first, token)
        (new,) = _served(first)  # same host as the writer: the very next response
        assert new != old
        assert _eventually(lambda: _served(second), {new}) == {new}

        # A write made outside kbservice (psql, a script) notifies through the triggers.
        assert _notice_dates(first) == _notice_dates(second) == BEFORE
        _change_lifecycle_outside_kbservice(url)
        assert _eventually(lambda: _notice_dates(first), AFTER) == AFTER
        assert _eventually(lambda: _notice_dates(second), AFTER) == AFTER


# Scraped without a token: a token's use is recorded, and that write would signal a change.
_PUBLIC_METRICS = {"KB_METRICS": "public"}


def _listeners_connected(base: str) -> float | None:
    """`kb_change_listeners_connected` from the server's /metrics (see _PUBLIC_METRICS)."""
    root = base.removesuffix("/api/v1")
    with urllib.request.urlopen(f"{root}/metrics", timeout=20) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("kb_change_listeners_connected "):
                return float(line.split()[1])
    return None


def test_a_listener_that_loses_its_connection_reconnects(postgresql, fresh_url, tmp_path):
    url = migrated_and_seeded(fresh_url)
    log = tmp_path / "b.log"
    with server(url, 2, log, settings={**_host(tmp_path, "b"), **_PUBLIC_METRICS}) as base:
        assert _notice_dates(base) == BEFORE
        assert _eventually(lambda: _listeners_connected(base), 2.0) == 2.0
        assert terminate_backends(url, "application_name = 'kbservice-listener'") == 2
        # Reads go on while the listeners reconnect (meanwhile each asks the database),
        # and writes made after that still arrive.
        assert _notice_dates(base) == BEFORE
        _change_lifecycle_outside_kbservice(url)
        assert _eventually(lambda: _notice_dates(base), AFTER) == AFTER
        assert _eventually(lambda: _listeners_connected(base), 2.0) == 2.0
    assert "change listener is not connected" in log.read_text()


def test_while_the_listener_cannot_connect_every_read_asks_the_database(
    postgresql, fresh_url, tmp_path
):
    url = migrated_and_seeded(fresh_url)
    nowhere = make_url(url).set(port=free_port()).render_as_string(hide_password=False)
    log = tmp_path / "b.log"
    settings = {**_host(tmp_path, "b"), **_PUBLIC_METRICS, "KB_LISTEN_DATABASE_URL": nowhere}
    with server(url, 2, log, settings=settings) as base:
        assert _notice_dates(base) == BEFORE
        _change_lifecycle_outside_kbservice(url)
        # No signal can come, and the re-check is an hour away: only asking helps.
        assert _notice_dates(base) == AFTER
        assert _listeners_connected(base) == 0.0
    assert "change listener is not connected" in log.read_text()


def _bump_many(path: str, times: int) -> None:
    counter = HostCounter(Path(path))
    for _ in range(times):
        counter.bump()


def test_the_host_counter_counts_every_bump_of_every_process(tmp_path):
    path = tmp_path / "counter"
    processes = [
        multiprocessing.get_context("fork").Process(target=_bump_many, args=(str(path), 300))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    _bump_many(str(path), 300)
    for process in processes:
        process.join()
        assert process.exitcode == 0
    assert HostCounter(path).value() == 1500


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"KB_FRESHNESS": "sometimes"}, "KB_FRESHNESS must be 'query' or 'notify'"),
        ({"KB_FRESHNESS_MAX_AGE": "soon"}, "KB_FRESHNESS_MAX_AGE must be a number"),
        ({"KB_FRESHNESS_MAX_AGE": "-1"}, "KB_FRESHNESS_MAX_AGE must be 0–3600 seconds"),
        ({"KB_SESSION_COOKIE_SECURE": "sometimes"}, "KB_SESSION_COOKIE_SECURE must be true or"),
    ],
)
def test_bad_freshness_settings_are_named_on_the_command_line(seeded_url, settings, message):
    result = CliRunner(env={"KB_DATABASE_URL": seeded_url, **settings}).invoke(
        main, ["db", "check"]
    )
    assert result.exit_code != 0
    assert message in result.output


def test_a_runtime_dir_that_cannot_be_used_is_named(seeded_url, tmp_path):
    missing = tmp_path / "no" / "such" / "folder"
    result = CliRunner(env={"KB_DATABASE_URL": seeded_url, "KB_RUNTIME_DIR": str(missing)}).invoke(
        main, ["db", "check"]
    )
    assert result.exit_code != 0
    assert "KB_RUNTIME_DIR: cannot keep the host change counter" in result.output


def test_a_listener_url_on_sqlite_is_refused_with_a_clear_message(seeded_url, engine_name):
    if engine_name != "sqlite":
        pytest.skip("the SQLite variant")
    env = {"KB_DATABASE_URL": seeded_url, "KB_LISTEN_DATABASE_URL": "postgresql://db/kb"}
    result = CliRunner(env=env).invoke(main, ["db", "check"])
    assert result.exit_code != 0
    assert "KB_LISTEN_DATABASE_URL is for PostgreSQL" in result.output


def test_on_sqlite_only_the_host_counter_and_the_max_age_signal_changes(
    fresh_url, engine_name, tmp_path, make_app
):
    """SQLite has no notifications: a write made outside kbservice waits for the max age.

    With the re-check an hour away, such a write stays unseen — the caches really do
    skip the database — until a write through kbservice bumps the host counter.
    """
    if engine_name != "sqlite":
        pytest.skip("the SQLite variant: PostgreSQL's triggers notify such writes")
    url = migrated_and_seeded(fresh_url)
    token = make_token(make_app({"DATABASE_URL": url}), "editor")
    with server(url, 2, tmp_path / "a.log", settings=_host(tmp_path, "a")) as base:
        # Enough requests that every worker remembers the stamps.
        assert _notice_dates(base, 40) == BEFORE
        _change_lifecycle_outside_kbservice(url)
        assert _notice_dates(base, 40) == BEFORE
        resolve_885348_by_kb999999(base, token)
        assert _notice_dates(base) == AFTER
    # With the default max age (1 s), a write outside kbservice shows by itself.
    settings = {"KB_RUNTIME_DIR": str(tmp_path / "a")}
    with server(url, 2, tmp_path / "b.log", settings=settings) as base:
        assert _notice_dates(base, 40) == AFTER
        _change_lifecycle_outside_kbservice(url, extended_end="2015-07-14")
        assert _eventually(lambda: _notice_dates(base), BEFORE, seconds=5) == BEFORE
