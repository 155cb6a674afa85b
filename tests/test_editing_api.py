"""Editing over HTTP: tokens, roles, preconditions, revisions, translations, rules, drafts."""

from __future__ import annotations

import pytest

from kbservice.cli import main

from .conftest import make_token

KB = "/api/v1/articles/885348"
NEW_ARTICLE = {
    "kb": "KB900001",
    "source_locale": "ja",
    "title": "静的マッピングの構成",
    "sections": [
        {"heading": "はじめに", "body": "ネットワーク アドレス変換器で静的マッピングを構成します。"}
    ],
    "applies_to": [{"product": "windows_xp", "edition": "professional", "architecture": "x86"}],
    "rules": {"all": [{"product": "windows_xp"}, {"service_pack": {"min": 2}}]},
    "keywords": ["kbhowto"],
    "related": ["KB885348"],
}
TEXT_EN = {
    "title": "Configuring static mappings",
    "sections": [{"heading": "Introduction", "body": "Configure static mappings on the NAT."}],
    "summary": "English translation",
}


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    return response.get_json()


def _etag(client, path=KB, locale="ja"):
    return client.get(f"{path}?locale={locale}").headers["ETag"]


def _revisions(client, path=KB):
    return client.get(f"{path}/revisions").get_json()["items"]


def test_writes_need_a_token_and_the_role(client, app):
    _problem(client.post("/api/v1/articles", json=NEW_ARTICLE), 401)
    unknown = client.post(
        "/api/v1/articles", json=NEW_ARTICLE, headers={"Authorization": "Bearer kb_nope_nope"}
    )
    assert _problem(unknown, 401)["status"] == 401
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")
    reader = {"Authorization": f"Bearer {make_token(app, 'reader')}"}
    _problem(client.post("/api/v1/articles", json=NEW_ARTICLE, headers=reader), 403)
    _problem(client.put(f"{KB}/rules", json={"rules": {}}, headers=reader), 403)
    # 401/403 come before 428 and 422.
    _problem(client.put(f"{KB}/translations/en", json={"bogus": 1}), 401)
    assert client.get("/api/v1/articles/900001").status_code == 404


def test_create_article(client, editor):
    response = client.post("/api/v1/articles", json=NEW_ARTICLE, headers=editor)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/api/v1/articles/900001")
    body = response.get_json()
    assert body["kb"] == "900001"
    assert body["locale"] == "ja"
    assert body["related"] == ["885348"]
    assert body["revision"]["number"] == "1.0"
    assert response.headers["ETag"] == _etag(client, "/api/v1/articles/900001")
    assert client.get("/api/v1/articles/900001/rules").get_json()["rules"] == NEW_ARTICLE["rules"]
    revision = _revisions(client, "/api/v1/articles/900001")[0]
    assert revision["author"] == "Emi Editor"
    _problem(client.post("/api/v1/articles", json=NEW_ARTICLE, headers=editor), 409)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kb": "abc"}, "kb"),
        ({"title": ""}, "title"),
        ({"sections": []}, "sections"),
        ({"sections": [{"heading": "x"}]}, "sections.0.body"),
        ({"applies_to": [{"product": "windows_95"}]}, "applies_to.0.product"),
        (
            {"applies_to": [{"product": "windows_xp", "edition": "ultimate"}]},
            "applies_to.0.edition",
        ),
        ({"rules": {"all": [{"fatc": "x", "equals": 1}]}}, "rules.all.0.fatc"),
        ({"rules": {"any": []}}, "rules.any"),
        ({"source_locale": "fr"}, "source_locale"),
        ({"unexpected": True}, "unexpected"),
    ],
)
def test_invalid_new_articles_are_422_and_write_nothing(client, editor, change, field):
    body = _problem(
        client.post("/api/v1/articles", json={**NEW_ARTICLE, **change}, headers=editor), 422
    )
    assert field in body["errors"], body["errors"]
    assert client.get("/api/v1/articles/900001").status_code == 404


def test_put_translation_needs_if_match_and_creates_a_revision(client, editor):
    text = {"title": "New title", "sections": [{"heading": None, "body": "Body"}]}
    _problem(client.put(f"{KB}/translations/en", json=text, headers=editor), 428)
    stale = {**editor, "If-Match": '"885348-999999-ja-000000000000"'}
    _problem(client.put(f"{KB}/translations/en", json=text, headers=stale), 412)
    # 428/412 come before 422: a stale ETag with a bad body is still 412.
    _problem(client.put(f"{KB}/translations/en", json={"bogus": 1}, headers=stale), 412)
    assert len(_revisions(client)) == 1
    etag = _etag(client, locale="en")
    response = client.put(
        f"{KB}/translations/en",
        json={**text, "summary": "Shorter title"},
        headers={**editor, "If-Match": etag},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["locale"] == "en" and body["title"] == "New title"
    assert body["revision"]["number"] == "2.3"
    assert response.headers["ETag"] != etag
    items = _revisions(client)
    assert [item["number"] for item in items] == ["2.3", "2.2"]
    assert items[0]["author"] == "Emi Editor" and items[0]["summary"] == "Shorter title"
    old = client.get(f"{KB}/revisions/2.2?locale=en").get_json()
    assert old["title"] != "New title"
    # The ja ETag of the same revision works for If-Match too ("any locale's representation").
    again = client.put(
        f"{KB}/translations/en",
        json=text,
        headers={**editor, "If-Match": _etag(client, locale="ja")},
    )
    assert again.status_code == 200
    # The old ETag is stale now.
    _problem(
        client.put(f"{KB}/translations/en", json=text, headers={**editor, "If-Match": etag}), 412
    )


def test_new_translation_is_201_and_unsupported_locale_is_422(client, editor):
    client.post("/api/v1/articles", json=NEW_ARTICLE, headers=editor)
    path = "/api/v1/articles/900001"
    response = client.put(
        f"{path}/translations/en", json=TEXT_EN, headers={**editor, "If-Match": _etag(client, path)}
    )
    assert response.status_code == 201
    assert response.get_json()["available_locales"] == ["en", "ja"]
    body = _problem(
        client.put(
            f"{path}/translations/fr",
            json=TEXT_EN,
            headers={**editor, "If-Match": _etag(client, path)},
        ),
        422,
    )
    assert "locale" in body["errors"]


def test_source_change_marks_translations_outdated_until_rewritten(client, editor):
    assert client.get("/api/v1/translations/outdated").get_json()["items"] == []
    ja = client.get(f"{KB}?locale=ja").get_json()
    ja["sections"][0]["body"] += "\n\n追記。"
    client.put(
        f"{KB}/translations/ja",
        json={"title": ja["title"], "sections": ja["sections"]},
        headers={**editor, "If-Match": _etag(client)},
    ).close()
    en = client.get(f"{KB}?locale=en").get_json()
    assert en["translation_outdated"] is True
    assert client.get(f"{KB}?locale=ja").get_json()["translation_outdated"] is False
    outdated = client.get("/api/v1/translations/outdated").get_json()["items"]
    assert [
        (o["kb"], o["locale"], o["source_changed_in"], o["translated_from"]) for o in outdated
    ] == [("885348", "en", "2.3", "2.2")]
    client.put(
        f"{KB}/translations/en",
        json={"title": en["title"], "sections": en["sections"]},
        headers={**editor, "If-Match": _etag(client)},
    ).close()
    assert client.get(f"{KB}?locale=en").get_json()["translation_outdated"] is False
    assert client.get("/api/v1/translations/outdated").get_json()["items"] == []


def test_put_rules_validates_and_changes_verdicts(client, editor):
    system = {
        "product": "windows_server_2003",
        "edition": "enterprise",
        "architecture": "x86",
        "service_pack": 2,
        "roles": ["vpn_server"],
        "behind_nat": True,
        "installed_updates": ["KB999999"],
    }

    def verdict():
        body = client.post(
            "/api/v1/applicability", json={"system": system, "articles": ["885348"]}
        ).get_json()
        return body["results"][0]["verdict"]

    assert verdict() == "applies"
    rules = client.get(f"{KB}/rules").get_json()["rules"]
    bad = {"rules": {**rules, "all": [*rules["all"], {"fact": "x", "equlas": 1}]}}
    body = _problem(
        client.put(f"{KB}/rules", json=bad, headers={**editor, "If-Match": _etag(client)}), 422
    )
    assert "rules.all.3.equlas" in body["errors"]
    assert len(_revisions(client)) == 1
    resolved = {**rules, "resolved_by": {"fact": "installed_updates", "contains": "KB999999"}}
    response = client.put(
        f"{KB}/rules",
        json={"rules": resolved, "summary": "Fixed by KB999999"},
        headers={**editor, "If-Match": _etag(client)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["rules"] == resolved
    assert response.get_json()["revision"]["number"] == "2.3"
    assert verdict() == "not_applicable"
    assert client.get(f"{KB}/rules").get_json() == response.get_json()


def test_put_metadata(client, editor):
    response = client.put(
        f"{KB}/metadata",
        json={"keywords": ["kbinfo", "nat"], "summary": "Keywords"},
        headers={**editor, "If-Match": _etag(client)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = client.get(KB).get_json()
    assert body["keywords"] == ["kbinfo", "nat"]
    assert body["related"] == ["885407"]


def test_diff_and_restore(client, editor):
    en = client.get(f"{KB}?locale=en").get_json()
    changed = [dict(s) for s in en["sections"]]
    changed[1]["body"] = changed[1]["body"].replace("NAT", "N.A.T.", 1)
    client.put(
        f"{KB}/translations/en",
        json={"title": en["title"], "sections": changed},
        headers={**editor, "If-Match": _etag(client)},
    ).close()
    diff = client.get(f"{KB}/diff?from=2.2&to=2.3").get_json()
    assert diff["from"] == "2.2" and diff["to"] == "2.3"
    assert diff["texts"]["ja"]["status"] == "unchanged"
    sections = diff["texts"]["en"]["sections"]
    assert [s["status"] for s in sections] == ["unchanged", "changed", "unchanged", "unchanged"]
    assert any(line.startswith("+") and "N.A.T." in line for line in sections[1]["body_diff"])
    assert diff["rules"] == []
    restored = client.post(
        f"{KB}/revisions/2.2/restore",
        json={"summary": "Undo"},
        headers={**editor, "If-Match": _etag(client)},
    )
    assert restored.status_code == 200, restored.get_data(as_text=True)
    assert restored.get_json()["revision"]["number"] == "2.4"
    now = client.get(f"{KB}?locale=en").get_json()
    assert now["sections"] == en["sections"]
    assert [r["number"] for r in _revisions(client)] == ["2.4", "2.3", "2.2"]
    _problem(client.get(f"{KB}/diff?from=9.9"), 404)
    _problem(client.get(f"{KB}/diff"), 422)


def test_drafts_do_not_change_what_the_public_sees(client, editor):
    public = client.get(f"{KB}?locale=en").get_json()
    draft_text = {"title": "Draft title", "sections": [{"heading": None, "body": "Draft"}]}
    _problem(client.put(f"{KB}/drafts/translations/en", json=draft_text), 401)
    saved = client.put(f"{KB}/drafts/translations/en", json=draft_text, headers=editor)
    assert saved.status_code == 201, saved.get_data(as_text=True)
    draft = saved.get_json()
    assert client.get(f"{KB}?locale=en").get_json() == public
    assert [d["id"] for d in client.get(f"{KB}/drafts", headers=editor).get_json()["items"]] == [
        draft["id"]
    ]
    _problem(client.get(f"{KB}/drafts"), 401)
    # A colleague's newer save is not overwritten by a save based on an older draft version.
    client.put(f"{KB}/drafts/translations/en", json=draft_text, headers=editor).close()
    _problem(
        client.put(
            f"{KB}/drafts/translations/en",
            json=draft_text,
            headers={**editor, "If-Match": saved.headers["ETag"]},
        ),
        412,
    )
    publish = f"/api/v1/drafts/{draft['id']}/publish"
    _problem(client.post(publish, json={}, headers=editor), 428)
    stale = _etag(client)
    client.put(
        f"{KB}/metadata", json={"keywords": ["x"]}, headers={**editor, "If-Match": stale}
    ).close()
    _problem(client.post(publish, json={}, headers={**editor, "If-Match": stale}), 412)
    assert client.get(f"/api/v1/drafts/{draft['id']}", headers=editor).status_code == 200
    published = client.post(
        publish, json={"summary": "Publish draft"}, headers={**editor, "If-Match": _etag(client)}
    )
    assert published.status_code == 200, published.get_data(as_text=True)
    assert client.get(f"{KB}?locale=en").get_json()["title"] == "Draft title"
    assert client.get(f"/api/v1/drafts/{draft['id']}", headers=editor).status_code == 404


@pytest.mark.parametrize("draft_id", [0, 2**31, 2**63])
def test_draft_ids_out_of_range_are_404(client, editor, draft_id):
    # 2**63 overflowed SQLite's driver: a 500.
    _problem(client.get(f"/api/v1/drafts/{draft_id}", headers=editor), 404)
    _problem(client.delete(f"/api/v1/drafts/{draft_id}", headers=editor), 404)
    _problem(client.post(f"/api/v1/drafts/{draft_id}/publish", json={}, headers=editor), 404)


def test_drafts_of_what_is_no_kb_number_are_404(client, editor):
    # Was 200 with an empty list, for any text in place of the KB number.
    _problem(client.get("/api/v1/articles/%C2%84/drafts", headers=editor), 404)
    assert client.get(f"{KB}/drafts", headers=editor).status_code == 200


def test_restore_and_publish_need_no_body(client, editor):
    restored = client.post(
        f"{KB}/revisions/2.2/restore", headers={**editor, "If-Match": _etag(client)}
    )
    assert restored.status_code == 200, restored.get_data(as_text=True)


def test_kb_numbers_are_ascii_digits(client, editor):
    # `\d` took other scripts' digits: KB٩٠٠٠٠٢ would have been a second "900002".
    body = {**NEW_ARTICLE, "kb": "٩٠٠٠٠٢"}
    response = client.post("/api/v1/articles", json=body, headers=editor)
    assert "kb" in _problem(response, 422)["errors"]
    _problem(client.get("/api/v1/articles/%D9%A9%D9%A0%D9%A0/drafts", headers=editor), 404)


def test_service_pack_bounds_are_json_integers(client, editor):
    body = {**NEW_ARTICLE, "applies_to": [{"product": "windows_xp", "service_pack_min": "1"}]}
    response = client.post("/api/v1/articles", json=body, headers=editor)
    assert "applies_to.0.service_pack_min" in _problem(response, 422)["errors"]


def test_discard_draft(client, editor):
    saved = client.put(
        f"{KB}/drafts/rules", json={"rules": {"product": "windows_xp"}}, headers=editor
    )
    assert saved.status_code == 201
    draft_id = saved.get_json()["id"]
    _problem(client.put(f"{KB}/drafts/rules", json={"rules": {"nope": 1}}, headers=editor), 422)
    assert client.delete(f"/api/v1/drafts/{draft_id}", headers=editor).status_code == 204
    assert client.get(f"{KB}/drafts", headers=editor).get_json()["items"] == []
    assert client.get(f"{KB}/rules").get_json()["rules"] != {"product": "windows_xp"}


def test_audit_log_is_for_admins(client, app, editor):
    client.put(
        f"{KB}/metadata", json={"keywords": ["x"]}, headers={**editor, "If-Match": _etag(client)}
    ).close()
    _problem(client.get("/api/v1/audit", headers=editor), 403)
    _problem(client.get("/api/v1/audit"), 401)
    admin = {"Authorization": f"Bearer {make_token(app, 'admin')}"}
    events = client.get("/api/v1/audit", headers=admin).get_json()
    assert events["total"] >= 1
    event = events["items"][0]
    assert event["actor"] == "Emi Editor"
    assert event["action"] == "metadata.put"
    assert event["kb"] == "885348"
    assert event["revision"] == "2.3"
    assert event["remote_addr"] == "127.0.0.1"


def test_tokens_cli(cli):
    assert cli.invoke(main, ["db", "upgrade"]).exit_code == 0
    created = cli.invoke(main, ["tokens", "create", "--name", "ci-bot", "--role", "admin"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("kb_") and len(token) > 40
    duplicate = cli.invoke(main, ["tokens", "create", "--name", "ci-bot", "--role", "admin"])
    assert duplicate.exit_code != 0 and "exists" in duplicate.output
    listing = cli.invoke(main, ["tokens", "list"])
    assert "ci-bot" in listing.output and token not in listing.output
    assert "active" in listing.output
    revoked = cli.invoke(main, ["tokens", "revoke", "ci-bot"])
    assert revoked.exit_code == 0
    assert "revoked" in cli.invoke(main, ["tokens", "list"]).output
    bad_role = cli.invoke(main, ["tokens", "create", "--name", "x", "--role", "root"])
    assert bad_role.exit_code == 2


def test_revoked_token_stops_working(client, app):
    from kbservice.access.tokens import revoke_token
    from kbservice.http.context import get_database

    token = make_token(app, "editor", "leaver")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{KB}/drafts", headers=headers).status_code == 200
    with app.app_context(), get_database(app).write() as session:
        revoke_token(session, "leaver")
    _problem(client.get(f"{KB}/drafts", headers=headers), 401)


def test_a_tokens_last_use_is_written_once_a_minute_not_on_every_request(client, app):
    """A client sending many requests a second must not make each authenticated read a write."""
    import datetime as dt

    from sqlalchemy import update

    from kbservice.access.tokens import list_tokens
    from kbservice.http.context import get_database
    from kbservice.storage.models import ApiToken

    def last_used():
        with app.app_context(), get_database(app).session() as session:
            return next(t.last_used_at for t in list_tokens(session) if t.name == "busy-bot")

    token = make_token(app, "editor", "busy-bot")
    headers = {"Authorization": f"Bearer {token}"}
    assert last_used() is None
    assert client.get(f"{KB}/drafts", headers=headers).status_code == 200
    first = last_used()
    assert first is not None
    for _ in range(3):
        assert client.get(f"{KB}/drafts", headers=headers).status_code == 200
    assert last_used() == first
    # A minute later, the next request records its use again.
    with app.app_context(), get_database(app).write() as session:
        earlier = first - dt.timedelta(minutes=1, seconds=1)
        session.execute(
            update(ApiToken).where(ApiToken.name == "busy-bot").values(last_used_at=earlier)
        )
    assert client.get(f"{KB}/drafts", headers=headers).status_code == 200
    assert last_used() > first


def test_search_index_follows_every_published_revision(client, editor):
    def kbs(query):
        return [
            item["kb"] for item in client.get(f"/api/v1/articles?q={query}").get_json()["items"]
        ]

    assert kbs("zanzibarite") == []
    en = client.get(f"{KB}?locale=en").get_json()
    sections = [dict(s) for s in en["sections"]]
    sections[0]["body"] += "\n\nZanzibarite appears here."
    client.put(
        f"{KB}/drafts/translations/en",
        json={"title": en["title"], "sections": sections},
        headers=editor,
    ).close()
    assert kbs("zanzibarite") == []  # drafts are not searchable
    client.put(
        f"{KB}/translations/en",
        json={"title": en["title"], "sections": sections},
        headers={**editor, "If-Match": _etag(client)},
    ).close()
    assert kbs("zanzibarite") == ["885348"]
    restored = client.post(
        f"{KB}/revisions/2.2/restore", json={}, headers={**editor, "If-Match": _etag(client)}
    )
    assert restored.status_code == 200
    assert kbs("zanzibarite") == []


def test_if_match_takes_lists_and_weak_tags_and_refuses_a_star(client, editor):
    """The If-Match forms clients send: a list, a weak tag, `*`, an empty header."""
    text = {"title": "Title", "sections": [{"heading": None, "body": "Body"}], "summary": "s"}
    path = f"{KB}/translations/en"
    current = _etag(client)
    _problem(client.put(path, json=text, headers={**editor, "If-Match": "*"}), 412)
    _problem(client.put(path, json=text, headers={**editor, "If-Match": '"other", "x"'}), 412)
    listed = client.put(path, json=text, headers={**editor, "If-Match": f'"stale", {current}'})
    assert listed.status_code == 200
    weak = client.put(path, json=text, headers={**editor, "If-Match": f"W/{_etag(client)}"})
    assert weak.status_code == 200
    _problem(client.put(path, json=text, headers={**editor, "If-Match": ""}), 428)
