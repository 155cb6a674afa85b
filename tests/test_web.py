"""The web pages through Flask's test client: reading, checking, signing in, editing, safety."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kbservice.access.tokens import revoke_token
from kbservice.articles.audit import list_events
from kbservice.http.context import get_database
from kbservice.web import i18n

from .conftest import make_token

KB = "/kb/885348"
API = "/api/v1/articles/885348"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BASE = re.compile(r'name="base_revision_id" value="(\d*)"')


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    @classmethod
    def of(cls, html: str) -> list[tuple[str, dict[str, str | None]]]:
        parser = cls()
        parser.feed(html)
        return parser.found


def page(response, status: int = 200) -> str:
    """The HTML of a response that must have `status`."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)


def sign_in(client: FlaskClient, app: Flask, role: str = "editor", name: str = "Web Editor"):
    """Sign `client` in with a new token of `role`; returns the token."""
    token = make_token(app, role, name)
    form = page(client.get("/signin"))
    response = client.post("/signin", data={"token": token, "csrf_token": csrf_of(form)})
    assert response.status_code == 303, response.get_data(as_text=True)
    return token


def api_publish_ja(client: FlaskClient, app: Flask, body: str = "Changed by the API.") -> None:
    """Publish a change of the Japanese (source) text through the REST API."""
    headers = {"Authorization": f"Bearer {make_token(app, 'editor', 'API Editor')}"}
    etag = client.get(f"{API}?locale=ja").headers["ETag"]
    article = client.get(f"{API}?locale=ja").get_json()
    sections = [*article["sections"], {"heading": "追記", "body": body}]
    response = client.put(
        f"{API}/translations/ja",
        json={"title": article["title"], "sections": sections, "summary": "API edit"},
        headers={**headers, "If-Match": etag},
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def revision_numbers(client: FlaskClient) -> list[str]:
    return [item["number"] for item in client.get(f"{API}/revisions").get_json()["items"]]


def edit_form(client: FlaskClient, path: str) -> dict[str, str]:
    """The hidden fields of an edit form."""
    html = page(client.get(path))
    return {
        "csrf_token": csrf_of(html),
        "base_revision_id": BASE.search(html).group(1),
        "draft_version": re.search(r'name="draft_version" value="(\d+)"', html).group(1),
    }


def en_translation(title: str, body: str, **extra: str) -> dict[str, object]:
    return {"title": title, "heading": ["Introduction"], "body": [body], **extra}


# Reading


def test_search_page_lists_every_article_in_the_default_locale(client):
    response = client.get("/")
    html = page(response)
    assert '<html lang="ja">' in html
    assert response.headers["Content-Language"] == "ja"
    assert {"Accept-Language", "Cookie"} <= set(response.vary)
    assert "KB885348" in html
    assert "すべての資料 (1 件)" in html
    assert 'role="search"' in html
    assert '<label for="q">' in html


@pytest.mark.parametrize(("query", "marked"), [("ipsec", "IPSec"), ("推奨", "推奨")])
def test_search_highlights_matches_in_snippets(client, query, marked):
    html = page(client.get("/", query_string={"q": query}))
    assert f"<mark>{marked}</mark>" in html
    assert "1 件" in html


def test_search_in_english_says_where_the_match_was(client):
    html = page(client.get("/", query_string={"q": "推奨", "locale": "en"}))
    assert "1 results" in html
    assert "found in 日本語" in html


@pytest.mark.parametrize("query", ["885348", "KB885348", " kb885348 "])
def test_a_kb_number_goes_straight_to_the_article(client, query):
    response = client.get("/", query_string={"q": query})
    assert response.status_code == 303
    assert response.headers["Location"] == KB


def test_an_unknown_kb_number_is_searched_for(client):
    html = page(client.get("/", query_string={"q": "999999"}))
    assert "該当する資料はありません" in html


def test_search_filters_by_product(client):
    matching = page(client.get("/", query_string={"product": "windows_server_2003"}))
    assert "KB885348" in matching
    other = page(client.get("/", query_string={"q": "ipsec", "product": "windows_xp"}))
    assert "KB885348" not in other
    bad = page(client.get("/", query_string={"service_pack": "two"}), 400)
    assert "Service Pack は数値で指定してください" in bad


def test_search_refuses_overlong_queries(client, app):
    app.config["MAX_QUERY_LENGTH"] = 10
    html = page(client.get("/", query_string={"q": "x" * 11}), 400)
    assert "10 文字まで" in html


def test_locale_from_query_then_cookie_then_accept_language(client):
    english = client.get("/?locale=en")
    assert '<html lang="en">' in page(english)
    assert "kb_locale=en" in english.headers["Set-Cookie"]
    assert "HttpOnly" in english.headers["Set-Cookie"]
    assert '<html lang="en">' in page(client.get("/"))
    assert '<html lang="ja">' in page(client.get("/?locale=ja-JP"))


def test_accept_language_chooses_the_ui_locale(client):
    html = page(client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}))
    assert '<html lang="en">' in html
    assert "Search the knowledge base" in html


def test_article_page_in_japanese(client):
    html = page(client.get(KB))
    assert '<h1 id="article-title" lang="ja">ネットワーク アドレス変換器の背後' in html
    assert "<h2>はじめに</h2>" in html
    assert "<li>10.0.0.0/8</li>" in html  # Markdown lists render as lists
    assert "Microsoft Windows Server 2003, Enterprise Edition (32-bit x86)" in html
    assert "サポートは" in html  # generated lifecycle notice
    assert "KB885407" in html and "このサポート技術情報にはありません" in html
    assert 'href="/kb/885348/revisions/2.2"' in html
    assert 'href="/check?kb=885348"' in html
    assert "翻訳が古くなっています" not in html


def test_article_kb_prefix_redirects_and_unknown_is_404(client):
    response = client.get("/kb/KB885348?locale=en")
    assert response.status_code == 301
    assert response.headers["Location"] == "/kb/885348?locale=en"
    odd = client.get("/kb/KB885348?kb=1&_external=1")
    assert odd.headers["Location"] == "/kb/885348?kb=1&_external=1"
    # The explicit ?locale=en was remembered.
    assert "Not found" in page(client.get("/kb/999999"), 404)
    assert "No article KB999999 exists." in page(client.get("/kb/999999"), 404)
    assert "見つかりません" in page(client.get("/kb/not-a-number?locale=ja"), 404)


def test_english_article_is_marked_outdated_after_the_source_changes(client, app):
    english = page(client.get(f"{KB}?locale=en"))
    assert '<html lang="en">' in english
    assert "Outdated translation" not in english
    api_publish_ja(client, app)
    english = page(client.get(f"{KB}?locale=en"))
    assert "Outdated translation." in english
    assert 'href="/kb/885348?locale=ja"' in english
    assert "翻訳が古くなっています" not in page(client.get(f"{KB}?locale=ja"))


def test_old_revisions_and_the_diff_between_revisions(client, app):
    api_publish_ja(client, app, body="新しい段落です。")
    old = page(client.get(f"{KB}/revisions/2.2"))
    assert "リビジョン 2.2 を表示しています。最新のリビジョンは 2.3 です。" in old
    assert "新しい段落です。" not in old
    assert "新しい段落です。" in page(client.get(KB))
    diff = page(client.get(f"{KB}/diff", query_string={"from": "2.2", "to": "2.3"}))
    assert "<ins>新しい段落です。</ins>" in diff
    assert "追記" in diff and "追加" in diff
    default = page(client.get(f"{KB}/diff"))  # the newest against the one before
    assert (
        "リビジョン 2.2 から 2.3 への変更点" in default and "<ins>新しい段落です。</ins>" in default
    )
    assert "見つかりません" in page(client.get(f"{KB}/diff?from=9.9"), 404)
    assert "見つかりません" in page(client.get(f"{KB}/revisions/9.9"), 404)


def test_markdown_and_titles_are_rendered_safely(client, app):
    headers = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    hostile = {
        "kb": "900001",
        "source_locale": "en",
        "title": "<script>alert('title')</script> hostile",
        "sections": [
            {
                "heading": "<img src=x onerror=alert(1)>",
                "body": "<script>alert('body')</script>\n\n"
                "[click](javascript:alert('link')) [ok](https://example.com)\n\n"
                '<a href="javascript:alert(2)">raw</a> <img src=x onerror=alert(3)>\n\n'
                "# Body heading",
            }
        ],
        "applies_to": [],
        "rules": None,
    }
    created = client.post("/api/v1/articles", json=hostile, headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    html = page(client.get("/kb/900001"))
    elements = Elements.of(html)
    assert [attrs for tag, attrs in elements if tag == "script"] == [
        {"src": "/static/web/web.js", "defer": None}
    ]
    assert not [tag for tag, _ in elements if tag == "img"]
    assert not [a for _, attrs in elements for a in attrs if a.startswith("on")]
    links = [attrs.get("href", "") for tag, attrs in elements if tag == "a"]
    assert not [href for href in links if "javascript" in href.lower()]
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; hostile" in html
    assert "<p>&lt;script&gt;alert('body')&lt;/script&gt;</p>" in html  # shown as text
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">ok</a>' in html
    assert "<h3>Body heading</h3>" in html  # a body's own headings sit below the section's
    results = page(client.get("/", query_string={"q": "hostile script"}))
    assert "<script>" not in results
    assert "&lt;script&gt;" in results


# Does this apply to my system?


def test_check_form_is_labelled_and_keyboard_friendly(client):
    html = page(client.get("/check"))
    for name in ("product", "edition", "architecture", "service_pack", "ip_addresses", "cpe"):
        assert f'<label for="{name}">' in html
        assert f'id="{name}"' in html
    assert "<legend>ネットワーク アドレス変換器 (NAT) の内側にありますか?</legend>" in html
    assert 'tabindex="1' not in html  # no positive tabindex: the natural order is kept


def test_check_verdicts_with_reasons_and_missing_facts(client):
    system = {
        "product": "windows_server_2003",
        "edition": "enterprise",
        "architecture": "x86",
        "service_pack": "2",
        "locale": "en",
    }
    unknown = page(client.get("/check", query_string=system))
    assert "Cannot tell yet" in unknown
    assert 'href="#behind_nat"' in unknown and 'href="#role-vpn_server"' in unknown
    applies = page(
        client.get(
            "/check", query_string={**system, "ip_addresses": "10.0.0.5", "role": "vpn_server"}
        )
    )
    assert "badge-applies" in applies
    assert "Behind a network address translator (NAT)?: yes (from IP addresses)" in applies


def test_check_one_article_derives_facts_from_a_pasted_cpe(client):
    cpe = "cpe:2.3:o:microsoft:windows_server_2003:-:sp2:*:*:enterprise:*:x86:*"
    html = page(client.get("/check", query_string={"kb": "885348", "cpe": cpe, "behind_nat": "no"}))
    assert "該当しません" in html
    assert "(CPE 名 から)" in html
    xp = page(client.get("/check", query_string={"kb": "KB885348", "product": "windows_xp"}))
    assert "verdict-not_applicable" in xp


def test_check_shows_field_errors(client):
    html = page(client.get("/check", query_string={"ip_addresses": "10.0.0.300"}), 422)
    assert 'aria-invalid="true"' in html
    assert 'id="ip_addresses-error"' in html
    missing = page(client.get("/check", query_string={"kb": "123", "product": "x"}), 422)
    assert "KB123 という資料はありません" in missing


# Signing in


def test_behind_tls_the_session_cookie_can_be_sent_over_https_only(
    seeded_url, make_app, monkeypatch
):
    def signed_in_cookie(app: Flask, name: str) -> str:
        client = app.test_client()
        form = page(client.get("/signin"))
        token = make_token(app, "editor", name)
        response = client.post("/signin", data={"token": token, "csrf_token": csrf_of(form)})
        assert response.status_code == 303
        return response.headers["Set-Cookie"]

    assert "Secure" not in signed_in_cookie(make_app({"DATABASE_URL": seeded_url}), "Emi")
    monkeypatch.setenv("KB_SESSION_COOKIE_SECURE", "true")
    assert "; Secure" in signed_in_cookie(make_app({"DATABASE_URL": seeded_url}), "Ken")


def test_sign_in_sets_a_protected_session_and_sign_out_ends_it(client, app):
    assert "編集" not in page(client.get(KB)).split("<h2>編集</h2>")[0][-5:]
    token = make_token(app, "editor", "Emi")
    form = page(client.get(f"/signin?next={KB}"))
    assert 'type="password"' in form and '<label for="token">' in form
    response = client.post(
        "/signin", data={"token": token, "csrf_token": csrf_of(form), "next": KB}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == KB
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert token not in cookie
    article = page(client.get(KB))
    assert "Emi としてサインイン中" in article
    assert 'href="/kb/885348/edit/translation/en"' in article
    assert client.get(KB).headers["Cache-Control"] == "private, no-store"
    out = client.post("/signout", data={"csrf_token": csrf_of(article)})
    assert out.status_code == 303
    assert "Emi としてサインイン中" not in page(client.get(KB))
    assert client.get(f"{KB}/edit/rules").status_code == 302
    with app.app_context():
        actions = [event.action for event in list_events(get_database(app).session())[0]]
    assert "web.signin" in actions


@pytest.mark.parametrize(
    ("role", "status", "message"),
    [
        (None, 401, "このトークンは存在しないか、失効しています。"),
        ("reader", 403, "editor または admin のトークンが必要です"),
    ],
)
def test_sign_in_refuses_unknown_tokens_and_readers(client, app, role, status, message):
    token = make_token(app, role) if role else "kb_0000_nope"
    form = page(client.get("/signin"))
    html = page(client.post("/signin", data={"token": token, "csrf_token": csrf_of(form)}), status)
    assert message in html
    assert client.get(f"{KB}/edit/rules").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
def test_sign_in_never_redirects_off_site(client, app, target):
    form = page(client.get("/signin"))
    token = make_token(app, "editor")
    response = client.post(
        "/signin", data={"token": token, "csrf_token": csrf_of(form), "next": target}
    )
    assert response.headers["Location"] == "/"


def test_a_revoked_token_ends_the_session_on_the_next_request(client, app):
    sign_in(client, app, name="Soon Revoked")
    assert client.get(f"{KB}/edit/rules").status_code == 200
    with app.app_context(), get_database(app).write() as session:
        revoke_token(session, "Soon Revoked")
    response = client.get(f"{KB}/edit/rules")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=")


@pytest.mark.parametrize("path", ["/signin", "/signout", f"{KB}/edit/translation/en"])
def test_every_post_needs_the_sessions_csrf_token(client, app, path):
    sign_in(client, app)
    html = page(client.post(path, data={"token": "x", "title": "t"}), 400)
    assert "有効期限が切れているか" in html
    forged = page(client.post(path, data={"csrf_token": "forged", "title": "t"}), 400)
    assert "有効期限が切れているか" in forged
    assert revision_numbers(client) == ["2.2"]


def test_editing_needs_sign_in(client):
    response = client.get(f"{KB}/edit/translation/en")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=%2Fkb%2F885348%2Fedit%2Ftranslation%2Fen"


# Editing


def test_publish_a_translation(client, app):
    sign_in(client, app, name="Emi Editor")
    path = f"{KB}/edit/translation/en"
    html = page(client.get(path))
    assert "Original (日本語)" in page(client.get(f"{path}?locale=en"))
    assert 'value="Use of IPSec NAT-T is not recommended' in html
    form = edit_form(client, path)
    data = {
        **form,
        "title": "A new English title",
        "heading": ["Introduction", "", ""],
        "body": ["New **bold** text.", "", ""],
        "summary": "Shorter",
        "action": "publish",
    }
    response = client.post(path, data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{KB}?locale=en"
    article = page(client.get(response.headers["Location"]))
    assert "Published revision 2.3." in article
    assert "<strong>bold</strong>" in article
    revision = client.get(f"{API}/revisions").get_json()["items"][0]
    assert (revision["number"], revision["author"], revision["summary"]) == (
        "2.3",
        "Emi Editor",
        "Shorter",
    )
    assert "KB885348" in page(client.get("/", query_string={"q": "bold"}))  # reindexed
    with app.app_context():
        events = list_events(get_database(app).session())[0]
    assert events[0].action == "translation.put" and events[0].actor == "Emi Editor"


def test_add_a_translation_to_an_article_without_one(client, app):
    headers = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    new = {
        "kb": "900002",
        "source_locale": "ja",
        "title": "静的マッピング",
        "sections": [{"heading": "はじめに", "body": "本文"}, {"heading": "詳細", "body": "詳細"}],
        "applies_to": [],
        "rules": None,
    }
    assert client.post("/api/v1/articles", json=new, headers=headers).status_code == 201
    sign_in(client, app)
    article = page(client.get("/kb/900002?locale=en"))
    assert "This article is not available in English; it is shown in 日本語." in article
    assert "Add the English translation" in article
    path = "/kb/900002/edit/translation/en"
    html = page(client.get(path))
    assert html.count('name="body"') == 2  # one empty section per section of the original
    data = {**edit_form(client, path), **en_translation("Static mappings", "Body")}
    assert client.post(path, data={**data, "action": "publish"}).status_code == 303
    assert client.get("/api/v1/articles/900002?locale=en").get_json()["title"] == "Static mappings"


def test_drafts_are_saved_reloaded_published_and_discarded(client, app):
    sign_in(client, app, name="Drafty")
    path = f"{KB}/edit/translation/en"
    data = {**edit_form(client, path), **en_translation("Draft title", "Draft body")}
    saved = client.post(path, data={**data, "action": "draft"})
    assert saved.status_code == 303 and saved.headers["Location"] == path
    html = page(client.get(path))
    assert "Draft title" in html and "Draft body" in html
    assert "Drafty が保存 (バージョン 1)" in html
    assert "Draft title" not in page(client.get(f"{KB}?locale=en"))
    assert revision_numbers(client) == ["2.2"]
    form = edit_form(client, path)
    assert form["draft_version"] == "1"
    discarded = client.post(path, data={**form, **en_translation("x", "y"), "action": "discard"})
    assert discarded.status_code == 303
    assert "Draft discarded." in page(client.get(path))  # ?locale=en above was remembered
    assert "Draft title" not in page(client.get(path))
    client.post(
        path, data={**edit_form(client, path), **en_translation("D2", "B2"), "action": "draft"}
    )
    form = edit_form(client, path)
    client.post(path, data={**form, **en_translation("Final", "B3"), "action": "publish"})
    assert revision_numbers(client) == ["2.3", "2.2"]
    assert (
        client.get(
            f"{API}/drafts", headers={"Authorization": f"Bearer {make_token(app, 'editor')}"}
        ).get_json()["items"]
        == []
    )


def test_publishing_after_someone_else_shows_both_versions_and_loses_nothing(client, app):
    sign_in(client, app, name="Slow Editor")
    path = f"{KB}/edit/translation/ja"
    form = edit_form(client, path)
    api_publish_ja(client, app, body="先に公開された段落。")
    typed = {
        **form,
        "title": "私のタイトル",
        "heading": ["はじめに"],
        "body": ["私が入力した <本文> です。"],
        "action": "publish",
    }
    html = page(client.post(path, data=typed), 409)
    assert "ほかの人が先に保存しました" in html
    assert "API Editor がリビジョン 2.3 を公開しました" in html
    assert 'value="私のタイトル"' in html
    assert "私が入力した &lt;本文&gt; です。</textarea>" in html
    assert "先に公開された段落。" in html  # their version, beside
    assert "<ins>+私が入力した &lt;本文&gt; です。</ins>" in html  # and what differs
    assert "<del>-先に公開された段落。</del>" in html
    assert revision_numbers(client) == ["2.3", "2.2"]
    # The re-rendered form builds on their revision: publishing again is a deliberate merge.
    base = BASE.search(html).group(1)
    assert base != form["base_revision_id"]
    again = client.post(path, data={**typed, "csrf_token": csrf_of(html), "base_revision_id": base})
    assert again.status_code == 303
    assert revision_numbers(client) == ["2.4", "2.3", "2.2"]


def test_a_colleagues_newer_draft_is_not_overwritten(client, app):
    path = f"{KB}/edit/translation/en"
    other = app.test_client()
    sign_in(client, app, name="First")
    sign_in(other, app, name="Second")
    mine = edit_form(client, path)
    theirs = edit_form(other, path)
    assert (
        other.post(
            path, data={**theirs, **en_translation("Theirs", "T"), "action": "draft"}
        ).status_code
        == 303
    )
    html = page(
        client.post(path, data={**mine, **en_translation("Mine", "M"), "action": "draft"}), 409
    )
    assert "Second がこの下書きを保存しました" in html
    assert 'value="Mine"' in html and "Theirs" in html
    assert "Theirs" in page(other.get(path))


def test_invalid_input_is_shown_with_the_typed_text(client, app):
    sign_in(client, app)
    path = f"{KB}/edit/translation/en"
    data = {**edit_form(client, path), "title": "", "heading": ["H"], "body": ["kept body"]}
    html = page(client.post(path, data={**data, "action": "publish"}), 422)
    assert 'aria-invalid="true"' in html and "kept body</textarea>" in html
    assert revision_numbers(client) == ["2.2"]
    assert client.get(f"{KB}/edit/translation/fr").status_code == 404


def test_edit_rules_validates_and_publishes(client, app):
    sign_in(client, app)
    path = f"{KB}/edit/rules"
    html = page(client.get(path))
    assert "&#34;behind_nat&#34;" in html or "&quot;behind_nat&quot;" in html
    form = edit_form(client, path)
    broken = page(client.post(path, data={**form, "rules": "{not json", "action": "publish"}), 422)
    assert "{not json</textarea>" in broken and "Invalid JSON" in broken
    unknown = page(
        client.post(path, data={**form, "rules": '{"all": [{"bogus": 1}]}', "action": "publish"}),
        422,
    )
    assert "all.0" in unknown
    # Without the labels, and still giving the seed's examples their verdicts.
    rules = json.dumps(
        {
            "all": [
                {"product": "windows_server_2003"},
                {"architecture": "x86"},
                {"service_pack": {"max": 2}},
                {"fact": "behind_nat", "equals": True},
                {"fact": "roles", "contains": "vpn_server"},
            ]
        }
    )
    response = client.post(path, data={**form, "rules": rules, "action": "publish"})
    assert response.status_code == 303
    assert client.get(f"{API}/rules").get_json()["rules"]["all"][0] == {
        "product": "windows_server_2003"
    }
    stale = page(
        client.post(
            path,
            data={**form, "rules": '{"all": [{"product": "windows_xp"}]}', "action": "publish"},
        ),
        409,
    )
    assert "windows_xp" in stale and "Their version" not in stale and "相手の版" in stale


# Safety of every page


@pytest.mark.parametrize(
    "path",
    ["/", "/?q=ipsec", KB, f"{KB}/revisions/2.2", f"{KB}/diff", "/check", "/signin", "/kb/1"],
)
def test_pages_have_a_strict_policy_and_no_inline_script_or_style(client, path):
    response = client.get(path)
    html = response.get_data(as_text=True)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert re.search(r"\son[a-z]+=", html) is None
    assert " style=" not in html and "<style" not in html
    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html


@pytest.mark.parametrize("name", ["web.css", "web.js"])
def test_static_assets_are_served(client, name):
    with client.get(f"/static/web/{name}") as response:
        assert response.status_code == 200


def test_the_api_is_untouched_by_the_pages(client):
    response = client.get(API)
    assert response.headers["Content-Type"].startswith("application/json")
    assert "Set-Cookie" not in response.headers
    assert (
        response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    # API writes need no CSRF token: they are authorised by the bearer token alone.
    headers = {"Authorization": f"Bearer {make_token(app=client.application, role='editor')}"}
    rules = client.get(f"{API}/rules").get_json()["rules"]
    etag = client.get(API).headers["ETag"]
    put = client.put(f"{API}/rules", json={"rules": rules}, headers={**headers, "If-Match": etag})
    assert put.status_code == 200


def test_oversized_posts_get_an_html_page(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 100
    html = page(client.post("/signin", data={"token": "x" * 500}), 413)
    assert "サイズが大きすぎます" in html


def test_ui_catalogs_have_the_same_keys():
    assert set(i18n.EN) == set(i18n.JA)
