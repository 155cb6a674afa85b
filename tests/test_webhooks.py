"""Webhooks over HTTP and `kbservice worker`: signed deliveries, retries in order, disabling."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.event import listen, remove

from kbservice.cli import main

from .conftest import make_token
from .receivers import receiving

KB = "/api/v1/articles/885348"
BASE = {"product": "windows_server_2003", "edition": "enterprise", "architecture": "x86"}
AFFECTED = {**BASE, "service_pack": 2, "behind_nat": True, "roles": ["vpn_server"]}
UNKNOWN = {**BASE, "service_pack": 2, "roles": ["vpn_server"]}
SECRET = "a-secret-of-some-length"


@pytest.fixture
def admin(app):
    return {"Authorization": f"Bearer {make_token(app, 'admin')}"}


@pytest.fixture
def inventory(app):
    return {"Authorization": f"Bearer {make_token(app, 'inventory')}"}


def _ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _subscribe(client, admin, url):
    body = {"url": url, "secret": SECRET, "events": ["verdict.changed"]}
    return _ok(client.post("/api/v1/webhooks", json=body, headers=admin), 201)


def _worker(app, **settings):
    env = {"KB_DATABASE_URL": app.config["DATABASE_URL"], "KB_WEBHOOK_TIMEOUT": "2"}
    env.update({f"KB_{key}": str(value) for key, value in settings.items()})
    result = CliRunner(env=env).invoke(main, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def _log(client, admin, hook):
    return _ok(client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin))["items"]


def test_only_admins_manage_webhooks_and_bad_input_is_422(app, client, admin, editor):
    inventory = {"Authorization": f"Bearer {make_token(app, 'inventory')}"}
    body = {"url": "http://10.0.0.5/hook", "secret": SECRET, "events": ["verdict.changed"]}
    assert client.post("/api/v1/webhooks", json=body).status_code == 401
    for headers in (editor, inventory):
        assert client.post("/api/v1/webhooks", json=body, headers=headers).status_code == 403
        assert client.get("/api/v1/webhooks", headers=headers).status_code == 403
    for field, value in (
        ("url", "not a url"),
        ("url", "ftp://example.com/x"),
        ("events", ["verdict.removed"]),
        ("events", []),
        ("secret", "short"),
    ):
        problem = client.post("/api/v1/webhooks", json={**body, field: value}, headers=admin)
        assert problem.status_code == 422, (field, value)
        assert any(key.startswith(field) for key in problem.get_json()["errors"]), problem.json
    created = _ok(client.post("/api/v1/webhooks", json=body, headers=admin), 201)
    assert created["url"] == body["url"] and created["events"] == ["verdict.changed"]
    assert "secret" not in created
    listed = _ok(client.get("/api/v1/webhooks", headers=admin))["items"]
    assert [h["id"] for h in listed] == [created["id"]] and "secret" not in listed[0]
    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=admin).status_code == 204
    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=admin).status_code == 404
    assert (
        client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=admin).status_code == 404
    )


def test_deliveries_are_signed_and_logged(app, client, admin, inventory):
    with receiving() as receiver:
        hook = _subscribe(client, admin, receiver.url)
        _ok(client.put("/api/v1/systems/host-1", json=AFFECTED, headers=inventory), 201)
        _worker(app)
        (got,) = receiver.wait_for(1)
    assert got.signed_by(SECRET) and not got.signed_by("another secret")
    assert got.headers["X-KB-Event"] == "verdict.changed"
    assert got.headers["X-KB-Delivery"] == got.body["delivery"]
    assert got.headers["Content-Type"] == "application/json"
    assert got.body["changes"] == [
        {"system": "host-1", "kb": "885348", "verdict": "applies", "previous_verdict": None}
    ]
    assert got.body["occurred_at"].endswith("Z")
    (entry,) = _log(client, admin, hook)
    assert entry["id"] == got.body["delivery"]
    assert (entry["status"], entry["attempts"], entry["last_status"]) == ("delivered", 1, 204)


def test_failures_are_retried_in_order_then_disable_the_webhook(app, client, admin, inventory):
    with receiving() as receiver:
        receiver.status = 500
        hook = _subscribe(client, admin, receiver.url)
        _ok(client.put("/api/v1/systems/host-1", json=UNKNOWN, headers=inventory), 201)
        _ok(client.put("/api/v1/systems/host-1", json=AFFECTED, headers=inventory))
        _worker(app, WEBHOOK_RETRY_BASE=0, WEBHOOK_MAX_FAILURES=3)
        # The first delivery failed; the second waits behind it.
        assert [r.body["changes"][0]["verdict"] for r in receiver.received] == ["unknown"]
        newest, oldest = _log(client, admin, hook)
        assert (oldest["status"], oldest["attempts"], oldest["last_status"]) == ("pending", 1, 500)
        assert newest["attempts"] == 0
        _worker(app, WEBHOOK_RETRY_BASE=0, WEBHOOK_MAX_FAILURES=3)
        _worker(app, WEBHOOK_RETRY_BASE=0, WEBHOOK_MAX_FAILURES=3)
        (listed,) = _ok(client.get("/api/v1/webhooks", headers=admin))["items"]
        assert (listed["enabled"], listed["failures"]) == (False, 3)
        assert listed["disabled_at"]
        _worker(app, WEBHOOK_RETRY_BASE=0)
        assert len(receiver.received) == 3  # disabled: nothing more is sent
        receiver.status = 200
        enabled = _ok(
            client.patch(f"/api/v1/webhooks/{hook['id']}", json={"enabled": True}, headers=admin)
        )
        assert (enabled["enabled"], enabled["failures"]) == (True, 0)
        _worker(app)
        accepted = receiver.wait_for(2)
    assert [r.body["changes"][0]["verdict"] for r in accepted] == ["unknown", "applies"]
    assert [r.body["changes"][0]["previous_verdict"] for r in accepted] == [None, "unknown"]
    # Every retry of a delivery carries the same id and body.
    first = [r for r in receiver.received if r.body["changes"][0]["verdict"] == "unknown"]
    assert len({r.headers["X-KB-Delivery"] for r in first}) == 1
    assert len({r.raw for r in first}) == 1


def test_redirects_are_not_followed(app, client, admin, inventory):
    with receiving() as target, receiving() as receiver:
        receiver.status = 307
        receiver.headers = {"Location": target.url}
        hook = _subscribe(client, admin, receiver.url)
        _ok(client.put("/api/v1/systems/host-1", json=AFFECTED, headers=inventory), 201)
        _worker(app)
        assert len(receiver.received) == 1 and target.received == []
    (entry,) = _log(client, admin, hook)
    assert (entry["status"], entry["last_status"]) == ("pending", 307)


def test_a_refused_connection_is_a_failed_attempt(app, client, admin, inventory):
    with receiving() as receiver:
        url = receiver.url
    hook = _subscribe(client, admin, url)  # nothing listens there any more
    _ok(client.put("/api/v1/systems/host-1", json=AFFECTED, headers=inventory), 201)
    _worker(app)
    (entry,) = _log(client, admin, hook)
    assert entry["status"] == "pending" and entry["attempts"] == 1
    assert entry["last_status"] is None and entry["last_error"]


def test_webhook_ids_out_of_range_are_404(client, admin):
    for webhook_id in (0, 2**31, 3026629792492519):
        path = f"/api/v1/webhooks/{webhook_id}"
        assert client.patch(path, json={"enabled": True}, headers=admin).status_code == 404
        assert client.delete(path, headers=admin).status_code == 404
        assert client.get(f"{path}/deliveries", headers=admin).status_code == 404


def _register_one_by_one(client, inventory, count):
    for n in range(count):
        _ok(client.put(f"/api/v1/systems/host-{n:02d}", json=AFFECTED, headers=inventory), 201)


def test_results_of_a_run_of_deliveries_are_committed_together(app, client, admin, inventory):
    commits = []
    count = commits.append
    with receiving() as receiver:
        _subscribe(client, admin, receiver.url)
        _register_one_by_one(client, inventory, 60)
        listen(Engine, "commit", count)
        try:
            _worker(app)
        finally:
            remove(Engine, "commit", count)
        accepted = receiver.wait_for(60)
    assert [r.body["changes"][0]["system"] for r in accepted] == [
        f"host-{n:02d}" for n in range(60)
    ]
    # The claim, one commit per read batch of 50 results, the release: not one per delivery.
    assert len(commits) <= 6, len(commits)


def test_a_failure_mid_run_keeps_the_successes_before_it(app, client, admin, inventory):
    with receiving() as receiver:
        receiver.statuses = [204] * 5 + [503]
        hook = _subscribe(client, admin, receiver.url)
        _register_one_by_one(client, inventory, 8)
        _worker(app, WEBHOOK_RETRY_BASE=60)
        assert len(receiver.received) == 6
    entries = _log(client, admin, hook)[::-1]  # the log lists the newest first
    assert [(e["status"], e["attempts"], e["last_status"]) for e in entries] == [
        ("delivered", 1, 204)
    ] * 5 + [("pending", 1, 503)] + [("pending", 0, None)] * 2
