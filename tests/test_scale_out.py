"""Several app servers, one database: writes show up everywhere; replicas serve reads."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from kbservice.http.context import get_database
from kbservice.storage.db import make_null_pool_engine

from .conftest import make_token, migrated_and_seeded
from .servers import call as _call
from .servers import resolve_885348_by_kb999999
from .servers import running_server as _server

SYSTEM = {
    "product": "windows_server_2003",
    "edition": "standard",
    "architecture": "x86",
    "service_pack": 1,
    "roles": ["vpn_server"],
    "behind_nat": True,
    "installed_updates": ["KB999999"],
}


def _verdicts(base: str, count: int) -> set[str]:
    body = {"system": SYSTEM, "articles": ["885348"]}
    return {
        _call(f"{base}/applicability", body, method="POST")[2]["results"][0]["verdict"]
        for _ in range(count)
    }


def _listed(base: str, count: int) -> set[bool]:
    """Whether KB885348 is among a whole-corpus answer (the requests the fast path takes)."""
    return {
        "885348"
        in {
            r["kb"]
            for r in _call(f"{base}/applicability", {"system": SYSTEM}, method="POST")[2]["results"]
        }
        for _ in range(count)
    }


def _revisions_served(base: str, count: int) -> set[str]:
    """Revision numbers of KB885348 served to plain GETs (answered by the fast path)."""
    return {
        _call(f"{base}/articles/885348?locale=ja")[2]["revision"]["number"] for _ in range(count)
    }


def _without_notifications(url: str) -> None:
    """Disable the change triggers (migration 0005): only the host counter is left."""
    engine = make_null_pool_engine(url)
    with engine.begin() as conn:
        for table in ("products", "articles", "revisions", "revision_texts", "search_documents"):
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER kbservice_notify_change"))
    engine.dispose()


@pytest.mark.parametrize("freshness", ["query", "notify"])
def test_a_write_through_one_worker_reaches_every_worker_and_server(
    fresh_url, engine_name, freshness, tmp_path, make_app
):
    """Every worker's and every server's next response, in both freshness modes.

    In "notify" mode the servers share this host's change counter; PostgreSQL's
    notifications are turned off (SQLite has none) and the periodic re-check is an hour
    away, so the counter alone must tell every worker (test_change_signals.py covers
    other hosts).
    """
    url = migrated_and_seeded(fresh_url)
    settings = {"KB_FRESHNESS": freshness}
    if freshness == "notify":
        if engine_name == "postgresql":
            _without_notifications(url)
        settings["KB_FRESHNESS_MAX_AGE"] = "3600"
    token = make_token(make_app({"DATABASE_URL": url}), "editor")
    with (
        _server(url, 3, tmp_path / "a.log", settings=settings) as first,
        _server(url, 2, tmp_path / "b.log", settings=settings) as second,
    ):
        # Warm every worker's caches with the old revision.
        assert _verdicts(first, 30) == {"applies"}
        assert _verdicts(second, 20) == {"applies"}
        assert _listed(first, 30) == _listed(second, 20) == {True}
        (old,) = _revisions_served(first, 30) | _revisions_served(second, 20)
        resolve_885348_by_kb999999(first, token)
        assert _verdicts(first, 30) == {"not_applicable"}
        assert _verdicts(second, 20) == {"not_applicable"}
        assert _listed(first, 30) == _listed(second, 20) == {False}
        (new,) = _revisions_served(first, 30) | _revisions_served(second, 20)
        assert new != old


def _read_only_url(url: str, engine_name: str) -> str:
    if engine_name == "sqlite":
        path = make_url(url).database
        return f"sqlite:///file:{path}?mode=ro&uri=true"
    engine = make_null_pool_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE ROLE kb_reader LOGIN"))
        conn.execute(text("GRANT SELECT ON ALL TABLES IN SCHEMA public TO kb_reader"))
    engine.dispose()
    return make_url(url).set(username="kb_reader").render_as_string(hide_password=False)


def test_read_endpoints_use_the_read_only_url_and_writes_the_primary(
    seeded_url, engine_name, make_app
):
    read_url = _read_only_url(seeded_url, engine_name)
    app = make_app({"DATABASE_URL": seeded_url, "READ_DATABASE_URL": read_url})
    client = app.test_client()
    editor = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    article = client.get("/api/v1/articles/885348?locale=en")
    assert article.status_code == 200
    response = client.put(
        "/api/v1/articles/885348/metadata",
        json={"keywords": ["replicated"]},
        headers={**editor, "If-Match": article.headers["ETag"]},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert client.get("/api/v1/articles/885348").get_json()["keywords"] == ["replicated"]
    listing = client.get("/api/v1/articles?product=windows_server_2003").get_json()
    assert listing["total"] == 1
    # The read-only connection really refuses writes, so none went through it.
    engine = get_database(app).read_engine
    with engine.connect() as conn:
        try:
            conn.execute(text("DELETE FROM audit_events"))
            conn.commit()
            refused = False
        except Exception:
            refused = True
    assert refused
