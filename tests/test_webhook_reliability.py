"""Webhook delivery with real servers and workers: outages, kills, two workers, slow receivers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path

from kbservice.http.context import get_database

from .conftest import make_token, migrated_and_seeded
from .receivers import Receiver, receiving
from .servers import PROJECT, SCRIPT, call, free_port, running_server

KB = "885348"
BASE = {"product": "windows_server_2003", "edition": "enterprise", "architecture": "x86"}
AFFECTED = {**BASE, "service_pack": 2, "behind_nat": True, "roles": ["vpn_server"]}
UNKNOWN = {**BASE, "service_pack": 2, "roles": ["vpn_server"]}
SECRET = "reliability-test-secret"
# Quick retries, so an outage's end is noticed within a second.
FAST = {
    "KB_WEBHOOK_RETRY_BASE": "0.2",
    "KB_WEBHOOK_RETRY_MAX": "0.5",
    "KB_WEBHOOK_POLL": "0.1",
    "KB_WEBHOOK_TIMEOUT": "2",
}
SYSTEMS = 10


def _tokens(make_app, url: str) -> tuple[dict, dict, dict]:
    app = make_app({"DATABASE_URL": url})
    return tuple(
        {"Authorization": f"Bearer {make_token(app, role)}"}
        for role in ("admin", "inventory", "editor")
    )


def _ok(answer: tuple, status: int = 200):
    assert answer[0] == status, answer
    return answer[2]


def _subscribe(base: str, admin: dict, url: str) -> int:
    body = {"url": url, "secret": SECRET, "events": ["verdict.changed"]}
    return _ok(call(f"{base}/webhooks", body, admin, method="POST"), 201)["id"]


def _set_rules(base: str, editor: dict, rules: dict | None) -> None:
    status, headers, body = call(f"{base}/articles/{KB}/rules")
    assert status == 200
    rules = rules if rules is not None else body["rules"]
    answer = call(
        f"{base}/articles/{KB}/rules",
        {"rules": rules, "examples": []},
        {**editor, "If-Match": headers["ETag"]},
        method="PUT",
    )
    _ok(answer)


def _changes(base: str, inventory: dict, editor: dict) -> dict[str, list[tuple]]:
    """Register systems, then change the rules three times; the changes each system sees."""
    original = call(f"{base}/articles/{KB}/rules")[2]["rules"]
    systems = [{"id": f"a-{n}", **AFFECTED} for n in range(SYSTEMS)]
    systems += [{"id": f"u-{n}", **UNKNOWN} for n in range(SYSTEMS)]
    _ok(call(f"{base}/systems/batch", {"systems": systems}, inventory, method="POST"))
    _set_rules(base, editor, {"product": "windows_xp"})
    _set_rules(base, editor, {"product": "windows_server_2003"})
    _set_rules(base, editor, original)
    expected: dict[str, list[tuple]] = {}
    for n in range(SYSTEMS):
        expected[f"a-{n}"] = [
            ("applies", None),
            ("not_applicable", "applies"),
            ("applies", "not_applicable"),
        ]
        expected[f"u-{n}"] = [
            ("unknown", None),
            ("not_applicable", "unknown"),
            ("applies", "not_applicable"),
            ("unknown", "applies"),
        ]
    return expected


def _seen(receiver: Receiver) -> dict[str, list[tuple]]:
    """Each system's changes in the order they arrived (a repeated delivery counted once)."""
    seen: dict[str, list[tuple]] = defaultdict(list)
    delivered: set[str] = set()
    for item in receiver.accepted:
        assert item.signed_by(SECRET)
        if item.body["delivery"] in delivered:
            continue
        delivered.add(item.body["delivery"])
        for change in item.body["changes"]:
            seen[change["system"]].append((change["verdict"], change["previous_verdict"]))
    return dict(seen)


def _wait_for_changes(receiver: Receiver, expected: dict, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _seen(receiver) != expected:
        assert time.monotonic() < deadline, (_seen(receiver), expected)
        time.sleep(0.1)


def test_a_receiver_down_for_a_while_gets_every_change_in_order(fresh_url, tmp_path, make_app):
    url = migrated_and_seeded(fresh_url)
    admin, inventory, editor = _tokens(make_app, url)
    port = free_port()
    with running_server(url, 1, tmp_path / "server.log", settings=FAST) as base:
        _subscribe(base, admin, f"http://127.0.0.1:{port}/hook")
        expected = _changes(base, inventory, editor)
        time.sleep(1.5)  # several attempts are refused meanwhile
        with receiving(port) as receiver:
            _wait_for_changes(receiver, expected)


def test_deliveries_pending_when_the_server_is_killed_leave_after_a_restart(
    fresh_url, tmp_path, make_app
):
    url = migrated_and_seeded(fresh_url)
    admin, inventory, editor = _tokens(make_app, url)
    port = free_port()
    with running_server(url, 1, tmp_path / "first.log", settings=FAST) as base:
        _subscribe(base, admin, f"http://127.0.0.1:{port}/hook")
        expected = _changes(base, inventory, editor)
        # Master, workers and the delivery process, without any chance to clean up.
        os.killpg(os.getpgid(int((tmp_path / "first.log.pid").read_text())), signal.SIGKILL)
    with receiving(port) as receiver:
        time.sleep(1)
        assert receiver.received == []  # nothing of the killed server is left to send
        with running_server(url, 1, tmp_path / "second.log", settings=FAST):
            _wait_for_changes(receiver, expected)


def _worker(url: str, log: Path, settings: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, "KB_DATABASE_URL": url, **settings}
    with log.open("wb") as output:
        return subprocess.Popen(
            [str(SCRIPT), "worker"], cwd=PROJECT, env=env, stdout=output, stderr=subprocess.STDOUT
        )


def _stop(workers: list[subprocess.Popen]) -> None:
    for process in workers:
        process.terminate()
    for process in workers:
        process.wait(timeout=30)


def test_two_workers_share_the_deliveries_without_sending_one_twice(app, tmp_path):
    client = app.test_client()
    admin = {"Authorization": f"Bearer {make_token(app, 'admin')}"}
    inventory = {"Authorization": f"Bearer {make_token(app, 'inventory')}"}
    with receiving() as first, receiving() as second, receiving() as third:
        receivers = [first, second, third]
        for receiver in receivers:
            body = {"url": receiver.url, "secret": SECRET, "events": ["verdict.changed"]}
            assert client.post("/api/v1/webhooks", json=body, headers=admin).status_code == 201
        # 40 writes of one system each: 40 deliveries per webhook.
        for n in range(20):
            for system_id, facts in ((f"s-{n}", UNKNOWN), (f"s-{n}", AFFECTED)):
                answer = client.put(f"/api/v1/systems/{system_id}", json=facts, headers=inventory)
                assert answer.status_code in (200, 201)
        url = app.config["DATABASE_URL"]
        workers = [_worker(url, tmp_path / f"worker-{n}.log", FAST) for n in range(2)]
        try:
            for receiver in receivers:
                receiver.wait_for(40)
            time.sleep(1)  # a second copy of anything would arrive by now
        finally:
            _stop(workers)
    with get_database(app).session() as session:
        from sqlalchemy import select

        from kbservice.notify.models import Delivery

        stored = {row.delivery for row in session.scalars(select(Delivery))}
        assert {row.status for row in session.scalars(select(Delivery))} == {"delivered"}
    sent = [item.body["delivery"] for receiver in receivers for item in receiver.received]
    assert len(sent) == len(set(sent)) == len(stored) == 120
    assert set(sent) == stored
    for receiver in receivers:  # in order per system: unknown first, then applies
        for n in range(20):
            verdicts = [
                c["verdict"]
                for item in receiver.received
                for c in item.body["changes"]
                if c["system"] == f"s-{n}"
            ]
            assert verdicts == ["unknown", "applies"]


def test_a_slow_receiver_does_not_hold_up_other_webhooks(app, tmp_path):
    client = app.test_client()
    admin = {"Authorization": f"Bearer {make_token(app, 'admin')}"}
    inventory = {"Authorization": f"Bearer {make_token(app, 'inventory')}"}
    with receiving() as slow, receiving() as fast:
        slow.delay = 5  # beyond the timeout: every attempt times out
        for receiver in (slow, fast):
            body = {"url": receiver.url, "secret": SECRET, "events": ["verdict.changed"]}
            assert client.post("/api/v1/webhooks", json=body, headers=admin).status_code == 201
        for n in range(10):
            answer = client.put(f"/api/v1/systems/s-{n}", json=AFFECTED, headers=inventory)
            assert answer.status_code == 201
        settings = {**FAST, "KB_WEBHOOK_TIMEOUT": "1", "KB_WEBHOOK_CONCURRENCY": "2"}
        started = time.monotonic()
        workers = [_worker(app.config["DATABASE_URL"], tmp_path / "worker.log", settings)]
        try:
            fast.wait_for(10, timeout=20)
            elapsed = time.monotonic() - started
        finally:
            _stop(workers)
    # Ten deliveries to the fast receiver while the slow one timed out again and again.
    assert elapsed < 8, elapsed
    assert slow.accepted == []
