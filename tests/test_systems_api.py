"""Registered systems over HTTP: the inventory role, registration, stored verdicts kept current."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kbservice.http.context import get_database
from kbservice.notify.models import Delivery

from .conftest import make_token

KB = "/api/v1/articles/885348"
BASE = {"product": "windows_server_2003", "edition": "enterprise", "architecture": "x86"}
AFFECTED = {**BASE, "service_pack": 2, "behind_nat": True, "roles": ["vpn_server"]}
UNKNOWN = {**BASE, "service_pack": 2, "roles": ["vpn_server"]}  # behind_nat missing
OTHER = {"product": "windows_xp", "service_pack": 2}


@pytest.fixture
def inventory(app):
    return {"Authorization": f"Bearer {make_token(app, 'inventory')}"}


@pytest.fixture
def admin(app):
    return {"Authorization": f"Bearer {make_token(app, 'admin')}"}


def _ok(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()


def _listed(client, headers, verdict="applies"):
    body = _ok(client.get(f"{KB}/systems?verdict={verdict}", headers=headers))
    assert body["total"] == len(body["items"])
    return {item["id"]: item for item in body["items"]}


def _set_rules(client, editor, rules):
    etag = client.get(f"{KB}?locale=ja").headers["ETag"]
    _ok(
        client.put(
            f"{KB}/rules",
            json={"rules": rules, "examples": []},
            headers={**editor, "If-Match": etag},
        )
    )


def _deliveries(app):
    with get_database(app).session() as session:
        return [row.body for row in session.scalars(select(Delivery).order_by(Delivery.id))]


def test_only_inventory_and_admin_tokens_reach_systems(app, client, inventory, admin, editor):
    reader = {"Authorization": f"Bearer {make_token(app, 'reader')}"}
    _problem(client.get("/api/v1/systems"), 401)
    _problem(client.put("/api/v1/systems/a", json=AFFECTED), 401)
    for headers in (reader, editor):
        _problem(client.get("/api/v1/systems", headers=headers), 403)
        _problem(client.put("/api/v1/systems/a", json=AFFECTED, headers=headers), 403)
        _problem(client.get(f"{KB}/systems", headers=headers), 403)
    _ok(client.put("/api/v1/systems/a", json=AFFECTED, headers=inventory), 201)
    _ok(client.get("/api/v1/systems/a", headers=admin))
    # inventory edits no article, but reads what the public reads
    etag = client.get(f"{KB}?locale=ja").headers["ETag"]
    _problem(
        client.put(f"{KB}/rules", json={"rules": {}}, headers={**inventory, "If-Match": etag}),
        403,
    )
    _ok(client.get(KB, headers=inventory))


def test_register_read_replace_delete(client, inventory):
    body = _ok(
        client.put("/api/v1/systems/web-01.example:1", json=AFFECTED, headers=inventory), 201
    )
    assert body["id"] == "web-01.example:1"
    assert {"system", "derived", "results", "warnings", "updated_at"} <= body.keys()
    assert [(r["kb"], r["verdict"]) for r in body["results"]] == [("885348", "applies")]
    assert client.get("/api/v1/systems/web-01.example:1", headers=inventory).get_json() == body
    replaced = _ok(client.put("/api/v1/systems/web-01.example:1", json=UNKNOWN, headers=inventory))
    assert [(r["verdict"], r["missing_facts"]) for r in replaced["results"]] == [
        ("unknown", ["behind_nat"])
    ]
    listed = _ok(client.get("/api/v1/systems", headers=inventory))
    assert listed["total"] == 1 and listed["items"][0]["id"] == "web-01.example:1"
    assert client.delete("/api/v1/systems/web-01.example:1", headers=inventory).status_code == 204
    _problem(client.get("/api/v1/systems/web-01.example:1", headers=inventory), 404)
    _problem(client.delete("/api/v1/systems/web-01.example:1", headers=inventory), 404)


def test_bad_ids_and_facts_are_422_and_write_nothing(client, inventory):
    # Ids outside the pattern (documented in the OpenAPI path parameter) name no system.
    for bad in ("x" * 201, "a%20b"):
        _problem(client.put(f"/api/v1/systems/{bad}", json=AFFECTED, headers=inventory), 404)
    # `batch` is the batch endpoint's path, which takes only POST.
    _problem(client.put("/api/v1/systems/batch", json=AFFECTED, headers=inventory), 405)
    problem = _problem(client.put("/api/v1/systems/ok", headers=inventory), 422)
    assert "json" in problem["errors"]
    _ok(client.put("/api/v1/systems/batch.1", json=AFFECTED, headers=inventory), 201)
    assert client.delete("/api/v1/systems/batch.1", headers=inventory).status_code == 204
    problem = _problem(
        client.put("/api/v1/systems/ok", json={**AFFECTED, "service_pack": -1}, headers=inventory),
        422,
    )
    assert "service_pack" in problem["errors"]
    assert _ok(client.get("/api/v1/systems", headers=inventory))["total"] == 0


def test_batch_registers_in_order_with_error_entries(client, inventory):
    systems = [
        {"id": "a", **AFFECTED},
        {"id": "bad id", **AFFECTED},
        {"id": "b", **UNKNOWN},
        {"id": "c", **AFFECTED, "service_pack": "two"},
        {"id": "a", **UNKNOWN},
        {"id": "d", **OTHER},
        {"id": "batch", **OTHER},
    ]
    body = _ok(client.post("/api/v1/systems/batch", json={"systems": systems}, headers=inventory))
    results = body["results"]
    assert [r["id"] for r in results] == ["a", "bad id", "b", "c", "a", "d", "batch"]
    assert [r.get("status") for r in results] == [201, None, 201, None, 200, 201, None]
    assert "systems.6.id" in results[6]["error"]["errors"]
    assert "systems.1.id" in results[1]["error"]["errors"]
    assert "systems.3.service_pack" in results[3]["error"]["errors"]
    assert set(_listed(client, inventory, "unknown")) == {"a", "b"}
    assert _listed(client, inventory) == {}
    assert _ok(client.get("/api/v1/systems", headers=inventory))["total"] == 3


def test_batch_over_the_limit_is_413(make_app, seeded_url):
    app = make_app({"DATABASE_URL": seeded_url, "MAX_BATCH_SYSTEMS": 2})
    headers = {"Authorization": f"Bearer {make_token(app, 'inventory')}"}
    systems = [{"id": str(n), **AFFECTED} for n in range(3)]
    client = app.test_client()
    _problem(client.post("/api/v1/systems/batch", json={"systems": systems}, headers=headers), 413)


def test_publishing_rules_updates_stored_verdicts(client, inventory, editor):
    systems = [
        {"id": "affected", **AFFECTED},
        {"id": "unknown", **UNKNOWN},
        {"id": "xp", **OTHER},
    ]
    _ok(client.post("/api/v1/systems/batch", json={"systems": systems}, headers=inventory))
    assert set(_listed(client, inventory)) == {"affected"}
    assert _listed(client, inventory, "unknown") == {
        "unknown": {"id": "unknown", "verdict": "unknown", "missing_facts": ["behind_nat"]}
    }
    # New rules: every Windows Server 2003 and every Windows XP system.
    _set_rules(
        client,
        editor,
        {"any": [{"product": "windows_server_2003"}, {"product": "windows_xp"}]},
    )
    assert set(_listed(client, inventory)) == {"affected", "unknown", "xp"}
    assert _listed(client, inventory, "unknown") == {}
    # And back to a rule no registered system meets.
    _set_rules(client, editor, {"all": [{"product": "windows_xp"}, {"service_pack": {"min": 3}}]})
    assert _listed(client, inventory) == {}
    # The answers under the current revision agree with what is stored.
    body = _ok(client.get("/api/v1/systems/xp", headers=inventory))
    assert body["results"] == []


def test_verdict_changes_are_enqueued_with_the_change(app, client, inventory, editor, admin):
    _ok(client.put("/api/v1/systems/early", json=UNKNOWN, headers=inventory), 201)
    assert _deliveries(app) == []  # no webhook yet: nothing to enqueue
    hook = _ok(
        client.post(
            "/api/v1/webhooks",
            json={
                "url": "http://127.0.0.1:9/hook",
                "secret": "s" * 32,
                "events": ["verdict.changed"],
            },
            headers=admin,
        ),
        201,
    )
    assert "secret" not in hook
    _ok(client.put("/api/v1/systems/late", json=AFFECTED, headers=inventory), 201)
    _set_rules(client, editor, {"product": "windows_server_2003"})
    bodies = [__import__("json").loads(b) for b in _deliveries(app)]
    assert [b["changes"] for b in bodies] == [
        [{"system": "late", "kb": "885348", "verdict": "applies", "previous_verdict": None}],
        [{"system": "early", "kb": "885348", "verdict": "applies", "previous_verdict": "unknown"}],
    ]
    assert all(b["event"] == "verdict.changed" and b["delivery"] for b in bodies)
    log = _ok(client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin))
    assert log["total"] == 2 and {d["status"] for d in log["items"]} == {"pending"}
    # A text-only edit changes no verdict and enqueues nothing.
    etag = client.get(f"{KB}?locale=ja").headers["ETag"]
    _ok(
        client.put(
            f"{KB}/metadata", json={"keywords": ["vpn"]}, headers={**editor, "If-Match": etag}
        )
    )
    assert len(_deliveries(app)) == 2


def test_export_and_import_carry_systems_and_webhooks(
    app, client, inventory, admin, database_factory, tmp_path
):
    from click.testing import CliRunner

    from kbservice import create_app
    from kbservice.cli import main

    _ok(client.put("/api/v1/systems/host-1", json=AFFECTED, headers=inventory), 201)
    _ok(
        client.post(
            "/api/v1/webhooks",
            json={"url": "http://127.0.0.1:9/h", "secret": "k" * 20, "events": ["verdict.changed"]},
            headers=admin,
        ),
        201,
    )
    _ok(client.put("/api/v1/systems/host-2", json=UNKNOWN, headers=inventory), 201)
    source = app.config["DATABASE_URL"]
    path = tmp_path / "backup.jsonl"
    result = CliRunner(env={"KB_DATABASE_URL": source}).invoke(main, ["export", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert '"host-1"' in text and "127.0.0.1:9/h" in text
    target = database_factory.new_url()
    try:
        result = CliRunner(env={"KB_DATABASE_URL": target}).invoke(main, ["import", str(path)])
        assert result.exit_code == 0, result.output
        restored = create_app({"DATABASE_URL": target, "TESTING": True})
        try:
            other = restored.test_client()
            headers = {"Authorization": f"Bearer {make_token(restored, 'admin')}"}
            assert set(_listed(other, headers)) == {"host-1"}
            assert set(_listed(other, headers, "unknown")) == {"host-2"}
            hooks = _ok(other.get("/api/v1/webhooks", headers=headers))["items"]
            assert [h["url"] for h in hooks] == ["http://127.0.0.1:9/h"]
            log = _ok(other.get(f"/api/v1/webhooks/{hooks[0]['id']}/deliveries", headers=headers))
            assert log["total"] == 1
        finally:
            get_database(restored).dispose()
    finally:
        database_factory.drop(target)


def test_article_page_shows_editors_counts_and_admins_the_list(app, inventory):
    from .test_web import page, sign_in

    client = app.test_client()
    systems = [{"id": "vpn-1", **AFFECTED}, {"id": "vpn-2", **AFFECTED}, {"id": "u", **UNKNOWN}]
    _ok(client.post("/api/v1/systems/batch", json={"systems": systems}, headers=inventory))
    anonymous = page(client.get("/kb/885348?locale=en"))
    assert "Registered systems" not in anonymous and "vpn-1" not in anonymous
    sign_in(client, app, "editor")
    html = page(client.get("/kb/885348?locale=en"))
    assert "Applies to 2 registered systems; unknown for 1." in html
    assert "vpn-1" not in html
    admin_client = app.test_client()
    sign_in(admin_client, app, "admin", "Web Admin")
    html = page(admin_client.get("/kb/885348?locale=en"))
    assert "Applies to 2 registered systems; unknown for 1." in html
    assert "<li>vpn-1</li><li>vpn-2</li>" in html and "<li>u</li>" not in html


def test_system_ids_and_facts_stay_out_of_the_request_log(app, client, inventory, caplog):
    import logging

    secret_host = "payroll-db-7.corp.example"
    with caplog.at_level(logging.INFO, logger="kbservice"):
        _ok(client.put(f"/api/v1/systems/{secret_host}", json=AFFECTED, headers=inventory), 201)
        _ok(client.get(f"/api/v1/systems/{secret_host}", headers=inventory))
        _problem(client.get(f"/api/v1/systems/{secret_host}"), 401)
        client.delete(f"/api/v1/systems/{secret_host}", headers=inventory)
        batch = {"systems": [{"id": secret_host, **AFFECTED, "ip_addresses": ["10.9.8.7"]}]}
        _ok(client.post("/api/v1/systems/batch", json=batch, headers=inventory))
    lines = [r.getMessage() for r in caplog.records if r.name == "kbservice.requests"]
    assert len(lines) == 5
    assert all("/api/v1/systems/<system_id:system_id>" in line for line in lines[:4])
    assert secret_host not in caplog.text and "10.9.8.7" not in caplog.text


def test_a_deletion_waits_for_a_registration_or_publish_in_progress(app, client, inventory):
    """Registrations and publishes judge the systems they read, then store verdicts for
    them: a system deleted in between would break their foreign keys. So a deletion
    takes the same lock and waits for the transaction that holds it."""
    import threading

    from kbservice.storage.db import serialize_revision_writes

    _ok(client.put("/api/v1/systems/going", json=AFFECTED, headers=inventory), 201)
    delete_client = app.test_client()
    answered = threading.Event()
    statuses = []

    def delete():
        statuses.append(
            delete_client.delete("/api/v1/systems/going", headers=inventory).status_code
        )
        answered.set()

    with app.app_context(), get_database(app).write() as session:
        serialize_revision_writes(session)  # as a publish or registration in progress
        deleting = threading.Thread(target=delete)
        deleting.start()
        assert not answered.wait(1.5), "the deletion did not wait for the lock holder"
    deleting.join(30)
    assert statuses == [204]
