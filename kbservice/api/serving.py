"""Serving an article snapshot: locale choice, body, strong ETag and conditional GET."""

from __future__ import annotations

from flask import Response, jsonify, request

from ..articles import ArticleSnapshot
from ..db import utcnow
from ..flask_db import get_catalog
from .localized import article_etag, choose_locale, localize
from .presenters import article_body


def serve_snapshot(snapshot: ArticleSnapshot, requested_locale: str | None) -> Response:
    """The article in the negotiated locale, with ETag; 304 when If-None-Match matches."""
    locale = choose_locale(requested_locale, snapshot.source_locale)
    if locale not in snapshot.texts:
        locale = snapshot.source_locale
    body = article_body(snapshot, locale, get_catalog(), utcnow().date())
    # Generated notices depend on today's date, so they are part of the representation.
    notices = "|".join(notice["text"] for notice in body["notices"])
    etag = article_etag(snapshot.kb, snapshot.revision_id, locale, notices)
    response = Response(status=304) if request.if_none_match.contains(etag) else jsonify(body)
    response.set_etag(etag)
    return localize(response, locale)
