"""Per-process caches never serve stale answers: rendered articles, rule index, catalog."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from kbservice.api.serving import rendered_cache
from kbservice.articles.reading import NewArticle, create_article
from kbservice.articles.revisions import Change, publish
from kbservice.cli import main
from kbservice.storage.db import Database, make_null_pool_engine

from .conftest import each_freshness_mode
from .flask_requests import FlaskRequests, comparable, requests_counted
from .systems import SERVER_2003_VPN

KB = "/api/v1/articles/885348"
SERVER_2003 = {**SERVER_2003_VPN, "behind_nat": True}
XP = {"product": "windows_xp", "edition": "professional", "architecture": "x86", "service_pack": 2}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    each_freshness_mode(metafunc)


def _kbs(client, system):
    response = client.post("/api/v1/applicability", json={"system": system})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {result["kb"] for result in response.get_json()["results"]}


def _put_rules(client, editor, rules, kb="885348"):
    path = f"/api/v1/articles/{kb}"
    etag = client.get(f"{path}?locale=ja").headers["ETag"]
    # Without the seed's examples, which rules for other products would contradict.
    response = client.put(
        f"{path}/rules",
        json={"rules": rules, "examples": []},
        headers={**editor, "If-Match": etag},
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def _new_article(client, editor, kb, rules):
    article = {
        "kb": kb,
        "source_locale": "en",
        "title": f"Article {kb}",
        "sections": [{"heading": None, "body": "Body."}],
        "applies_to": [{"product": "windows_xp"}],
        "rules": rules,
    }
    response = client.post("/api/v1/articles", json=article, headers=editor)
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_repeated_get_is_the_same_representation(client):
    first = client.get(f"{KB}?locale=en")
    second = client.get(f"{KB}?locale=en")
    assert first.status_code == second.status_code == 200
    assert first.get_data() == second.get_data()
    assert first.headers["ETag"] == second.headers["ETag"]
    assert second.headers["Content-Language"] == "en"
    assert second.headers["Vary"] == "Accept-Language"
    assert second.headers["Content-Type"] == "application/json"
    not_modified = client.get(f"{KB}?locale=en", headers={"If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304
    assert not_modified.get_data() == b""
    assert not_modified.headers["ETag"] == first.headers["ETag"]
    # The cached English body is not served for another negotiated locale.
    japanese = client.get(KB, headers={"Accept-Language": "ja"})
    assert japanese.headers["Content-Language"] == "ja"
    assert japanese.get_json()["locale"] == "ja"
    assert japanese.headers["ETag"] != first.headers["ETag"]


def test_every_way_of_loading_an_article_renders_it_alike(client):
    """A first view brings the rows with the lookup; another locale, or a revision
    after an edit, loads them separately; both must render what a cold cache does."""
    first = {locale: client.get(f"{KB}?locale={locale}") for locale in ("ja", "en")}
    rendered_cache(client.application).clear()
    cold = {locale: client.get(f"{KB}?locale={locale}") for locale in ("en", "ja")}
    for locale in ("ja", "en"):
        assert first[locale].status_code == cold[locale].status_code == 200
        assert first[locale].get_data() == cold[locale].get_data()
        assert first[locale].headers["ETag"] == cold[locale].headers["ETag"]


def _cold(client, path):
    rendered_cache(client.application).clear()
    return client.get(path)


def test_a_render_from_the_rows_is_the_revision_view_in_every_case(client, editor):
    """A cache miss renders from the one locale's rows (reading.localized_from_rows); the
    revision view renders the whole snapshot. Same bytes and headers: a translation,
    its outdated flag, the fallback to the source locale, Accept-Language."""
    ja = client.get(f"{KB}?locale=ja").get_json()
    ja["sections"][0]["body"] += "\n\n追記。"
    edited = client.put(
        f"{KB}/translations/ja",
        json={"title": ja["title"], "sections": ja["sections"]},
        headers={**editor, "If-Match": client.get(f"{KB}?locale=ja").headers["ETag"]},
    )
    assert edited.status_code == 200, edited.get_data(as_text=True)
    _new_article(client, editor, "4000001", None)  # English only
    cases = [
        (KB, "?locale=en", {}),  # an outdated translation
        (KB, "?locale=ja", {}),  # the source, just edited
        (KB, "", {"Accept-Language": "en-US, ja;q=0.5"}),
        ("/api/v1/articles/4000001", "?locale=ja", {}),  # no Japanese text: English
        ("/api/v1/articles/KB4000001", "", {"Accept-Language": "ja"}),
    ]
    for path, query, headers in cases:
        rendered_cache(client.application).clear()
        current = client.get(f"{path}{query}", headers=headers)
        number = current.get_json()["revision"]["number"]
        revision = client.get(f"{path}/revisions/{number}{query}", headers=headers)
        assert current.status_code == revision.status_code == 200, (path, query)
        assert current.get_data() == revision.get_data(), (path, query)
        for name in ("ETag", "Content-Language", "Vary", "Content-Type", "Cache-Control"):
            assert current.headers.get(name) == revision.headers.get(name), (path, query, name)
    outdated = _cold(client, f"{KB}?locale=en").get_json()
    assert outdated["translation_outdated"] is True
    assert outdated["available_locales"] == ["en", "ja"]
    fallback = _cold(client, "/api/v1/articles/4000001?locale=ja")
    assert fallback.headers["Content-Language"] == "en" and fallback.get_json()["locale"] == "en"
    assert fallback.get_json()["available_locales"] == ["en"]


def test_notices_follow_the_date_of_each_request(client, monkeypatch):
    """The catalog keeps the notices it made per product and day, and the rendered
    cache per day: the day Windows Server 2003's support ended, and the day after."""
    import datetime as dt

    from kbservice.api import serving

    def on(day):
        moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        monkeypatch.setattr(serving, "utcnow", lambda: moment)
        response = client.get(f"{KB}?locale=en")
        assert response.status_code == 200
        return response

    last_day, after = on(dt.date(2015, 7, 14)), on(dt.date(2015, 7, 15))
    kinds = [notice["kind"] for notice in last_day.get_json()["notices"]]
    assert "end_of_support" not in kinds and "end_of_mainstream_support" in kinds
    assert [notice["kind"] for notice in after.get_json()["notices"]] == ["end_of_support"]
    assert last_day.headers["ETag"] != after.headers["ETag"]
    assert on(dt.date(2015, 7, 14)).get_data() == last_day.get_data()


def test_an_article_lookup_brings_rows_only_when_asked(app):
    from kbservice.articles.reading import localized_from_rows
    from kbservice.http.context import get_stamp_reader_of

    reader = get_stamp_reader_of(app)
    cold = reader.article("885348", with_rows=True)
    assert cold is not None and cold.rows is not None
    article = localized_from_rows(cold.revision_id, cold.rows, "en")
    assert article.kb == "885348" and article.available_locales == ["en", "ja"]
    assert article.text.locale == "en" and article.revision_id == cold.revision_id
    warm = reader.article("885348")
    assert warm is not None and warm.rows is None
    assert (warm.revision_id, warm.source_locale, warm.stamps) == (
        cold.revision_id,
        cold.source_locale,
        cold.stamps,
    )
    assert reader.article("999999") is None
    assert reader.article("999999", with_rows=True) is None


def test_an_edit_replaces_the_cached_article_at_once(client, editor):
    before = client.get(f"{KB}?locale=en")
    etag = before.headers["ETag"]
    text = {
        "title": "Edited title",
        "sections": [{"heading": "Intro", "body": "Edited."}],
        "summary": "edit",
    }
    response = client.put(f"{KB}/translations/en", json=text, headers={**editor, "If-Match": etag})
    assert response.status_code == 200, response.get_data(as_text=True)
    after = client.get(f"{KB}?locale=en", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.get_json()["title"] == "Edited title"
    assert after.headers["ETag"] != etag


def test_article_gets_after_an_edit_leave_the_rules_to_applicability(app, client, editor):
    """An article GET right after an edit serves it without loading and compiling rules;
    the next applicability request brings the rule index up to date."""
    rules = app.extensions["kbservice.rules"]
    body = {"system": SERVER_2003_VPN, "articles": ["885348"]}
    assert client.post("/api/v1/applicability", json=body).status_code == 200
    built = rules.stamp
    etag = client.get(f"{KB}?locale=en").headers["ETag"]
    response = client.put(
        f"{KB}/metadata", json={"keywords": ["edited"]}, headers={**editor, "If-Match": etag}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    for _ in range(3):
        assert client.get(f"{KB}?locale=en").get_json()["keywords"] == ["edited"]
    assert rules.stamp == built
    assert client.post("/api/v1/applicability", json=body).status_code == 200
    assert rules.stamp != built


def test_a_catalog_change_reaches_cached_articles(client, seeded_url, tmp_path):
    def label():
        body = client.get(f"{KB}?locale=en").get_json()
        return {entry["label"] for entry in body["applies_to"]}

    assert "Microsoft Windows Server 2003, Standard Edition (32-bit x86)" in label()
    seeds = Path(client.application.config["SEEDS_DIR"])
    changed = tmp_path / "seeds"
    shutil.copytree(seeds, changed)
    products = changed / "products.yaml"
    products.write_text(
        products.read_text(encoding="utf-8").replace(
            "en: Microsoft Windows Server 2003, Standard Edition\n",
            "en: Renamed Server 2003 Standard\n",
        ),
        encoding="utf-8",
    )
    result = CliRunner(env={"KB_DATABASE_URL": seeded_url}).invoke(
        main, ["seed", "--seeds-dir", str(changed)]
    )
    assert result.exit_code == 0, result.output
    assert "Products changed: 1" in result.output
    assert "Renamed Server 2003 Standard (32-bit x86)" in label()


def test_rule_edits_move_articles_between_products(client, editor):
    assert "885348" in _kbs(client, SERVER_2003)
    assert "885348" not in _kbs(client, XP)
    _put_rules(client, editor, {"all": [{"product": "windows_xp"}, {"service_pack": {"min": 2}}]})
    assert "885348" not in _kbs(client, SERVER_2003)
    assert "885348" in _kbs(client, XP)
    # A rule that names no product is a candidate for every system.
    _put_rules(client, editor, {"fact": "behind_nat", "equals": True})
    assert "885348" in _kbs(client, SERVER_2003)
    assert "885348" in _kbs(client, {**XP, "behind_nat": True})
    _put_rules(client, editor, {"product": "windows_server_2003"})
    assert "885348" in _kbs(client, SERVER_2003)
    assert "885348" not in _kbs(client, {**XP, "behind_nat": True})


def test_new_articles_join_the_index(client, editor):
    assert _kbs(client, XP) == set()
    _new_article(client, editor, "KB900001", {"product": "windows_xp"})
    _new_article(client, editor, "KB900002", {"not": {"product": "windows_xp"}})
    assert _kbs(client, XP) == {"900001"}
    assert "900002" in _kbs(client, SERVER_2003)
    requested = client.post(
        "/api/v1/applicability", json={"system": XP, "articles": ["900002", "900001"]}
    ).get_json()
    assert [(r["kb"], r["verdict"]) for r in requested["results"]] == [
        ("900002", "not_applicable"),
        ("900001", "applies"),
    ]


def test_a_small_article_cache_still_answers_correctly(make_app, seeded_url):
    client = make_app({"DATABASE_URL": seeded_url, "ARTICLE_CACHE_MB": 0}).test_client()
    first = client.get(f"{KB}?locale=ja")
    again = client.get(f"{KB}?locale=ja", headers={"If-None-Match": first.headers["ETag"]})
    assert first.status_code == 200 and again.status_code == 304


def test_revision_ids_become_visible_in_the_order_they_were_allocated(seeded_url):
    """While one revision-writing transaction is open, another waits for it.

    Caches load "revisions above the id I saw last"; if a later id could commit first,
    a reader could skip the earlier one for good.
    """
    database = Database(make_null_pool_engine(seeded_url))
    entered, release = threading.Event(), threading.Event()
    created: list[int] = []

    def first_writer() -> None:
        with database.write() as session:
            created.append(publish_one(session, "title A"))
            entered.set()
            release.wait(10)

    def publish_one(session, title: str) -> int:
        current = session.execute(
            text(
                "SELECT r.id FROM revisions r JOIN articles a ON a.id = r.article_id "
                "AND r.seq = a.current_seq WHERE a.kb = '885348'"
            )
        ).scalar_one()
        snapshot = publish(
            session,
            "885348",
            current,
            Change(texts={"en": (title, [{"heading": None, "body": title}])}),
            author="test",
            summary=title,
        )
        return snapshot.revision_id

    def second_writer() -> None:
        with database.write() as session:
            snapshot = create_article(
                session,
                NewArticle(kb="900009", source_locale="en", texts={"en": ("B", [])}),
            )
            created.append(snapshot.revision_id)

    one = threading.Thread(target=first_writer)
    one.start()
    assert entered.wait(10)
    two = threading.Thread(target=second_writer)
    two.start()
    two.join(0.5)
    assert two.is_alive(), "the second writer did not wait for the first"
    release.set()
    one.join(10)
    two.join(10)
    assert not one.is_alive() and not two.is_alive()
    assert len(created) == 2 and created[0] < created[1]
    database.dispose()


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_unknown_articles_are_still_404(client, locale):
    response = client.get(f"/api/v1/articles/999999?locale={locale}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("?locale=ja", {}),
        ("?locale=en", {}),
        ("?locale=en-US", {}),
        ("", {"Accept-Language": "en;q=0.9, ja;q=0.5"}),
        ("", {}),
        ("?locale=fr", {"Accept-Language": "fr"}),
    ],
)
def test_the_fast_path_answers_as_flask_does(client, query, headers):
    """Plain article GETs are answered in front of Flask, on a cache miss and on a hit;
    an Origin header sends the same request through Flask (CORS is off here, so it
    changes nothing else). All must be byte-identical, headers included."""
    path = f"{KB}{query}"
    through_flask = {**headers, "Origin": "https://example.org"}
    flask = FlaskRequests(client.application)
    full = flask.get(client, path, headers=through_flask)
    rendered_cache(client.application).clear()
    miss = flask.get(client, path, headers=headers)
    hit = flask.get(client, path, headers=headers)
    assert full.status_code == 200
    assert full.through_flask and not miss.through_flask and not hit.through_flask
    assert comparable(miss) == comparable(full)
    assert comparable(hit) == comparable(full)
    etag = {"If-None-Match": full.headers["ETag"]}
    full_304 = flask.get(client, path, headers={**through_flask, **etag})
    fast_304 = flask.get(client, path, headers={**headers, **etag})
    assert full_304.status_code == fast_304.status_code == 304
    assert full_304.through_flask and not fast_304.through_flask
    assert comparable(fast_304) == comparable(full_304)


def test_unknown_articles_take_the_full_path(client):
    flask = FlaskRequests(client.application)
    response = flask.get(client, "/api/v1/articles/999999?locale=ja")
    assert response.status_code == 404 and response.through_flask


def test_cached_answers_are_counted_under_their_endpoint(client):
    client.get(f"{KB}?locale=ja")
    client.get(f"{KB}?locale=ja")
    assert requests_counted(client, "articles.get_article") >= 2


@pytest.mark.parametrize(
    ("query", "status"),
    [("?locale=" + "x" * 36, 422), ("?locale=ja&locale=en", 200), ("?unknown=1", 200)],
)
def test_unusual_queries_take_the_full_path(client, query, status):
    flask = FlaskRequests(client.application)
    client.get(f"{KB}?locale=ja")  # fill the cache
    response = flask.get(client, f"{KB}{query}")
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.through_flask
    if status == 422:
        assert "locale" in response.get_json()["errors"]


def test_cors_requests_take_the_full_path(make_app, seeded_url):
    client = make_app(
        {"DATABASE_URL": seeded_url, "CORS_ORIGINS": ("https://helpdesk.example",)}
    ).test_client()
    origin = {"Origin": "https://helpdesk.example"}
    client.get(f"{KB}?locale=ja", headers=origin)
    repeat = client.get(f"{KB}?locale=ja", headers=origin)
    assert repeat.headers["Access-Control-Allow-Origin"] == "https://helpdesk.example"
