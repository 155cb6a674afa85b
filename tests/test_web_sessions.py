"""Editors' web sessions through HTTP: local redirects, server-side ending, audited failures."""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import re
import time
import zlib
from urllib.parse import urljoin, urlsplit

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kbservice import create_app
from kbservice.articles.audit import list_events
from kbservice.cli import main
from kbservice.config import ConfigError
from kbservice.http.context import get_database
from kbservice.storage.models import WebSession

from .conftest import make_token
from .test_web import csrf_of, page

EDITOR_PAGE = "/kb/885348/edit/rules"
COOKIE = "session"
NEXT = re.compile(r'name="next" value="([^"]*)"')


def sign_in(client: FlaskClient, app: Flask, name: str, **form: str):
    """Sign `client` in with a new editor token called `name`; returns the response."""
    token = make_token(app, "editor", name)
    csrf = csrf_of(page(client.get("/signin")))
    return client.post("/signin", data={"token": token, "csrf_token": csrf, **form})


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def browser_with(app: Flask, cookie: str) -> FlaskClient:
    """A new browser that presents a saved session cookie."""
    browser = app.test_client()
    browser.set_cookie(COOKIE, cookie)
    return browser


def sends_to_sign_in(client: FlaskClient) -> bool:
    response = client.get(EDITOR_PAGE)
    return response.status_code == 302 and response.headers["Location"].startswith("/signin?")


def test_sign_in_redirects_every_hostile_next_to_a_local_path(client, app):
    payloads = [
        "/%09/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "https://evil.example",
        "%0a",
        "/%0a",
        "/%0d%0aSet-Cookie:x",
        "/%2509/evil.example",
    ]
    for number, payload in enumerate(payloads):
        browser = app.test_client()
        # The form carries `next` on, exactly as the browser received it.
        form = page(browser.get(f"/signin?next={payload}"))
        assert NEXT.search(form).group(1) == "/", payload
        token = make_token(app, "editor", f"Redirected {number}")
        query = f"/signin?next={payload}"
        response = browser.post(query, data={"token": token, "csrf_token": csrf_of(form)})
        assert response.status_code == 303, (payload, response.status_code)
        location = response.headers["Location"]
        assert location == "/", (payload, location)
        assert urlsplit(urljoin("https://kb.example/signin", location)).netloc == "kb.example"
    local = sign_in(app.test_client(), app, "Goes Home", next="/kb/885348?locale=en&q=%E6%97%A5")
    assert local.headers["Location"] == "/kb/885348?locale=en&q=%E6%97%A5"


def test_the_cookie_holds_only_a_random_session_id(client, app):
    page(client.get("/signin"))
    before = session_cookie(client)
    assert sign_in(client, app, "Unmistakable Name").status_code == 303
    value = session_cookie(client)
    assert value != before  # a new id at sign-in: a planted one is worthless
    # Whatever the encoding (plain, base64, zlib as Flask's signed cookies use), no name, role.
    decoded = [value.encode()]
    for part in value.split("."):
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        decoded.append(raw)
        with contextlib.suppress(zlib.error):
            decoded.append(zlib.decompress(raw))
    for blob in decoded:
        assert b"Unmistakable" not in blob and b"editor" not in blob and b"token" not in blob
    assert len(base64.urlsafe_b64decode(value + "=")) == 32  # 256 random bits
    with app.app_context(), get_database(app).session() as session:
        stored = session.scalars(select(WebSession.secret_hash)).all()
    assert len(stored) == 1 and value not in stored[0]  # only a hash is stored


def test_signing_out_ends_the_session_for_a_saved_cookie(client, app):
    sign_in(client, app, "Careful Editor")
    saved = session_cookie(client)
    csrf = csrf_of(page(client.get(EDITOR_PAGE)))
    other = app.test_client()
    sign_in(other, app, "Someone Else")
    # CSRF tokens are bound to their session: another session's is refused.
    assert other.post("/signout", data={"csrf_token": csrf}).status_code == 400
    assert client.post("/signout", data={"csrf_token": csrf}).status_code == 303
    assert sends_to_sign_in(client)
    stolen = browser_with(app, saved)
    assert sends_to_sign_in(stolen)
    assert "Careful Editor" not in page(stolen.get("/kb/885348"))


def test_an_idle_session_ends_and_use_keeps_it_alive(seeded_url, make_app):
    app = make_app({"DATABASE_URL": seeded_url, "SESSION_IDLE_MINUTES": 2 / 60})
    client = app.test_client()
    sign_in(client, app, "Busy Editor")
    for _ in range(4):  # 2.4 s of use, each step within the 2 s idle limit
        assert client.get(EDITOR_PAGE).status_code == 200
        time.sleep(0.8)
    saved = session_cookie(client)
    time.sleep(2.5)
    assert sends_to_sign_in(browser_with(app, saved))


def test_a_session_ends_after_its_absolute_lifetime_even_in_use(seeded_url, make_app):
    app = make_app({"DATABASE_URL": seeded_url, "SESSION_MAX_HOURS": 2 / 3600})
    client = app.test_client()
    response = sign_in(client, app, "Tireless Editor")
    assert "Expires=" in response.headers["Set-Cookie"]
    saved = session_cookie(client)
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        client.get(EDITOR_PAGE)
        time.sleep(0.5)
    assert sends_to_sign_in(browser_with(app, saved))


def test_revoking_the_token_ends_its_web_sessions(client, app, seeded_url):
    sign_in(client, app, "Leaving Editor")
    second = app.test_client()
    sign_in(second, app, "Staying Editor")
    assert client.get(EDITOR_PAGE).status_code == 200
    revoked = CliRunner(env={"KB_DATABASE_URL": seeded_url}).invoke(
        main, ["tokens", "revoke", "Leaving Editor"]
    )
    assert revoked.exit_code == 0, revoked.output
    assert sends_to_sign_in(client)
    assert second.get(EDITOR_PAGE).status_code == 200
    with app.app_context(), get_database(app).session() as session:
        ended = {
            row.token_id: row.revoked_at is not None for row in session.scalars(select(WebSession))
        }
    assert sorted(ended.values()) == [False, True]


def test_failed_sign_ins_are_audited_without_the_secret(client, app, caplog):
    reader = make_token(app, "reader", "Only Reader")
    wrong = "kb_0123456789abcdef_" + "s3cr3t" * 7
    csrf = csrf_of(page(client.get("/signin")))
    with caplog.at_level(logging.INFO):
        page(client.post("/signin", data={"token": wrong, "csrf_token": csrf}), 401)
        page(client.post("/signin", data={"token": reader, "csrf_token": csrf}), 403)
    with app.app_context():
        events = list_events(get_database(app).session())[0]
    failed = [event for event in events if event.action == "web.signin_failed"]
    assert [event.details["reason"] for event in failed] == ["role", "unknown"]
    assert failed[0].actor == "Only Reader" and failed[1].remote_addr == "127.0.0.1"
    logged = [record.getMessage() for record in caplog.records if "sign-in" in record.getMessage()]
    assert len(logged) == 2
    for text in [*logged, *(repr(event.details) + event.actor for event in failed)]:
        assert "s3cr3t" not in text and reader.rsplit("_", 1)[1] not in text
    assert sends_to_sign_in(client)


def test_session_limits_must_be_positive_numbers(seeded_url, make_app, monkeypatch):
    for key, value in [("SESSION_IDLE_MINUTES", "0"), ("SESSION_MAX_HOURS", "-1")]:
        with monkeypatch.context() as env:
            env.setenv(f"KB_{key}", value)
            with pytest.raises(ConfigError, match=f"KB_{key} must be a number above 0"):
                make_app({"DATABASE_URL": seeded_url})
    monkeypatch.setenv("KB_SESSION_IDLE_MINUTES", "soon")
    with pytest.raises(ConfigError, match="KB_SESSION_IDLE_MINUTES must be a number"):
        make_app({"DATABASE_URL": seeded_url})
    monkeypatch.setenv("KB_SESSION_IDLE_MINUTES", "0.5")
    monkeypatch.setenv("KB_SESSION_MAX_HOURS", "2")
    hint = page(make_app({"DATABASE_URL": seeded_url}).test_client().get("/signin?locale=en"))
    assert "after 0.5 minutes without use or 2 hours after signing in" in hint


def test_a_restored_backup_holds_no_web_session(client, app, seeded_url, fresh_url, tmp_path):
    sign_in(client, app, "Backed-up Editor")
    saved = session_cookie(client)
    backup_file = tmp_path / "backup.jsonl"
    runner = CliRunner()
    exported = runner.invoke(
        main, ["export", str(backup_file)], env={"KB_DATABASE_URL": seeded_url}
    )
    assert exported.exit_code == 0, exported.output
    assert '"web_sessions"' not in backup_file.read_text()
    restored = runner.invoke(main, ["import", str(backup_file)], env={"KB_DATABASE_URL": fresh_url})
    assert restored.exit_code == 0, restored.output
    restored_app = create_app({"DATABASE_URL": fresh_url, "TESTING": True})
    try:
        assert sends_to_sign_in(browser_with(restored_app, saved))
        # The original server still knows the session.
        assert not sends_to_sign_in(browser_with(app, saved))
    finally:
        get_database(restored_app).dispose()
