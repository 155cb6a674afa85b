"""Serving an article snapshot: locale choice, body, strong ETag and conditional GET."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable

from flask import Flask, Response, current_app, request
from werkzeug.http import parse_etags

from ..articles import reading
from ..articles.freshness import CurrentArticle
from ..articles.locales import negotiate
from ..articles.reading import ArticleSnapshot, LocalizedArticle
from ..catalog.products import Catalog
from ..contract.presenters import article_body
from ..http.context import (
    catalog_of,
    current_rule_index,
    get_catalog,
    get_database,
    get_session,
    get_stamp_reader_of,
)
from ..http.jsonout import FastJSONProvider
from ..http.plain import PlainAnswer, json_answer, not_modified, to_response
from ..storage.db import utcnow
from .localized import article_etag, choose_locale
from .rendered import Rendered, RenderedCache

_CACHE = "kbservice.rendered_articles"


def init_serving(app: Flask) -> None:
    """Give the app its cache of rendered articles (KB_ARTICLE_CACHE_MB per process)."""
    app.extensions[_CACHE] = RenderedCache(app.config["ARTICLE_CACHE_MB"] * 1024 * 1024)


def serve_current(kb: str, requested_locale: str | None) -> Response:
    """The view's answer for the current revision of article `kb` (see current_answer)."""
    number = reading.normalize_kb(kb)
    answer = None
    if number is not None:
        answer = current_answer(
            current_app,
            number,
            requested_locale,
            request.headers.get("Accept-Language"),
            request.headers.get("If-None-Match"),
        )
    if answer is None:  # not an article: the regular path answers the 404
        return serve_snapshot(reading.get_article(get_session(), kb), requested_locale)
    return to_response(answer)


def current_answer(
    app: Flask,
    number: str,
    requested_locale: str | None,
    accept_language: str | None,
    if_none_match: str | None,
) -> PlainAnswer | None:
    """Article `number`'s current revision, answered from the cache when it can be.

    The one function behind both the view and its fast lane (fastpath.CachedArticles).
    One query finds the current revision and the catalog stamp (and the revision's rows,
    if this process has not rendered the article before); a repeated GET or a matching
    If-None-Match then needs nothing else. None when there is no such article.
    """
    current = find_current(app, number)
    if current is None:
        return None
    locale = negotiate(
        requested_locale, accept_language, app.config["LOCALES"], current.source_locale
    )
    return rendered_answer(rendering(app, current, locale, utcnow().date()), if_none_match)


def rendered_answer(rendered: Rendered, if_none_match: str | None) -> PlainAnswer:
    """200 with the rendered body, or 304 when If-None-Match names its ETag."""
    if if_none_match and parse_etags(if_none_match).contains(rendered.etag):
        return not_modified(rendered.etag)
    return json_answer(rendered.body, locale=rendered.locale, etag=rendered.etag)


def find_current(app: Flask, number: str) -> CurrentArticle | None:
    """Article `number`'s current revision and the stamps; its rows too on a first view.

    With change signals (changes.py) the stamps are usually known without a query, and
    the rule index, when it is current as of those stamps, knows every article's current
    revision. After an edit, until an applicability request has brought the index up to
    date, the lookup asks the database (one query, as without signals) rather than
    load and compile rules on an article GET.
    """
    reader = get_stamp_reader_of(app)
    if reader.signalled:
        stamps = reader.stamps()
        index = current_rule_index(app, stamps.revision)
        if index is not None:
            entry = index.by_kb.get(number)
            if entry is None:
                return None
            return CurrentArticle(entry.revision_id, entry.source_locale, stamps)
    first_view = not rendered_cache(app).has_rendered(number)
    return reader.article(number, with_rows=first_view)


def rendering(app: Flask, current: CurrentArticle, locale: str, today: dt.date) -> Rendered:
    """The current revision in `locale` from the cache, rendered and kept on a miss."""
    cache = rendered_cache(app)
    key = cache_key(current, locale, today)
    rendered = cache.get(key)
    if rendered is None:
        rows = current.rows or reading.load_localized_rows(
            get_database(app).readers, current.revision_id
        )
        article = reading.localized_from_rows(current.revision_id, rows, locale)
        json = app.json
        assert isinstance(json, FastJSONProvider)
        rendered = render(article, today, catalog_of(app, current.stamps.catalog), json)
        cache.put(key, rendered)
        cache.remember(article.kb)
    return rendered


def rendered_cache(app: Flask) -> RenderedCache:
    """The app's cache of rendered articles."""
    return app.extensions[_CACHE]  # type: ignore[no-any-return]


def cache_key(current: CurrentArticle, locale: str, today: dt.date) -> Hashable:
    """What a rendered article depends on: revision, locale, catalog and today's date."""
    return (current.revision_id, locale, current.stamps.catalog, today)


def serve_snapshot(
    snapshot: ArticleSnapshot, requested_locale: str | None, today: dt.date | None = None
) -> Response:
    """The article in the negotiated locale, notices as of `today`, with ETag; 304 on a match."""
    article = snapshot.in_locale(choose_locale(requested_locale, snapshot.source_locale))
    rendered = render(article, today or utcnow().date(), get_catalog(), current_app.json)
    return to_response(rendered_answer(rendered, request.headers.get("If-None-Match")))


def render(
    article: LocalizedArticle, today: dt.date, catalog: Catalog, json: FastJSONProvider
) -> Rendered:
    """The article's representation in the locale of its text, with its ETag."""
    locale = article.text.locale
    body = article_body(article, catalog, today)
    # Generated notices depend on today's date, so they are part of the representation.
    notices = "|".join(notice["text"] for notice in body["notices"])
    etag = article_etag(article.kb, article.revision_id, locale, notices)
    return Rendered(etag, locale, json.response_bytes(body))
