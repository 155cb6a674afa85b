"""Article read endpoints: current article, list, revisions, revision snapshots, rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Response, current_app, jsonify

from ..articles import reading
from ..articles.reading import ArticlePage
from ..contract.presenters import list_item_body, revision_body
from ..contract.schemas import (
    ETAG,
    IF_NONE_MATCH,
    LOCALIZED,
    ArticleListQuerySchema,
    ArticleListSchema,
    ArticleQuerySchema,
    ArticleSchema,
    LocaleQuerySchema,
    RevisionListSchema,
    RulesBodySchema,
)
from ..errors import ValidationFailed
from ..http.context import get_database, get_session
from ..http.jsonout import FastJSONProvider
from ..http.plain import PlainAnswer, json_answer, to_response
from ..search import listing
from .base import Blueprint
from .localized import choose_locale
from .rules_view import rules_body
from .serving import serve_current, serve_snapshot

blp = Blueprint("articles", __name__, description="Knowledge-base articles")


@blp.route("/articles/<string:kb>")
@blp.arguments(ArticleQuerySchema(), location="query", as_kwargs=True)
@blp.header_parameters(IF_NONE_MATCH)
@blp.response(200, ArticleSchema, headers={**ETAG, **LOCALIZED})
@blp.alt_response(304, description="Not modified (If-None-Match matched the ETag)")
@blp.alt_response(404, description="No such article, or none yet at `as_of`")
def get_article(kb: str, locale: str | None = None, as_of: dt.datetime | None = None) -> Response:
    """The current revision of an article (or the one current at `as_of`), with a strong ETag."""
    if as_of is None:
        return serve_current(kb, locale)
    # Lifecycle notices as they read on that day, too.
    return serve_snapshot(
        reading.get_revision_as_of(get_session(), kb, as_of), locale, today=as_of.date()
    )


@blp.route("/articles/<string:kb>/revisions")
@blp.response(200, RevisionListSchema)
@blp.alt_response(404, description="No such article")
def list_revisions(kb: str) -> Response:
    """Every revision of an article, newest first."""
    revisions = reading.list_revisions(get_session(), kb)
    number = reading.normalize_kb(kb)
    return jsonify({"kb": number, "items": [revision_body(revision) for revision in revisions]})


@blp.route("/articles/<string:kb>/revisions/<string:number>")
@blp.arguments(LocaleQuerySchema(), location="query", as_kwargs=True)
@blp.header_parameters(IF_NONE_MATCH)
@blp.response(200, ArticleSchema, headers={**ETAG, **LOCALIZED})
@blp.alt_response(304, description="Not modified (If-None-Match matched the ETag)")
@blp.alt_response(404, description="No such article or revision")
def get_revision(kb: str, number: str, locale: str | None = None) -> Response:
    """The article exactly as it was at one revision."""
    return serve_snapshot(reading.get_revision(get_session(), kb, number), locale)


@blp.route("/articles/<string:kb>/rules")
@blp.response(200, RulesBodySchema, headers=ETAG)
@blp.alt_response(404, description="No such article")
def get_rules(kb: str) -> Response:
    """The rule document of the article's current revision (see docs/rules.md)."""
    return rules_body(reading.get_article(get_session(), kb))


@blp.route("/articles")
@blp.arguments(ArticleListQuerySchema(), location="query")
@blp.response(200, ArticleListSchema)
def list_articles(query: dict[str, Any]) -> Response:
    """List and search articles, best match first, paginated."""
    q = query.get("q")
    limit = current_app.config["MAX_QUERY_LENGTH"]
    if q is not None and len(q) > limit:
        raise ValidationFailed(
            f"The query is longer than {limit} characters.",
            errors={"q": [f"Longer than maximum length {limit}."]},
        )
    largest_page = current_app.config["MAX_PER_PAGE"]
    if query["per_page"] > largest_page:
        raise ValidationFailed(
            f"Pages hold at most {largest_page} articles.",
            errors={"per_page": [f"Must be at most {largest_page}."]},
        )
    locale = choose_locale(query.get("locale"), "")
    page = listing.list_articles(
        get_session(),
        product=query.get("product"),
        edition=query.get("edition"),
        architecture=query.get("architecture"),
        service_pack=query.get("service_pack"),
        page=query["page"],
        per_page=query["per_page"],
        q=q,
        locale=locale or None,
        readers=get_database().readers,
    )
    return to_response(list_answer(current_app, page, query["page"], query["per_page"], locale))


def list_answer(
    app: Flask, found: ArticlePage, page: int, per_page: int, locale: str
) -> PlainAnswer:
    """The article list's answer: one page of `found`, in `locale` ("" for none).

    The one function behind the view and its fast lane (fastpath.CachedSearches).
    """
    items = [list_item_body(hit, locale) for hit in found.items]
    json = app.json
    assert isinstance(json, FastJSONProvider)
    body = json.response_bytes(
        {
            "items": items,
            "total": found.total,
            "total_relation": found.total_relation,
            "page": page,
            "per_page": per_page,
        }
    )
    return json_answer(body, locale=locale or None)
