"""The body of `GET …/rules`, shared by the read and write endpoints."""

from __future__ import annotations

from flask import Response, jsonify

from ..articles.reading import ArticleSnapshot
from ..contract.presenters import revision_ref
from ..rules.applies_to import rules_from_applies_to
from .localized import article_etag


def rules_body(snapshot: ArticleSnapshot) -> Response:
    """`{"kb", "revision", "rules", "examples"}`; without rules, the applies-to as rules."""
    rules = (
        snapshot.rules if snapshot.rules is not None else rules_from_applies_to(snapshot.applies_to)
    )
    response = jsonify(
        {
            "kb": snapshot.kb,
            "revision": revision_ref(snapshot.revision),
            "rules": rules,
            "examples": list(snapshot.examples),
        }
    )
    # Names the revision like the article's ETags do, so it is good for If-Match too.
    response.set_etag(article_etag(snapshot.kb, snapshot.revision_id, "rules"))
    return response
