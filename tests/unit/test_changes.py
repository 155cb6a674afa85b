"""When a remembered value is trusted, and when the database is asked again.

The listener's connection here is a stand-in that delivers notifications from a queue,
so that each state (not connected, listening, notified, disconnected) can be reached
exactly; test_change_signals.py runs the real thing against PostgreSQL.
"""

from __future__ import annotations

import queue
import time
from pathlib import Path

from sqlalchemy import create_engine

from kbservice.storage.changes import ChangeListener, Changes, HostCounter, Remembered, counter_path


class FakeConnection:
    """What ChangeListener uses of a psycopg connection, driven by the test."""

    def __init__(self) -> None:
        self.events: queue.Queue[str] = queue.Queue()
        self.listening = False

    def execute(self, sql: str) -> None:
        if sql.startswith("LISTEN"):
            self.listening = True

    def notifies(self, timeout: float):
        try:
            event = self.events.get(timeout=min(timeout, 0.05))
        except queue.Empty:
            return
        if event == "drop":
            raise OSError("server closed the connection")
        yield event

    def close(self) -> None:
        pass


class Source:
    """A database stand-in: each fetch returns how many fetches there were."""

    def __init__(self) -> None:
        self.fetches = 0

    def fetch(self) -> int:
        self.fetches += 1
        return self.fetches


def _wait(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _changes(tmp_path: Path, connections: list[FakeConnection], max_age: float = 60) -> Changes:
    def connect() -> FakeConnection:
        if not connections:
            raise OSError("connection refused")
        return connections.pop(0)

    return Changes(HostCounter(tmp_path / "counter"), ChangeListener(connect), max_age)


def test_without_signals_every_read_asks():
    source = Source()
    remembered = Remembered(source.fetch, None)
    assert [remembered.get() for _ in range(3)] == [1, 2, 3]


def test_while_the_listener_cannot_connect_every_read_asks(tmp_path):
    source = Source()
    changes = _changes(tmp_path, [])
    remembered = Remembered(source.fetch, changes)
    try:
        assert [remembered.get() for _ in range(3)] == [1, 2, 3]
    finally:
        changes.close()


def test_a_listening_process_asks_again_only_after_a_signal(tmp_path):
    connection = FakeConnection()
    source = Source()
    changes = _changes(tmp_path, [connection])
    remembered = Remembered(source.fetch, changes)
    try:
        changes.token()  # starts the listener
        _wait(lambda: changes.listener.listening)
        first = remembered.get()
        assert remembered.get() == remembered.get() == first

        changes.bump()  # a write committed on this host
        second = remembered.get()
        assert second == first + 1
        assert remembered.get() == second

        before = changes.token()
        connection.events.put("kbservice_changes")  # a write on another host
        _wait(lambda: changes.token() != before)
        third = remembered.get()
        assert third == second + 1
        assert remembered.get() == third
    finally:
        changes.close()


def test_a_lost_connection_means_asking_until_listening_again(tmp_path):
    first, second = FakeConnection(), FakeConnection()
    source = Source()
    changes = _changes(tmp_path, [first, second])
    remembered = Remembered(source.fetch, changes)
    try:
        changes.token()
        _wait(lambda: changes.listener.listening)
        kept = remembered.get()
        assert remembered.get() == kept

        before = changes.token()
        first.events.put("drop")
        _wait(lambda: second.listening)
        _wait(lambda: changes.listener.listening)
        # Reconnecting counts as a change: what happened meanwhile was not heard.
        assert changes.token() != before
        assert remembered.get() == kept + 1
        assert changes.listener.reconnections == 1
    finally:
        changes.close()


def test_remembered_values_are_asked_again_after_max_age(tmp_path):
    source = Source()
    changes = _changes(tmp_path, [FakeConnection()], max_age=0.05)
    remembered = Remembered(source.fetch, changes)
    try:
        changes.token()
        _wait(lambda: changes.listener.listening)
        value = remembered.get()
        assert remembered.get() == value
        time.sleep(0.06)
        assert remembered.get() == value + 1
    finally:
        changes.close()


def test_without_a_listener_the_host_counter_and_the_max_age_signal(tmp_path):
    # SQLite's signals: nothing to connect, so values are remembered from the start.
    source = Source()
    changes = Changes(HostCounter(tmp_path / "counter"), None, max_age=0.05)
    remembered = Remembered(source.fetch, changes)
    first = remembered.get()
    assert remembered.get() == first
    changes.bump()
    assert remembered.get() == remembered.get() == first + 1
    time.sleep(0.06)
    assert remembered.get() == first + 2
    changes.close()


def test_a_sqlite_file_has_one_counter_however_its_url_spells_it(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    spellings = [
        "sqlite:///data/kb.sqlite3",
        f"sqlite:///{tmp_path}/data/kb.sqlite3",
        f"sqlite:///{tmp_path}/link/kb.sqlite3",
        "sqlite:///./data/../data/kb.sqlite3",
    ]
    paths = {counter_path(tmp_path, create_engine(url)) for url in spellings}
    assert len(paths) == 1
    other = counter_path(tmp_path, create_engine("sqlite:///data/other.sqlite3"))
    assert other not in paths
