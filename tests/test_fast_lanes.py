"""The fast lanes answer exactly as the views do: generated requests, both paths compared.

One app answers with its fast lanes (KB_FAST_LANES on, the default), the other with the
views alone, both on the same database. Every generated request must get the same
status, headers and body from both; and the lanes must have answered a good share of
them, or the comparison would prove nothing.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .flask_requests import FlaskRequests, comparable

ARTICLE_PATHS = st.sampled_from(
    [
        "885348",
        "KB885348",
        "kb885348",
        "0885348",
        "885349",
        "KB",
        "abc",
        "885348x",
        "%20885348",
        "８８５３４８",
        "885348/",
        "885348/revisions",
    ]
)
LOCALES = st.sampled_from(["ja", "en", "en-US", "ja-JP", "fr", "", "x" * 35, "x" * 36, "%E3%81%82"])
QUERIES = st.one_of(
    st.just(""),
    LOCALES.map(lambda locale: f"locale={locale}"),
    st.sampled_from(
        ["locale=ja&locale=en", "foo=1", "locale", "locale=en&", "locale=e+n", "locale=%"]
    ),
)
ACCEPT_LANGUAGES = st.sampled_from(
    [None, "en", "ja", "ja;q=0.5, en", "*", "fr, en;q=0.1", "", "en-GB", "q=x;;,"]
)
NO_MATCH = st.sampled_from([None, "*", '"nope"', 'W/"nope"', "garbage", '"a", "b"'])

PRODUCTS = st.sampled_from(
    ["windows_server_2003", "windows_xp", "windows_2000", "windows_3_11", "", "Windows Server 2003"]
)
FACT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "product": PRODUCTS,
    "edition": st.sampled_from(["standard", "enterprise", "datacenter", "home", "", 7]),
    "architecture": st.sampled_from(["x86", "x64", "ia64", "amd64", 64, None]),
    "service_pack": st.one_of(st.integers(-1, 5), st.sampled_from(["2", "SP2", None, 2.5])),
    "roles": st.lists(st.sampled_from(["vpn_server", "l2tp_vpn_server", "", "dc"]), max_size=3),
    "behind_nat": st.sampled_from([True, False, None, "yes"]),
    "ip_addresses": st.lists(
        st.sampled_from(["192.168.1.10", "10.0.0.1", "203.0.113.7", "::1", "999.1.1.1", "x"]),
        max_size=3,
    ),
    "installed_updates": st.lists(st.sampled_from(["KB885348", "kb123456", "nope"]), max_size=2),
    "custom_fact": st.one_of(st.integers(), st.text(max_size=5), st.booleans()),
}
SYSTEMS = st.fixed_dictionaries({}, optional=FACT_VALUES)
BODIES = st.fixed_dictionaries(
    {"system": SYSTEMS},
    optional={
        "locale": st.one_of(LOCALES, st.none()),
        "articles": st.just(["885348"]),
        "explain": st.booleans(),
    },
)
CONTENT_TYPES = st.sampled_from(["application/json"] * 4 + ["application/json; charset=utf-8"])


def _both(lanes, views, counter, method, path, **kwargs):
    """The lane app's and the view app's answers to one request, and who answered."""
    fast = counter.open(lanes.test_client(), path, method=method, **kwargs)
    full = views.test_client().open(path, method=method, **kwargs)
    return fast, full


def _apps(make_app, seeded_url):
    lanes = make_app({"DATABASE_URL": seeded_url})
    views = make_app({"DATABASE_URL": seeded_url, "FAST_LANES": False})
    return lanes, views, FlaskRequests(lanes)


# Each parity test generates 150 requests against apps built once by its fixtures.
PARITY_RUNS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_generated_article_gets_are_answered_alike(make_app, seeded_url):
    lanes, views, counter = _apps(make_app, seeded_url)
    etags = {
        locale: views.test_client().get(f"/api/v1/articles/885348?locale={locale}").headers["ETag"]
        for locale in ("ja", "en")
    }
    answered_by_lane = []

    @PARITY_RUNS
    @given(
        path=ARTICLE_PATHS,
        query=QUERIES,
        accept_language=ACCEPT_LANGUAGES,
        if_none_match=st.one_of(NO_MATCH, st.sampled_from(list(etags.values()))),
    )
    def check(path, query, accept_language, if_none_match):
        headers = {}
        if accept_language is not None:
            headers["Accept-Language"] = accept_language
        if if_none_match is not None:
            headers["If-None-Match"] = if_none_match
        url = f"/api/v1/articles/{path}" + (f"?{query}" if query else "")
        fast, full = _both(lanes, views, counter, "GET", url, headers=headers)
        assert comparable(fast) == comparable(full), url
        answered_by_lane.append(not fast.through_flask)

    check()
    # Plain GETs of the seed article are common in what is generated: the lane took many.
    assert sum(answered_by_lane) >= len(answered_by_lane) // 10, sum(answered_by_lane)


def test_generated_applicability_requests_are_answered_alike(make_app, seeded_url):
    lanes, views, counter = _apps(make_app, seeded_url)
    answered_by_lane = []

    @PARITY_RUNS
    @given(body=BODIES, content_type=CONTENT_TYPES, accept_language=ACCEPT_LANGUAGES)
    def check(body, content_type, accept_language):
        headers = {} if accept_language is None else {"Accept-Language": accept_language}
        fast, full = _both(
            lanes,
            views,
            counter,
            "POST",
            "/api/v1/applicability",
            data=json.dumps(body),
            content_type=content_type,
            headers=headers,
        )
        assert comparable(fast) == comparable(full), body
        answered_by_lane.append(not fast.through_flask)

    check()
    assert sum(answered_by_lane) >= len(answered_by_lane) // 10, sum(answered_by_lane)


SEARCH_QUERIES = st.sampled_from(
    ["static mappings", '"static mappings"', "静的", "mapping", "KB885348", "ＩＰＳｅｃ", " ", ""]
)
# Half plain (what the lane answers once cached), half what only the view answers.
SEARCH_EXTRAS = st.one_of(
    st.sampled_from(["", "&locale=ja", "&locale=en", "&locale=fr"]),
    st.sampled_from(
        [
            "&locale=" + "x" * 36,
            "&page=2",
            "&per_page=5",
            "&product=windows_xp",
            "&q=again",
            "&locale=ja&locale=en",
            "&foo=1",
        ]
    ),
)


def test_generated_searches_are_answered_alike(make_app, seeded_url):
    lanes, views, counter = _apps(make_app, seeded_url)
    answered_by_lane = []

    @PARITY_RUNS
    @given(q=SEARCH_QUERIES, extra=SEARCH_EXTRAS, accept_language=ACCEPT_LANGUAGES)
    def check(q, extra, accept_language):
        headers = {} if accept_language is None else {"Accept-Language": accept_language}
        url = f"/api/v1/articles?q={quote(q)}{extra}"
        fast, full = _both(lanes, views, counter, "GET", url, headers=headers)
        assert comparable(fast) == comparable(full), url
        answered_by_lane.append(not fast.through_flask and fast.status_code == 200)

    check()
    # A repeated plain search is answered from the cache its first asking filled.
    assert sum(answered_by_lane) >= len(answered_by_lane) // 10, sum(answered_by_lane)


def test_a_search_longer_than_the_limit_is_the_views_422(make_app, seeded_url):
    app = make_app({"DATABASE_URL": seeded_url, "MAX_QUERY_LENGTH": 10})
    counter = FlaskRequests(app)
    client = app.test_client()
    assert counter.get(client, "/api/v1/articles?q=mapping").status_code == 200
    cached = counter.get(client, "/api/v1/articles?q=mapping")
    too_long = counter.get(client, "/api/v1/articles?q=" + "mapping" * 2)
    assert cached.status_code == 200 and not cached.through_flask
    assert too_long.status_code == 422 and too_long.through_flask
    assert "q" in too_long.get_json()["errors"]


def test_turned_off_every_request_takes_the_views(make_app, seeded_url):
    views = make_app({"DATABASE_URL": seeded_url, "FAST_LANES": False})
    counter = FlaskRequests(views)
    article = counter.get(views.test_client(), "/api/v1/articles/885348")
    check = counter.post(
        views.test_client(), "/api/v1/applicability", json={"system": {"product": "windows_xp"}}
    )
    assert article.status_code == check.status_code == 200
    assert article.through_flask and check.through_flask
