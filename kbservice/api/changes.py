"""The change feed: every published revision once, in publication order, behind a cursor."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from ..articles import feed
from ..contract.presenters import rfc3339
from ..contract.schemas import IF_NONE_MATCH, ChangeListSchema, ChangesQuerySchema
from ..http.context import get_session
from .base import Blueprint

blp = Blueprint("changes", __name__, description="Change feed")

_FEED_ETAG = {
    "ETag": {
        "description": "Strong; the same while the page would hold the same items",
        "schema": {"type": "string"},
        "required": True,
    }
}


@blp.route("/changes")
@blp.arguments(ChangesQuerySchema(), location="query")
@blp.header_parameters(IF_NONE_MATCH)
@blp.response(200, ChangeListSchema, headers=_FEED_ETAG)
@blp.alt_response(304, description="Nothing new since the page whose ETag was sent")
def changes(query: dict[str, Any]) -> Response:
    """Published revisions after the cursor `after`, oldest first (see docs/architecture.md)."""
    limit = query["limit"]
    page = feed.read_page(get_session(), feed.decode_cursor(query["after"]), limit)
    etag = page.tag(limit)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = jsonify(
            {
                "items": [
                    {
                        "cursor": feed.encode_cursor(item.position),
                        "kb": item.kb,
                        "revision": {
                            "number": item.number,
                            "created_at": rfc3339(item.created_at),
                        },
                        "kind": item.kind,
                    }
                    for item in page.items
                ],
                "next": feed.encode_cursor(page.next),
            }
        )
    response.set_etag(etag)
    # Shared caches may keep a page, but must ask again before every reuse.
    response.headers["Cache-Control"] = "no-cache"
    return response
