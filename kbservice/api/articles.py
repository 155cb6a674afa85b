"""Article read endpoints: current article, list, revisions, revision snapshots, rules."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from .. import articles
from ..db import utcnow
from ..flask_db import get_catalog, get_session
from .base import Blueprint
from .localized import article_etag, choose_locale, localize
from .presenters import article_body, list_item_body, revision_body
from .schemas import (
    ArticleListQuerySchema,
    ArticleListSchema,
    ArticleSchema,
    LocaleQuerySchema,
    RevisionListSchema,
)

blp = Blueprint("articles", __name__, description="Knowledge-base articles")


def _serve_snapshot(snapshot: articles.ArticleSnapshot, requested_locale: str | None) -> Response:
    locale = choose_locale(requested_locale, snapshot.source_locale)
    if locale not in snapshot.texts:
        locale = snapshot.source_locale
    catalog = get_catalog()
    body = article_body(snapshot, locale, catalog, utcnow().date())
    notices = "|".join(notice["text"] for notice in body["notices"])
    etag = article_etag(snapshot.kb, snapshot.revision_id, locale, notices)
    # A matching If-None-Match gets 304 with the same ETag and no body.
    response = Response(status=304) if request.if_none_match.contains(etag) else jsonify(body)
    response.set_etag(etag)
    return localize(response, locale)


@blp.route("/articles/<string:kb>")
@blp.arguments(LocaleQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ArticleSchema)
@blp.alt_response(304, description="Not modified (If-None-Match matched the ETag)")
@blp.alt_response(404, description="No such article")
def get_article(kb: str, locale: str | None = None) -> Response:
    """The current revision of an article, in the negotiated locale, with a strong ETag."""
    return _serve_snapshot(articles.get_article(get_session(), kb), locale)


@blp.route("/articles/<string:kb>/revisions")
@blp.response(200, RevisionListSchema)
@blp.alt_response(404, description="No such article")
def list_revisions(kb: str) -> Response:
    """Every revision of an article, newest first."""
    revisions = articles.list_revisions(get_session(), kb)
    number = articles.normalize_kb(kb)
    return jsonify({"kb": number, "items": [revision_body(revision) for revision in revisions]})


@blp.route("/articles/<string:kb>/revisions/<string:number>")
@blp.arguments(LocaleQuerySchema, location="query", as_kwargs=True)
@blp.response(200, ArticleSchema)
@blp.alt_response(404, description="No such article or revision")
def get_revision(kb: str, number: str, locale: str | None = None) -> Response:
    """The article exactly as it was at one revision."""
    return _serve_snapshot(articles.get_revision(get_session(), kb, number), locale)


@blp.route("/articles")
@blp.arguments(ArticleListQuerySchema, location="query")
@blp.response(200, ArticleListSchema)
def list_articles(query: dict[str, Any]) -> Response:
    """List and search articles, best match first, paginated."""
    page = articles.list_articles(
        get_session(),
        product=query.get("product"),
        edition=query.get("edition"),
        architecture=query.get("architecture"),
        service_pack=query.get("service_pack"),
        page=query["page"],
        per_page=query["per_page"],
    )
    locale = choose_locale(query.get("locale"), "")
    items = [list_item_body(hit, locale) for hit in page.items]
    response = jsonify(
        {"items": items, "total": page.total, "page": query["page"], "per_page": query["per_page"]}
    )
    return localize(response, locale) if locale else response
