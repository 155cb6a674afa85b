"""No 5xx from input: long integers, NULs and control characters, logged parameters, passwords.

Each case once gave a 500 on at least one engine (PostgreSQL cannot store or compare a
NUL; Python refuses to convert an integer of more than 4,300 digits), answered a
control character in the path as if it were not there, or printed a secret.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from kbservice.cli import main
from kbservice.http.context import get_database

from .test_cli import SCRIPT, _free_port, _get
from .test_web import csrf_of, edit_form, page, revision_numbers, sign_in

API = "/api/v1/articles/885348"
KB = "/kb/885348"
LONG = "9" * 4301  # one digit past Python's int-string conversion limit
NEW_ARTICLE = (
    '{"kb": "KB900009", "source_locale": "en", "title": "%(title)s",'
    ' "sections": [{"heading": null, "body": "%(body)s"}],'
    ' "applies_to": [{"product": "windows_xp"}],'
    ' "rules": {"all": [{"product": "windows_xp"}, {"service_pack": {"min": %(sp)s}}]}}'
)


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()


def _post_json(client, path: str, body: str, headers=None):
    return client.post(path, data=body, content_type="application/json", headers=headers)


# Integers past the conversion limit


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/applicability", '{"system": {"service_pack": %s}}', "system.service_pack"),
        (
            "/api/v1/applicability/batch",
            '{"systems": [{"product": "windows_xp"}, {"service_pack": -%s}]}',
            "systems.1.service_pack",
        ),
    ],
)
def test_a_4301_digit_integer_in_system_facts_is_a_422_naming_it(client, path, body, field):
    problem = _problem(_post_json(client, path, body % LONG), 422)
    assert problem["errors"] == {field: ["Integer has more than 4300 digits."]}


def test_a_4301_digit_integer_in_a_new_article_is_a_422_and_nothing_is_stored(client, editor):
    body = NEW_ARTICLE % {"title": "T", "body": "B", "sp": LONG}
    problem = _problem(_post_json(client, "/api/v1/articles", body, editor), 422)
    assert list(problem["errors"]) == ["rules.all.1.service_pack.min"]
    assert client.get("/api/v1/articles/900009").status_code == 404
    # 4,300 digits still parse (and the rule language takes the number).
    body = NEW_ARTICLE % {"title": "T", "body": "B", "sp": LONG[1:]}
    assert _post_json(client, "/api/v1/articles", body, editor).status_code == 201


def test_a_4301_digit_integer_in_the_rules_form_is_a_form_error(client, app):
    sign_in(client, app)
    path = f"{KB}/edit/rules"
    rules = '{"all": [{"service_pack": {"min": ' + LONG + "}}]}"
    html = page(client.post(path, data={**edit_form(client, path), "rules": rules}), 422)
    assert "all.0.service_pack.min: Integer has more than 4300 digits." in html
    assert revision_numbers(client) == ["2.2"]


# NUL and other control characters in the request target


@pytest.mark.parametrize(
    ("target", "field"),
    [
        (f"{API}/revisions/2.2%00", "path"),
        (f"{API}/diff?from=2.2%00", "from"),
        (f"{API}?locale=en%00", "locale"),  # a fast-lane request: it steps aside
        (f"{API}%00", "path"),
        (f"{API}%0a", "path"),
        (f"{API}%0D", "path"),
        (f"{API}/revisions?x=1&pro%01duct=2", "pro\\x01duct"),
        ("/api/v1/articles?product=x%00&q=nat", "product"),
        ("/api/v1/search/suggest?q=%7F", "q"),
        ("/api/v1/search/suggest?q=%00", "q"),
        ("/api/v1/no-such-thing%0a", "path"),
    ],
)
def test_a_control_character_in_an_api_target_is_a_400_naming_it(client, target, field):
    problem = _problem(client.get(target), 400)
    assert list(problem["errors"]) == [field]
    assert "control character" in problem["errors"][field][0]


def test_a_nul_in_a_post_target_is_refused_before_the_body_is_read(client):
    body = '{"system": {"product": "windows_xp"}}'
    problem = _problem(_post_json(client, "/api/v1/applicability?x=%00", body), 400)
    assert list(problem["errors"]) == ["x"]


@pytest.mark.parametrize(
    "target",
    ["/?product=x%00", "/?q=nat%00", f"{KB}%00", f"{KB}%0a", f"{KB}%0d", "/check?product=%1b"],
)
def test_a_control_character_in_a_page_target_is_a_400_page(client, target):
    html = page(client.get(target), 400)
    assert "<h1>" in html


def test_query_values_may_hold_line_breaks_and_tabs_but_no_other_control(client):
    # The check form's textareas send one IP address per line.
    html = page(client.get("/check?product=windows_xp&ip_addresses=10.0.0.5%0D%0A10.0.0.6%09"))
    assert "10.0.0.6" in html
    assert client.get("/api/v1/articles?q=nat%0Aport").status_code == 200
    page(client.get("/check?product=windows_xp&ip_addresses=10.0.0.5%0B10.0.0.6"), 400)
    assert list(_problem(client.get("/api/v1/articles?q=nat%0Bport"), 400)["errors"]) == ["q"]


# NUL in JSON bodies and in forms: nothing is written


@pytest.mark.parametrize(
    ("title", "body", "field"),
    [("T\\u0000", "B", "title"), ("T", "B\\u0000ody", "sections.0.body")],
)
def test_a_nul_in_a_new_article_is_a_422_naming_the_field(client, editor, title, body, field):
    article = NEW_ARTICLE % {"title": title, "body": body, "sp": "1"}
    problem = _problem(_post_json(client, "/api/v1/articles", article, editor), 422)
    message = "Text must not hold U+0000 (NUL), which cannot be stored."
    assert problem["errors"] == {field: [message]}
    assert client.get("/api/v1/articles/900009").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": "s\x00"}, "summary"),
        ({"title": "\x00"}, "title"),
        ({"sections": [{"heading": "H\x00", "body": "B"}]}, "sections.0.heading"),
    ],
)
def test_a_nul_in_a_translation_put_is_a_422_and_nothing_is_written(client, editor, change, field):
    etag = client.get(f"{API}?locale=en").headers["ETag"]
    body = {"title": "x", "sections": [{"heading": None, "body": "a"}], "summary": "s", **change}
    response = client.put(f"{API}/translations/en", json=body, headers={**editor, "If-Match": etag})
    assert list(_problem(response, 422)["errors"]) == [field]
    assert revision_numbers(client) == ["2.2"]


def test_a_nul_anywhere_in_json_is_a_422_keys_by_their_object(client):
    problem = _problem(
        _post_json(client, "/api/v1/applicability", '{"system": {"product": "x\\u0000"}}'), 422
    )
    assert list(problem["errors"]) == ["system.product"]
    problem = _problem(
        _post_json(client, "/api/v1/applicability", '{"system": {"ro\\u0000les": []}}'), 422
    )
    assert problem["errors"] == {
        "system": ["A key in this object holds U+0000 (NUL), which cannot be stored."]
    }
    # An escaped backslash before "u0000" is no NUL.
    body = '{"system": {"product": "windows_xp", "note": "\\\\u0000"}}'
    assert _post_json(client, "/api/v1/applicability", body).status_code == 200


@pytest.mark.parametrize("field", ["title", "heading", "body", "summary"])
@pytest.mark.parametrize("action", ["publish", "draft"])
def test_a_nul_in_the_translation_form_is_a_form_error(client, app, field, action):
    sign_in(client, app)
    path = f"{KB}/edit/translation/en"
    data = {**edit_form(client, path), "title": "T", "heading": ["H"], "body": ["B"]}
    data["summary"] = "S"
    data[field] = ["x\x00y"] if field in ("heading", "body") else "x\x00y"
    html = page(client.post(path, data={**data, "action": action}), 422)
    assert "U+0000 (NUL)" in html
    assert revision_numbers(client) == ["2.2"]
    assert "x\x00y" not in page(client.get(path))  # no draft either


def test_a_nul_in_the_rules_form_is_a_form_error(client, app):
    sign_in(client, app)
    path = f"{KB}/edit/rules"
    form = edit_form(client, path)
    rules = '{"fact": "os_caption", "equals": "x\\u0000"}'
    html = page(client.post(path, data={**form, "rules": rules, "action": "publish"}), 422)
    assert "(root)" not in html and "equals: Text must not hold U+0000" in html
    summary = {**form, "rules": '{"product": "windows_xp"}', "summary": "\x00"}
    assert "U+0000 (NUL)" in page(client.post(path, data={**summary, "action": "publish"}), 422)
    assert revision_numbers(client) == ["2.2"]


def test_a_nul_in_a_token_is_an_unknown_token(client, app):
    token = "kb_ab\x00cd_secret"
    response = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
    assert _problem(response, 401)["status"] == 401
    form = page(client.get("/signin"))
    page(client.post("/signin", data={"token": token, "csrf_token": csrf_of(form)}), 401)


# Numbers typed into pages


@pytest.mark.parametrize(
    "target",
    [
        "/?page=%C2%B2",  # "²".isdigit() is true; int() refuses it
        "/?page=" + LONG,
        "/?service_pack=%C2%B2",
        "/?service_pack=" + "9" * 30,  # past PostgreSQL's bigint
        "/check?service_pack=%C2%B2",
        "/check?service_pack=" + LONG,
    ],
)
def test_odd_numbers_in_page_queries_are_no_5xx(client, target):
    response = client.get(target)
    assert response.status_code in (200, 400, 422), response.status_code
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    ("field", "value"),
    [("base_revision_id", "9" * 30), ("base_revision_id", "²"), ("draft_version", "²")],
)
def test_odd_numbers_in_edit_forms_are_no_5xx(client, app, field, value):
    sign_in(client, app)
    path = f"{KB}/edit/translation/en"
    data = {**edit_form(client, path), "title": "T", "heading": ["H"], "body": ["B"], field: value}
    for action in ("draft", "publish", "discard"):
        response = client.post(path, data={**data, "action": action})
        assert response.status_code in (303, 409), (action, response.status_code)


# Database errors are logged without their parameters


def _refuse_titles(app, marker: str) -> None:
    """A trigger failing any revision text whose title holds `marker` (a database error)."""
    database = get_database(app)
    with database.engine.begin() as conn:
        if database.dialect == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_marker BEFORE INSERT ON revision_texts"
                    f" WHEN instr(NEW.title, '{marker}') > 0"
                    " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_marker() RETURNS trigger LANGUAGE plpgsql AS $$"
                    f" BEGIN IF strpos(NEW.title, '{marker}') > 0 THEN"
                    " RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_marker BEFORE INSERT ON revision_texts"
                    " FOR EACH ROW EXECUTE FUNCTION refuse_marker()"
                )
            )


def test_database_errors_are_logged_without_the_bound_parameters(client, app, editor, caplog):
    marker = f"private-{uuid.uuid4().hex}"
    _refuse_titles(app, marker)
    etag = client.get(f"{API}?locale=en").headers["ETag"]
    body = {
        "title": f"Title {marker}",
        "sections": [{"heading": None, "body": f"Body {marker}"}],
        "summary": f"Summary {marker}",
    }
    with caplog.at_level(logging.ERROR):
        response = client.put(
            f"{API}/translations/en", json=body, headers={**editor, "If-Match": etag}
        )
    _problem(response, 500)
    assert "refused by the test" in caplog.text  # the error was logged, with its cause
    assert marker not in caplog.text


# Passwords in database URLs are never printed


def _with_passwords(url: str) -> str:
    # The test cluster trusts every connection, so any password is accepted.
    return url.replace("@", ":secret-userinfo@", 1) + "?password=secret-query"


def test_db_upgrade_never_prints_a_password(fresh_url, engine_name):
    if engine_name == "sqlite":
        pytest.skip("SQLite URLs carry no password")
    runner = CliRunner(env={"KB_DATABASE_URL": _with_passwords(fresh_url)})
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "secret" not in result.output
    assert ":***@" in result.output and "password=***" in result.output


def test_serve_never_prints_a_password(fresh_url, engine_name, tmp_path):
    if engine_name == "sqlite":
        pytest.skip("SQLite URLs carry no password")
    port = _free_port()
    env = {**os.environ}  # PYTHONPATH kept: the server runs this checkout's code
    env["KB_DATABASE_URL"] = _with_passwords(fresh_url)
    env["KB_LOG_LEVEL"] = "DEBUG"
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(SCRIPT), "serve", "--port", str(port), "--workers", "1"],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    printed = log.read_text()
    assert "/api/v1 (postgresql+psycopg://" in printed
    assert "secret" not in printed
    assert ":***@" in printed and "password=***" in printed
