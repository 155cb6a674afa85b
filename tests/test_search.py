"""Search over HTTP, on SQLite and PostgreSQL alike: matching, ranking, snippets, hostility."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event, func, select, text

from kbservice import create_app
from kbservice.articles.reading import NewArticle, create_article
from kbservice.cli import main
from kbservice.fulltext import index_article
from kbservice.fulltext.engines import clear
from kbservice.fulltext.models import SearchDocument
from kbservice.http.context import get_database
from kbservice.search import matching, search_articles
from kbservice.storage.models import Article, ArticleApplicability, Revision, RevisionText
from kbservice.synth.corpus import generate_articles, load_corpus

SERVER_2003 = "windows_server_2003"


def _article(
    kb: str,
    source: str,
    en: tuple[str, list[str]],
    ja: tuple[str, list[str]],
    applies_to: list[dict[str, Any]],
) -> NewArticle:
    def sections(bodies: list[str]) -> list[dict[str, Any]]:
        return [{"heading": None, "body": body} for body in bodies]

    return NewArticle(
        kb=kb,
        source_locale=source,
        texts={"en": (en[0], sections(en[1])), "ja": (ja[0], sections(ja[1]))},
        applies_to=applies_to,
    )


# The shared corpus, next to the seeded KB885348 (whose texts mention 推奨, IPSec and
# static mappings many times).
CORPUS = [
    _article(
        "900001",
        "en",
        (
            "Static mappings are lost after you restart the NAT server",
            [
                "After you restart a server that runs network address translation, the static "
                "mappings that you configured are lost.",
                "Configure the mappings again, or apply the update.",
            ],
        ),
        (
            "NAT サーバーを再起動すると静的マッピングが失われる",
            [
                "ネットワーク アドレス変換を実行しているサーバーを再起動すると、"
                "構成した静的マッピングが失われます。",
                "マッピングを再構成するか、更新プログラムを適用してください。",
            ],
        ),
        [
            {
                "product": SERVER_2003,
                "edition": "standard",
                "architecture": "x86",
                "service_pack_min": 1,
                "service_pack_max": 2,
            }
        ],
    ),
    _article(
        "900002",
        "ja",
        (
            "Default network settings in Windows XP",
            ["On computers that use a static IP address, check the port mapping of the firewall."],
        ),
        (
            "Windows XP のネットワークの既定の設定",
            [
                "静的な IP アドレスを使用するコンピュータでは、"
                "ファイアウォールのポートのマッピングを確認してください。"
            ],
        ),
        [{"product": "windows_xp", "edition": "professional"}],
    ),
    _article(
        "900003",
        "en",
        (
            "Windows Firewall blocks IPSec traffic",
            ["IKE traffic is dropped when no exception exists. We recommend that you add one."],
        ),
        (
            "Windows ファイアウォールが IPSec トラフィックをブロックする",
            ["例外がない場合、IKE トラフィックは破棄されます。例外を追加することを推奨します。"],
        ),
        [{"product": SERVER_2003, "edition": "enterprise", "architecture": "x64"}],
    ),
    _article(
        "900004",
        "en",
        (
            "The print spooler stops responding",
            ["The spooler log shows <script>alert('x')</script> before the spooler stops."],
        ),
        (
            "印刷スプーラーが応答を停止する",
            ["スプーラーのログに <script>alert('x')</script> と記録されます。"],
        ),
        [{"product": "windows_2000_server", "edition": "standard"}],
    ),
    _article(
        "900005",
        "ja",
        (
            "L2TP/IPSec connections are dropped",
            ["For more information about IPSec NAT-T, see KB885348."],
        ),
        (
            "L2TP/IPSec 接続が切断される",
            ["IPSec NAT-T の詳細については、KB885348 を参照してください。"],
        ),
        [
            {
                "product": "windows_xp",
                "edition": "professional",
                "architecture": "x86",
                "service_pack_min": 2,
                "service_pack_max": 2,
            }
        ],
    ),
    _article(
        "900006",
        "en",
        (
            "Registry values of the IPSec Policy Agent",
            ["The agent keeps port mappings in the registry."],
        ),
        (
            "IPSec ポリシー エージェントのレジストリ値",
            ["エージェントはポートのマッピングをレジストリに保存します。"],
        ),
        [{"product": SERVER_2003}],
    ),
    *(
        _article(
            f"90001{n}",
            "en",
            (f"Registry setting number {n}", [f"Change registry value {n} and restart."]),
            (f"レジストリ設定 {n}", [f"レジストリ値 {n} を変更して再起動します。"]),
            [{"product": "windows_xp"}],
        )
        for n in range(3)
    ),
]


@pytest.fixture
def corpus(app: Flask) -> Flask:
    """The shared corpus, created the way every article is: through create_article."""
    with app.app_context(), get_database(app).write() as session:
        for new in CORPUS:
            create_article(session, new)
    return app


def _search(client: FlaskClient, query: str = "", **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/articles", query_string={"q": query, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _kbs(client: FlaskClient, query: str, **params: Any) -> list[str]:
    return [item["kb"] for item in _search(client, query, **params)["items"]]


# Each engine ranks with its own function (docs/search.md, "Ranking"); on this corpus they
# agree, and every order below follows from the model's rules: title over body, adjacent
# words over scattered ones, KB numbers first, shorter documents with as many matches first.
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("mapping", ["900001", "900006", "900002", "885348"]),
        ("static mapping", ["900001", "885348", "900002"]),
        ('"static mapping"', ["900001", "885348"]),
        ("静的マッピング", ["900001", "885348"]),
        ("ipsec", ["900005", "900006", "900003", "885348"]),
        ("885348", ["885348", "900005"]),
        ("registry", ["900010", "900011", "900012", "900006"]),
    ],
)
def test_the_same_ranking_on_every_engine(corpus, client, query, expected):
    body = _search(client, query)
    assert [item["kb"] for item in body["items"]] == expected
    assert body["total"] == len(expected)
    scores = [item["score"] for item in body["items"] if item["kb"] != query]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0


def test_the_engines_differ_in_length_normalization_only(corpus, client, engine_name):
    # KB885348 mentions 推奨 many times in a long text, 900003 once in a short one: BM25
    # (SQLite) divides by the length relative to the average, ts_rank by 1 + log(length).
    body = _search(client, "推奨")
    assert body["total"] == 2
    leading = {"sqlite": ["900003", "885348"], "postgresql": ["885348", "900003"]}
    assert [item["kb"] for item in body["items"]] == leading[engine_name]


def test_two_japanese_characters_find_kb885348(client):
    body = _search(client, "推奨")
    assert body["total"] == 1
    (item,) = body["items"]
    assert item["kb"] == "885348"
    assert item["matched_locale"] == "ja"
    assert "<mark>推奨</mark>" in item["snippet"]
    assert item["revision"] == {"number": "2.2", "created_at": "2006-12-20T02:56:00Z"}


@pytest.mark.parametrize("query", ["ipsec", "IPSEC", "IpSec", "ＩＰＳｅｃ"])
def test_latin_terms_ignore_case_and_width(client, query):
    assert _kbs(client, query) == ["885348"]


@pytest.mark.parametrize("query", ["885348", "KB885348", "kb885348", "KB 885348"])
def test_kb_numbers_come_first(corpus, client, query):
    kbs = _kbs(client, query)
    assert kbs[0] == "885348"
    assert "900005" in kbs  # it mentions KB885348


def test_a_kb_number_comes_first_even_beside_other_words(corpus, client):
    assert _kbs(client, "KB900004 ipsec")[0] == "900004"


def test_phrases_need_adjacent_terms(corpus, client):
    assert "900002" in _kbs(client, "静的 IP")
    # 900002 has 静的 and マッピング, but not next to each other.
    assert "900002" not in _kbs(client, "静的マッピング")
    assert "900002" not in _kbs(client, '"static mapping"')


def test_adjacent_terms_rank_over_scattered_ones(corpus, client):
    kbs = _kbs(client, "static mapping")
    assert kbs.index("885348") < kbs.index("900002")


def test_light_stemming(corpus, client):
    assert "900006" in _kbs(client, "mapping")  # "mappings"
    assert "900001" in _kbs(client, "mapped")
    assert "900001" in _kbs(client, "configuring")  # "configured"


def test_title_matches_rank_over_body_matches(corpus, client):
    assert _kbs(client, "firewall") == ["900003", "900002"]
    assert _kbs(client, "ファイアウォール") == ["900003", "900002"]


def test_filters_go_through_applies_to(corpus, client):
    assert _kbs(client, "ipsec", product="windows_xp") == ["900005"]
    # 900003 is for x64 only; 900006 names no architecture, so it covers them all.
    assert set(_kbs(client, "ipsec", product=SERVER_2003, architecture="x86")) == {
        "885348",
        "900006",
    }
    # 900001 is for service packs 1 and 2.
    assert set(_kbs(client, "mapping", product=SERVER_2003, service_pack=0)) == {
        "885348",
        "900006",
    }
    assert _kbs(client, "mapping", product=SERVER_2003, service_pack=1)[0] == "900001"
    assert _kbs(client, "885348", product="windows_2000_server") == []
    assert _search(client, "ipsec", product="no_such_product") == {
        "items": [],
        "total": 0,
        "total_relation": "eq",
        "page": 1,
        "per_page": 20,
    }


def test_pagination_and_total(corpus, client):
    first = _search(client, "registry", per_page=3)
    second = _search(client, "registry", per_page=3, page=2)
    assert first["total"] == second["total"] == 4
    assert [i["kb"] for i in first["items"] + second["items"]] == _kbs(client, "registry")
    assert _search(client, "registry", per_page=3, page=3)["items"] == []
    named = _search(client, "885348", per_page=1, page=2)
    assert named["total"] == 2 and [i["kb"] for i in named["items"]] == ["900005"]


def test_no_match_is_an_empty_page(client):
    empty = {"items": [], "total": 0, "total_relation": "eq", "page": 1, "per_page": 20}
    assert _search(client, "xyzzy") == empty
    assert _search(client, "存在しない語句") == empty


def test_snippets_highlight_and_escape(corpus, client):
    (item,) = _search(client, "spooler")["items"]
    assert item["kb"] == "900004"
    snippet = item["snippet"]
    assert "<mark>spooler</mark>" in snippet
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in snippet
    assert "<script>" not in snippet
    ja = _search(client, "スプーラー", locale="ja")["items"][0]
    assert ja["matched_locale"] == "ja" and "&lt;script&gt;" in ja["snippet"]


def test_locale_is_preferred_not_required(corpus, client):
    en = _search(client, "ipsec", locale="en")
    ja = _search(client, "ipsec", locale="ja")
    assert {i["kb"] for i in en["items"]} == {i["kb"] for i in ja["items"]}
    assert {i["matched_locale"] for i in en["items"]} == {"en"}
    assert {i["matched_locale"] for i in ja["items"]} == {"ja"}
    assert {i["locale"] for i in en["items"]} == {"en"}
    # A Japanese word still finds its article with an English preference.
    assert set(_kbs(client, "推奨", locale="en")) == {"885348", "900003"}


def test_hits_carry_score_and_revision(corpus, client):
    items = _search(client, "mapping")["items"]
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert all(
        {"kb", "locale", "title", "revision", "snippet", "matched_locale"} <= i.keys()
        for i in items
    )


def test_an_empty_query_lists_articles(corpus, client):
    assert _search(client, "")["total"] == 1 + len(CORPUS)


HOSTILE = [
    '"',
    '""',
    "'",
    "' OR 1=1 --",
    "'; DROP TABLE search_postings; --",
    "%",
    "_",
    "%_%",
    "\\",
    "*",
    "a AND b OR NOT c",
    'NEAR("ipsec" nat)',
    "(((",
    "ipsec*",
    "title:ipsec",
    "\t\n\r",
    "🔥",
    "🔥推奨💥",
    "e\u0301",
    "\u202eipsec",
    "ｶﾞｲﾄﾞ",
    "99999999999999999999",
    "KB",
    "kb0",
    "0",
    "-1",
    "推" * 2000,
    "a " * 1000,
    " ".join(f"w{i}" for i in range(400)),
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_fail(client, query):
    response = client.get("/api/v1/articles", query_string={"q": query})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert isinstance(response.get_json()["items"], list)


@pytest.mark.parametrize(
    "raw",
    [
        "%00",
        "ipsec%00",
        "%ED%A0%80",  # a lone surrogate, UTF-8 encoded
        "%FF%FE",  # not UTF-8
        "%F0%9F%94%A5%E6%8E%A8%E5%A5%A8",  # 🔥推奨
        "%25%27%22%5C",
    ],
)
def test_hostile_bytes_never_fail(client, raw):
    response = client.get(f"/api/v1/articles?q={raw}")
    assert response.status_code < 500
    assert response.status_code == 200 or response.headers["Content-Type"] == (
        "application/problem+json"
    )


def test_overlong_queries_are_a_422_naming_q(client, app):
    response = client.get("/api/v1/articles", query_string={"q": "x" * 5000})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "q" in response.get_json()["errors"]
    app.config["MAX_QUERY_LENGTH"] = 10
    assert client.get("/api/v1/articles", query_string={"q": "x" * 11}).status_code == 422
    assert client.get("/api/v1/articles", query_string={"q": "x" * 10}).status_code == 200


@pytest.mark.parametrize("field", ["product", "edition", "architecture"])
def test_nul_in_a_filter_is_a_400_naming_it(client, field):
    # Refused with every control character in a request target (api/request_target.py).
    response = client.get(f"/api/v1/articles?q=ipsec&{field}=a%00b")
    assert response.status_code == 400
    assert field in response.get_json()["errors"]


def test_openapi_documents_the_search(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    parameters = {p["name"] for p in spec["paths"]["/api/v1/articles"]["get"]["parameters"]}
    assert {"q", "locale", "product", "page", "per_page"} <= parameters
    item = spec["components"]["schemas"]["ArticleListItem"]["properties"]
    assert {"snippet", "matched_locale", "score"} <= item.keys()
    suggest = spec["paths"]["/api/v1/search/suggest"]["get"]
    assert {"q", "limit", "locale"} <= {p["name"] for p in suggest["parameters"]}


def test_the_index_is_written_in_the_same_transaction(app):
    new = _article("900100", "en", ("Quokka", ["Quokka body"]), ("クオッカ", ["本文"]), [])
    with app.app_context():
        database = get_database(app)
        with pytest.raises(RuntimeError), database.write() as session:
            create_article(session, new)
            assert search_articles(session, "quokka").total == 1
            raise RuntimeError("roll back")
        with database.session() as session:
            assert search_articles(session, "quokka").total == 0
            assert session.scalar(select(func.count()).select_from(SearchDocument)) > 0


def test_index_article_follows_the_current_revision(app, client):
    with app.app_context(), get_database(app).write() as session:
        article = session.scalar(select(Article).where(Article.kb == "885348"))
        revision = Revision(
            article_id=article.id,
            seq=2,
            number="3.0",
            author="test",
            summary="rewrite",
            keywords=[],
            related=[],
            applies_to=[],
            rules=None,
        )
        session.add(revision)
        session.flush()
        for locale in ("ja", "en"):
            session.add(
                RevisionText(
                    revision_id=revision.id,
                    locale=locale,
                    title="Wombat",
                    sections=[{"heading": None, "body": "Wombat burrow"}],
                    source_seq=2,
                    changed_seq=2,
                )
            )
        article.current_seq = 2
        session.flush()
        index_article(session, article.id)
        revision_id = revision.id
    assert _kbs(client, "wombat") == ["885348"]
    assert _kbs(client, "推奨") == []
    with app.app_context(), get_database(app).session() as session:
        indexed = set(session.scalars(select(SearchDocument.revision_id)))
        if session.get_bind().dialect.name == "sqlite":
            # The old revision's documents left FTS5 too, not only search_documents.
            in_fts = session.scalar(text("SELECT count(*) FROM search_fts_docsize"))
            assert in_fts == session.scalar(select(func.count()).select_from(SearchDocument))
    assert indexed == {revision_id}


def _state(session: Any, kbs: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the articles `kbs` own, without surrogate ids."""
    ids = dict(session.execute(select(Article.id, Article.kb).where(Article.kb.in_(kbs))).all())
    rows: dict[str, list[tuple[Any, ...]]] = {}
    rows["articles"] = sorted(
        (a.kb, a.source_locale, a.created_at, a.current_seq)
        for a in session.scalars(select(Article).where(Article.id.in_(ids)))
    )
    rows["revisions"] = sorted(
        (
            ids[r.article_id],
            r.seq,
            r.number,
            r.created_at,
            r.author,
            r.summary,
            repr(r.keywords),
            repr(r.related),
            repr(r.applies_to),
            repr(r.rules),
        )
        for r in session.scalars(select(Revision).where(Revision.article_id.in_(ids)))
    )
    rows["texts"] = sorted(
        (ids[aid], t.locale, t.title, repr(t.sections), t.source_seq, t.changed_seq)
        for aid, t in session.execute(
            select(Revision.article_id, RevisionText)
            .join(RevisionText, RevisionText.revision_id == Revision.id)
            .where(Revision.article_id.in_(ids))
        ).all()
    )
    rows["applicability"] = sorted(
        (
            ids[a.article_id],
            a.product,
            a.edition or "",
            a.architecture or "",
            a.sp_min if a.sp_min is not None else -1,
            a.sp_max if a.sp_max is not None else -1,
        )
        for a in session.scalars(
            select(ArticleApplicability).where(ArticleApplicability.article_id.in_(ids))
        )
    )
    rows["documents"] = sorted(
        (ids[d.article_id], d.locale, d.kb, d.terms)
        for d in session.scalars(select(SearchDocument).where(SearchDocument.article_id.in_(ids)))
    )
    # What the index answers (on SQLite FTS5 holds the terms, out of reach of a select).
    titles = sorted({t[2].split()[0] for t in rows["texts"]})
    rows["answers"] = [(title, search_articles(session, title).total) for title in titles]
    return rows


def test_bulk_loading_writes_what_create_article_writes(app):
    articles = list(generate_articles(6, seed=7))
    kbs = [new.kb for new in articles]
    with app.app_context(), get_database(app).write() as session:
        for new in articles:
            create_article(session, new)
        one_by_one = _state(session, kbs)
        session.execute(delete(Article).where(Article.kb.in_(kbs)))
        assert _state(session, kbs)["documents"] == []
        load_corpus(session, 6, seed=7, batch_size=4)
        assert _state(session, kbs) == one_by_one
    assert one_by_one["documents"] and one_by_one["applicability"]
    assert all(total > 0 for _, total in one_by_one["answers"])


def test_the_generator_is_deterministic_and_bilingual():
    first = list(generate_articles(30, seed=3))
    assert first == list(generate_articles(30, seed=3))
    assert first != list(generate_articles(30, seed=4))
    assert len({new.kb for new in first}) == 30
    for new in first:
        assert set(new.texts) == {"ja", "en"}
        assert len(new.texts["ja"][1]) == len(new.texts["en"][1])
        assert new.applies_to and new.rules is None
    rules = list(generate_articles(3, seed=3, rules_factory=lambda applies_to, rng: {"all": []}))
    assert all(new.rules == {"all": []} for new in rules)


def test_reindex_command_rebuilds_the_index(cli, fresh_url):
    assert cli.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert cli.invoke(main, ["seed"]).exit_code == 0
    app = create_app({"DATABASE_URL": fresh_url, "TESTING": True})
    client = app.test_client()
    assert _kbs(client, "推奨") == ["885348"]
    with app.app_context(), get_database(app).write() as session:
        clear(session)
    assert _kbs(client, "推奨") == []
    result = cli.invoke(main, ["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 1 article(s): 2 document(s)" in result.output
    assert _kbs(client, "推奨") == ["885348"]
    get_database(app).dispose()


def _suggest(client: FlaskClient, query: str, **params: Any) -> list[tuple[str, str, str]]:
    response = client.get("/api/v1/search/suggest", query_string={"q": query, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [(i["kb"], i["locale"], i["title"]) for i in response.get_json()["items"]]


def test_suggestions_complete_the_last_word_of_titles(corpus, client):
    assert [kb for kb, _, _ in _suggest(client, "regis")] == [
        "900010",
        "900011",
        "900012",
        "900006",
    ]
    # The stem `map` is what the index holds for the "mappings" being typed.
    assert _suggest(client, "static mappi") == [
        ("900001", "en", "Static mappings are lost after you restart the NAT server")
    ]
    assert [kb for kb, _, _ in _suggest(client, "静的")] == ["900001"]
    # Only titles: 900002 has 静的 in its body.
    assert [kb for kb, _, _ in _suggest(client, "ファイア")] == ["900003"]
    assert _suggest(client, "spooler log") == []


def test_suggestions_by_kb_number_and_locale(corpus, client):
    assert [kb for kb, _, _ in _suggest(client, "KB8853")] == ["885348"]
    assert [kb for kb, _, _ in _suggest(client, "9000", limit=3)] == ["900001", "900002", "900003"]
    assert {loc for _, loc, _ in _suggest(client, "9000", locale="ja")} == {"ja"}
    assert {loc for _, loc, _ in _suggest(client, "ipsec", locale="en")} == {"en"}
    # Digits that start no KB number complete title words.
    assert [kb for kb, _, _ in _suggest(client, "2003")] == ["885348"]


# A NUL is refused with the request (400, tests/test_input_5xx.py).
@pytest.mark.parametrize("query", ["", "x", "%", "'", "🔥", "a" * 300, "(("])
def test_suggestions_survive_anything(client, query):
    assert isinstance(_suggest(client, query), list)


def test_suggestions_need_q_and_a_sane_limit(client):
    assert client.get("/api/v1/search/suggest").status_code == 422
    assert client.get("/api/v1/search/suggest?q=ip&limit=0").status_code == 422
    response = client.get("/api/v1/search/suggest", query_string={"q": "x" * 5000})
    assert response.status_code == 422 and "q" in response.get_json()["errors"]


def test_ties_and_the_preferred_locale_past_the_first_fetch(app, client):
    """Equal scores order by KB number across pages; a weak match still shows its locale.

    60 articles score alike (more than the first fetch of the ranking holds); in every
    odd one the Japanese text also holds the word, far below its English title.
    """
    with app.app_context(), get_database(app).write() as session:
        for n in range(60):
            ja_body = ["本文です。" * 40 + ("wombat" if n % 2 else "")]
            new = _article(
                f"{990000 + n * 7919 % 1000}",
                "en",
                ("Wombat wombat", ["Wombat body"]),
                ("ウォンバット", ja_body),
                [],
            )
            create_article(session, new)
    kbs = [f"{990000 + n * 7919 % 1000}" for n in range(60)]
    pages = [_search(client, "wombat", locale="ja", page=p) for p in (1, 2, 3)]
    assert [item["kb"] for page in pages for item in page["items"]] == sorted(kbs)
    assert all(page["total"] == 60 for page in pages)
    locales = {item["kb"]: item["matched_locale"] for page in pages for item in page["items"]}
    assert locales == {kb: "ja" if n % 2 else "en" for n, kb in enumerate(kbs)}


def test_a_query_past_the_cap_ranks_the_newest_documents(app, client, monkeypatch):
    """Past MAX_RANKED matching documents, the newest are ranked; the total is a lower bound."""
    monkeypatch.setattr(matching, "MAX_RANKED", 6)
    with app.app_context(), get_database(app).write() as session:
        for n in range(4):
            body = [f"The wombat burrow number {n}."]
            create_article(
                session,
                _article(f"99100{n}", "en", ("Wombat burrow", body), ("ウォンバット", body), []),
            )
    newest = ["991003", "991002", "991001"]
    for query in ("wombat", '"wombat burrow"'):
        answer = _search(client, query)
        # 4 articles × 2 locales = 8 documents: the 6 newest are 3 articles' documents.
        assert sorted(item["kb"] for item in answer["items"]) == sorted(newest), query
        assert (answer["total"], answer["total_relation"]) == (3, "gte"), query
    # The web search page says the count is a lower bound.
    page = client.get("/?q=wombat", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "At least 3 results; the newest 3 are ranked" in page
    one = _search(client, "wombat", locale="ja", per_page=1, page=3)
    assert [item["matched_locale"] for item in one["items"]] == ["ja"]
    monkeypatch.setattr(matching, "MAX_RANKED", 8)
    answer = _search(client, "wombat", per_page=10)  # not the cached page
    assert (answer["total"], answer["total_relation"]) == (4, "eq")
    assert _search(client, "885348 wombat")["total_relation"] == "eq"


def test_a_phrase_past_the_cap_counts_the_newest_documents_holding_it(app, client, monkeypatch):
    """The newest articles hold the phrase's words apart: the cap counts phrase matches only.

    PostgreSQL tests the phrase on the word matches newest first and stops at the cap;
    SQLite's FTS5 matches the phrase itself. Both keep the same documents.
    """
    monkeypatch.setattr(matching, "MAX_RANKED", 5)
    with app.app_context(), get_database(app).write() as session:
        for n in range(8):
            # Articles 0–3 hold "wombat burrow"; 4–7, the newest, hold both words apart.
            body = "The wombat burrow is deep." if n < 4 else "A burrow, then a wombat."
            texts = ("Wombat notes", [f"{body} Number {n}."])
            create_article(session, _article(f"99200{n}", "en", texts, texts, []))
    answer = _search(client, '"wombat burrow"', per_page=10)
    # 4 articles × 2 locales hold the phrase; the 5 newest documents: articles 3, 2 and
    # one document of 1.
    assert sorted(item["kb"] for item in answer["items"]) == ["992001", "992002", "992003"]
    assert (answer["total"], answer["total_relation"]) == (3, "gte")
    words = _search(client, "wombat burrow", per_page=10)
    assert sorted(item["kb"] for item in words["items"]) == ["992005", "992006", "992007"]
    assert (words["total"], words["total_relation"]) == (3, "gte")
    monkeypatch.setattr(matching, "MAX_RANKED", 8)
    whole = _search(client, '"wombat burrow"', per_page=2, page=2)
    assert (whole["total"], whole["total_relation"]) == (4, "eq")
    assert len(whole["items"]) == 2


def test_a_search_ranks_bounds_and_counts_in_one_statement_on_postgresql(app, monkeypatch):
    """PostgreSQL: one statement reads the index, and the planner settings it needs end with it.

    Finding the cap's bound, ranking and counting in separate statements read every
    match's tsvector up to three times (docs/search.md, "Bounded cost").
    """
    monkeypatch.setattr(matching, "MAX_RANKED", 1)
    with app.app_context(), get_database(app).session() as session:
        if session.get_bind().dialect.name == "sqlite":
            pytest.skip("SQLite ranks and counts on FTS5 in statements of its own")
        seen: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.append(statement)

        settings = text("SELECT current_setting('enable_seqscan') || current_setting('jit')")
        before = session.execute(settings).scalar()
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        try:
            page = search_articles(session, "ipsec", per_page=1)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert (page.total, page.total_relation) == (1, "gte")
        assert len([s for s in seen if "search_documents" in s]) == 1
        assert session.execute(settings).scalar() == before


def test_a_weak_match_in_the_preferred_locale_shows_past_the_first_fetch(app, client):
    """The page's articles match strongly in English; the odd ones also weakly in Japanese."""
    with app.app_context(), get_database(app).write() as session:
        for n in range(50):
            ja_body = ["本文です。" * 40 + ("wombat" if n % 2 else "")]
            en_body = ["Wombat body" + " and more" * n]
            new = _article(
                f"99{n + 1000}", "en", ("Wombat", en_body), ("ウォンバット", ja_body), []
            )
            create_article(session, new)
    answer = _search(client, "wombat", locale="ja", per_page=5)
    assert answer["total"] == 50
    assert [(item["kb"], item["matched_locale"]) for item in answer["items"]] == [
        (f"99{n + 1000}", "ja" if n % 2 else "en") for n in range(5)
    ]
