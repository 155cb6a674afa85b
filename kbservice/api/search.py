"""Search-box suggestions (the search itself is GET /api/v1/articles?q=)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify
from marshmallow import Schema, fields, validate

from ..contract.schemas import LocaleQuerySchema
from ..errors import ValidationFailed
from ..http.context import get_session
from ..search.suggesting import suggest
from .base import Blueprint
from .localized import choose_locale, localize

blp = Blueprint("search", __name__, description="Search-box suggestions")


class SuggestQuerySchema(LocaleQuerySchema):
    """What has been typed so far; `locale` is preferred for the titles."""

    q = fields.String(
        required=True,
        metadata={"description": "Words typed so far; the last one may be incomplete"},
    )
    limit = fields.Integer(load_default=8, validate=validate.Range(min=1, max=20))


class SuggestionSchema(Schema):
    """An article title to offer."""

    kb = fields.String(required=True, metadata={"example": "885348"})
    title = fields.String(required=True)
    locale = fields.String(
        required=True, metadata={"description": "The locale of the title", "example": "ja"}
    )


class SuggestionListSchema(Schema):
    """Suggestions, shortest title first."""

    items = fields.List(fields.Nested(SuggestionSchema), required=True)


@blp.route("/search/suggest")
@blp.arguments(SuggestQuerySchema(), location="query")
@blp.response(200, SuggestionListSchema)
def suggestions(query: dict[str, Any]) -> Response:
    """Titles that match the words typed so far (the last one as a prefix), or a KB number."""
    q = query["q"]
    limit = current_app.config["MAX_QUERY_LENGTH"]
    if len(q) > limit:
        raise ValidationFailed(
            f"The query is longer than {limit} characters.",
            errors={"q": [f"Longer than maximum length {limit}."]},
        )
    locale = choose_locale(query.get("locale"), "")
    found = suggest(get_session(), q, locale=locale or None, limit=query["limit"])
    response = jsonify(
        {"items": [{"kb": s.kb, "title": s.title, "locale": s.locale} for s in found]}
    )
    return localize(response, locale) if locale else response
