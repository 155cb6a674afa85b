"""Writes by support staff: create articles, translations, rules, metadata; restore."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify

from ..access.tokens import Role
from ..applicability.examples import check_examples
from ..applicability.preview import preview_rules
from ..articles import audit, reading, revisions
from ..articles.locales import check_locale
from ..catalog.products import check_applies_to
from ..contract.presenters import preview_body
from ..contract.schemas import (
    ETAG,
    IF_MATCH_ARTICLE,
    LOCALIZED,
    LOCATION,
    ArticleCreateSchema,
    ArticleSchema,
    MetadataInSchema,
    RestoreInSchema,
    RulesBodySchema,
    RulesInSchema,
    RulesPreviewInSchema,
    RulesPreviewSchema,
    TranslationInSchema,
)
from ..http.context import get_catalog, get_database, get_primary_session
from ..rules import check_rules, configured_limits
from .auth import actor, require, require_if_match
from .base import Blueprint
from .rules_view import rules_body
from .serving import serve_snapshot

blp = Blueprint("editing", __name__, description="Editing articles (editor role)")

_WRITE_DOC = {"security": [{"bearerAuth": []}]}


def _written(snapshot: reading.ArticleSnapshot, locale: str, status: int) -> Response:
    response = serve_snapshot(snapshot, locale)
    response.status_code = status
    return response


@blp.route("/articles", methods=["POST"])
@blp.doc(**_WRITE_DOC)
@require(Role.EDITOR)
@blp.arguments(ArticleCreateSchema())
@blp.response(201, ArticleSchema, headers={**ETAG, **LOCALIZED, **LOCATION})
@blp.alt_response(409, description="The KB number exists already")
def create(body: dict[str, Any]) -> Response:
    """Create an article with its first revision (1.0) in its source locale."""
    source_locale = check_locale(
        body["source_locale"], current_app.config["LOCALES"], "source_locale"
    )
    check_applies_to(body["applies_to"], get_catalog())
    check_rules(body["rules"], configured_limits(current_app.config))
    new = reading.NewArticle(
        kb=body["kb"],
        source_locale=source_locale,
        texts={source_locale: (body["title"], body["sections"])},
        applies_to=body["applies_to"],
        rules=body["rules"],
        keywords=body.get("keywords", []),
        related=[reading.normalize_kb(kb) or kb for kb in body.get("related", [])],
        author=g.principal.name,
        summary=body["summary"] or "Created",
    )
    with get_database().write() as session:
        snapshot = reading.create_article(session, new)
        audit.record(session, actor(), "article.create", kb=snapshot.kb, revision="1.0")
    response = _written(snapshot, source_locale, 201)
    response.headers["Location"] = f"/api/v1/articles/{snapshot.kb}"
    return response


def _publish(kb: str, change: revisions.Change, summary: str, action: str) -> Any:
    with get_database().write() as session:
        return revisions.publish_recorded(
            session,
            kb,
            g.base_revision_id,
            change,
            actor=actor(),
            summary=summary,
            action=action,
        )


@blp.route("/articles/<string:kb>/translations/<string:locale>", methods=["PUT"])
@blp.doc(**_WRITE_DOC)
@require(Role.EDITOR)
@require_if_match
@blp.arguments(TranslationInSchema())
@blp.header_parameters(IF_MATCH_ARTICLE)
@blp.response(200, ArticleSchema, headers={**ETAG, **LOCALIZED})
@blp.alt_response(
    201,
    schema=ArticleSchema,
    headers={**ETAG, **LOCALIZED},
    description="The locale's text was created",
    success=True,
)
@blp.alt_response(412, description="If-Match is not the current revision")
@blp.alt_response(428, description="If-Match is missing")
def put_translation(body: dict[str, Any], kb: str, locale: str) -> Response:
    """Create (201) or replace (200) one locale's text; returns the article in that locale."""
    chosen = check_locale(locale, current_app.config["LOCALES"], "locale")
    existed = chosen in reading.get_article(get_primary_session(), kb).texts
    summary = body["summary"] or f"{'Updated' if existed else 'Added'} {chosen} text"
    change = revisions.Change(texts={chosen: (body["title"], body["sections"])})
    snapshot = _publish(kb, change, summary, "translation.put")
    return _written(snapshot, chosen, 200 if existed else 201)


@blp.route("/articles/<string:kb>/rules", methods=["PUT"])
@blp.doc(**_WRITE_DOC)
@require(Role.EDITOR)
@require_if_match
@blp.arguments(RulesInSchema())
@blp.header_parameters(IF_MATCH_ARTICLE)
@blp.response(200, RulesBodySchema, headers=ETAG)
@blp.alt_response(412, description="If-Match is not the current revision")
@blp.alt_response(428, description="If-Match is missing")
def put_rules(body: dict[str, Any], kb: str) -> Response:
    """Replace the rule document (and examples); refused if it contradicts an example."""
    check_rules(body["rules"], configured_limits(current_app.config))
    examples = body.get("examples")
    if examples is None:
        # Kept as they are, so the new rules must still give them their verdicts. If the
        # article changed since, If-Match fails the write anyway.
        examples = list(reading.get_article(get_primary_session(), kb).examples)
    check_examples(body["rules"], examples, get_catalog())
    change = revisions.Change(rules=body["rules"], examples=examples)
    snapshot = _publish(kb, change, body["summary"] or "Rules", "rules.put")
    return rules_body(snapshot)


@blp.route("/articles/<string:kb>/rules/preview", methods=["POST"])
@blp.doc(**_WRITE_DOC)
@require(Role.EDITOR)
@blp.arguments(RulesPreviewInSchema())
@blp.response(200, RulesPreviewSchema)
@blp.alt_response(404, description="No such article")
def preview(body: dict[str, Any], kb: str) -> Response:
    """Judge examples by proposed rules and count the registered systems they change."""
    check_rules(body["rules"], configured_limits(current_app.config))
    result = preview_rules(
        get_primary_session(), kb, body["rules"], body.get("examples"), get_catalog()
    )
    return jsonify(preview_body(result))


@blp.route("/articles/<string:kb>/metadata", methods=["PUT"])
@blp.doc(**_WRITE_DOC)
@require(Role.EDITOR)
@require_if_match
@blp.arguments(MetadataInSchema(), required=False)
@blp.header_parameters(IF_MATCH_ARTICLE)
@blp.response(200, ArticleSchema, headers={**ETAG, **LOCALIZED})
@blp.alt_response(412, description="If-Match is not the current revision")
@blp.alt_response(428, description="If-Match is missing")
def put_metadata(body: dict[str, Any], kb: str) -> Response:
    """Replace keywords, related articles and/or applies-to."""
    check_applies_to(body.get("applies_to"), get_catalog())
    change = revisions.Change(
        keywords=body.get("keywords"),
        related=[reading.normalize_kb(k) or k for k in body["related"]]
        if "related" in body
        else None,
        applies_to=body.get("applies_to"),
    )
    snapshot = _publish(kb, change, body["summary"] or "Metadata", "metadata.put")
    return _written(snapshot, snapshot.source_locale, 200)


@blp.route("/articles/<string:kb>/revisions/<string:number>/restore", methods=["POST"])
@blp.doc(**_WRITE_DOC)
@require(Role.EDITOR)
@require_if_match
@blp.arguments(RestoreInSchema(), required=False)
@blp.header_parameters(IF_MATCH_ARTICLE)
@blp.response(200, ArticleSchema, headers={**ETAG, **LOCALIZED})
@blp.alt_response(404, description="No such article or revision")
@blp.alt_response(412, description="If-Match is not the current revision")
@blp.alt_response(428, description="If-Match is missing")
def restore(body: dict[str, Any], kb: str, number: str) -> Response:
    """Publish an old revision's content again as a new revision."""
    with get_database().write() as session:
        snapshot = revisions.restore(
            session,
            kb,
            number,
            g.base_revision_id,
            author=g.principal.name,
            summary=body["summary"],
        )
        audit.record(
            session,
            actor(),
            "revision.restore",
            kb=snapshot.kb,
            revision=snapshot.revision.number,
            details={"restored": number},
        )
    return _written(snapshot, snapshot.source_locale, 200)
