"""The search's fast paths: cached answers are never stale, paged rankings are exact."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy.exc import DBAPIError

from kbservice import create_app
from kbservice.articles.reading import ArticlePage, create_article
from kbservice.fulltext import rebuild_index
from kbservice.fulltext.engines import clear
from kbservice.http.context import get_database
from kbservice.search import search_articles, searching
from kbservice.search.cache import _fetch_one
from kbservice.storage.lru import LRU

from .test_search import CORPUS, _article, corpus  # noqa: F401  (the shared corpus fixture)


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queries that were answered by computing, not from the cache."""
    calls: list[str] = []
    compute = searching._search

    def spy(session: Any, parsed: Any, *args: Any) -> ArticlePage:
        calls.append(parsed)
        return compute(session, parsed, *args)

    monkeypatch.setattr(searching, "_search", spy)
    return calls


def _search(app: Flask, query: str, **options: Any) -> ArticlePage:
    """A search in a session of its own, as a request makes it."""
    with app.app_context(), get_database(app).session() as session:
        return search_articles(session, query, **options)


def _kbs(page: ArticlePage) -> list[str]:
    return [hit.kb for hit in page.items]


def _wombat(kb: str, title: str) -> Any:
    return _article(kb, "en", (title, ["A wombat burrow."]), ("ウォンバット", ["巣穴。"]), [])


def test_a_repeated_search_is_answered_from_the_cache(corpus, computed):
    first = _search(corpus, "推奨", locale="ja")
    # (On SQLite the cache first learns how to tell a writing transaction: one more search.)
    _search(corpus, "推奨", locale="ja")
    done = len(computed)
    again = _search(corpus, "推奨", locale="ja")
    assert len(computed) == done
    assert again == first
    # The normalized query is the key: full width and case make no difference.
    assert _search(corpus, "ＩＰＳｅｃ") == _search(corpus, "ipsec")
    assert len(computed) == done + 1
    # Other pages, locales and filters are other answers.
    _search(corpus, "推奨", locale="en")
    _search(corpus, "推奨", locale="ja", page=2)
    _search(corpus, "推奨", locale="ja", product="windows_xp")
    assert len(computed) == done + 4


def test_a_cached_page_is_a_copy(corpus):
    for _ in range(3):
        page = _search(corpus, "ipsec")
    page.items.clear()
    assert _kbs(_search(corpus, "ipsec")) == ["900005", "900006", "900003", "885348"]


def test_another_process_sees_a_new_article_at_once(corpus, make_app, seeded_url):
    other = make_app({"DATABASE_URL": seeded_url})  # another worker: its own engine and caches
    for _ in range(3):
        assert _kbs(_search(corpus, "wombat")) == []
        assert _kbs(_search(other, "wombat")) == []
    with other.app_context(), get_database(other).write() as session:
        create_article(session, _wombat("900100", "Wombat"))
    assert _kbs(_search(corpus, "wombat")) == ["900100"]
    assert _kbs(_search(other, "wombat")) == ["900100"]


def test_a_rolled_back_write_never_reaches_the_cache(corpus):
    database = get_database(corpus)
    for _ in range(3):
        _search(corpus, "wombat")
    with pytest.raises(RuntimeError), corpus.app_context(), database.write() as session:
        create_article(session, _wombat("900100", "Wombat that never was"))
        assert _kbs(search_articles(session, "wombat")) == ["900100"]
        raise RuntimeError("roll back")
    # On SQLite the next revision takes the rolled-back one's id: the stamp alone would not
    # tell the two apart.
    with corpus.app_context(), database.write() as session:
        create_article(session, _wombat("900101", "Wombat"))
    assert _kbs(_search(corpus, "wombat")) == ["900101"]


def test_caches_are_per_database(database_factory, seeded_template):
    apps: list[Flask] = []
    urls = [database_factory.new_url(seeded_template) for _ in range(2)]
    for url, title in zip(urls, ("Wombat one", "Wombat two"), strict=True):
        app = create_app({"DATABASE_URL": url})
        with app.app_context(), get_database(app).write() as session:
            create_article(session, _wombat("900100", title))
        apps.append(app)
    try:
        for _ in range(3):
            for app, title in zip(apps, ("Wombat one", "Wombat two"), strict=True):
                assert _search(app, "wombat").items[0].titles["en"] == title
    finally:
        for app in apps:
            get_database(app).dispose()
        for url in urls:
            database_factory.drop(url)


def test_rebuilding_an_emptied_index_shows_at_once(corpus):
    database = get_database(corpus)
    with corpus.app_context(), database.write() as session:
        clear(session)
    for _ in range(3):
        assert _search(corpus, "ipsec").total == 0
    with corpus.app_context(), database.write() as session:
        rebuild_index(session)
    assert _kbs(_search(corpus, "ipsec")) == ["900005", "900006", "900003", "885348"]


@pytest.mark.parametrize(
    "query", ["推奨", "ipsec", "mapping", "registry", "static mapping", "885348"]
)
@pytest.mark.parametrize(
    "options", [{}, {"locale": "ja"}, {"locale": "en"}, {"product": "windows_xp"}]
)
def test_pages_are_windows_on_the_whole_ranking(corpus, query, options):
    whole = _search(corpus, query, per_page=100, **options)
    assert whole.total == len(whole.items)
    pages = [
        _search(corpus, query, page=n, per_page=1, **options) for n in range(1, whole.total + 2)
    ]
    assert [hit for page in pages for hit in page.items] == whole.items
    assert {page.total for page in pages} == {whole.total}


def test_the_lru_forgets_the_least_recently_used():
    cache: LRU[str, int] = LRU(3)
    for number, key in enumerate("abc"):
        cache.put(key, number)
    assert cache.get("a") == 0
    cache.put("d", 3)
    assert (cache.get("b"), cache.get("a"), cache.get("d"), len(cache)) == (None, 0, 3, 3)


def test_the_stamp_query_fails_as_sqlalchemy_would(app):
    # It runs on the driver directly: the 503 handler must still recognise its errors.
    with app.app_context(), get_database(app).session() as session:
        connection = session.connection()
        with pytest.raises(DBAPIError):
            _fetch_one(connection, "SELECT no_such_column FROM search_documents")


def test_searching_registers_no_engine_listeners(client, app):
    """Listeners added while other threads begin transactions break them ("deque mutated
    during iteration", seen in the soak): every listener must exist before serving."""
    engine = get_database(app).engine

    def listeners() -> int:
        return len(list(engine.dispatch.begin))

    before = listeners()
    assert client.get("/api/v1/articles?q=IPSec").status_code == 200
    assert client.get("/api/v1/articles?q=静的マッピング").status_code == 200
    assert listeners() == before
