"""Drafts: save beside the published text, then publish as a revision or discard."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request

from ..access.tokens import Role
from ..applicability.examples import check_examples
from ..articles import audit, drafts, reading
from ..articles.locales import check_locale
from ..catalog.products import check_applies_to
from ..contract.presenters import rfc3339
from ..contract.schemas import (
    ETAG,
    IF_MATCH_DRAFT,
    IF_MATCH_PUBLISH,
    LOCALIZED,
    LOCATION,
    ArticleSchema,
    DraftListSchema,
    DraftSchema,
    MetadataInSchema,
    PublishInSchema,
    RulesInSchema,
    TranslationInSchema,
)
from ..errors import ValidationFailed
from ..http.context import get_catalog, get_database, get_primary_session
from ..rules import check_rules, configured_limits
from .auth import actor, require, require_if_match
from .base import Blueprint
from .serving import serve_snapshot

blp = Blueprint("drafts", __name__, description="Drafts (editor role)")

_DOC = {"security": [{"bearerAuth": []}]}


def draft_body(info: drafts.DraftInfo) -> dict[str, Any]:
    """A draft as JSON."""
    return {
        "id": info.id,
        "kb": info.kb,
        "kind": info.kind,
        "locale": info.locale,
        "payload": info.payload,
        "base_revision_id": info.base_revision_id,
        "version": info.version,
        "author": info.author,
        "created_at": rfc3339(info.created_at),
        "updated_at": rfc3339(info.updated_at),
    }


_DRAFT_ETAG = {
    "ETag": {"description": "`draft-<version>`", "schema": {"type": "string"}, "required": True}
}


def _saves_draft(view: Any) -> Any:
    """Document a draft save: 200 replaced or 201 created, 412 on a newer save."""
    for decorator in (
        blp.alt_response(412, description="If-Match names an older version of the draft"),
        blp.alt_response(
            201,
            schema=DraftSchema,
            headers=_DRAFT_ETAG,
            description="The draft was created",
            success=True,
        ),
        blp.response(200, DraftSchema, headers=_DRAFT_ETAG, description="The draft was replaced"),
        blp.header_parameters(IF_MATCH_DRAFT),
    ):
        view = decorator(view)
    return view


def _expected_version() -> int | None:
    # Draft versions travel as ETags "draft-<version>" so a colleague's save is not lost.
    header = request.headers.get("If-Match", "").strip().strip('"')
    if not header.startswith("draft-"):
        return None
    try:
        return int(header.removeprefix("draft-"))
    except ValueError:
        raise ValidationFailed(
            "If-Match for a draft must be the draft's ETag.", errors={"If-Match": ["malformed"]}
        ) from None


def _save(kb: str, kind: str, payload: dict[str, Any], locale: str = "") -> Response:
    base = reading.get_article(get_primary_session(), kb).revision_id
    with get_database().write() as session:
        info, created = drafts.save_draft(
            session,
            kb,
            kind,
            payload,
            author=g.principal.name,
            base_revision_id=base,
            locale=locale,
            expected_version=_expected_version(),
        )
        audit.record(session, actor(), f"draft.save.{kind}", kb=info.kb, details={"id": info.id})
    response = jsonify(draft_body(info))
    response.status_code = 201 if created else 200
    response.set_etag(f"draft-{info.version}")
    return response


@blp.route("/articles/<string:kb>/drafts")
@blp.doc(**_DOC)
@require(Role.EDITOR)
@blp.response(200, DraftListSchema)
def list_for_article(kb: str) -> Response:
    """Drafts of one article."""
    return jsonify(
        {"items": [draft_body(d) for d in drafts.list_drafts(get_primary_session(), kb)]}
    )


@blp.route("/drafts")
@blp.doc(**_DOC)
@require(Role.EDITOR)
@blp.response(200, DraftListSchema)
def list_all() -> Response:
    """Every draft, including drafts of articles not yet published."""
    return jsonify({"items": [draft_body(d) for d in drafts.list_drafts(get_primary_session())]})


@blp.route("/articles/<string:kb>/drafts/translations/<string:locale>", methods=["PUT"])
@blp.doc(**_DOC)
@require(Role.EDITOR)
@blp.arguments(TranslationInSchema())
@_saves_draft
def save_translation(body: dict[str, Any], kb: str, locale: str) -> Response:
    """Save a translation draft; the published text does not change."""
    chosen = check_locale(locale, current_app.config["LOCALES"], "locale")
    return _save(kb, "translation", body, chosen)


@blp.route("/articles/<string:kb>/drafts/rules", methods=["PUT"])
@blp.doc(**_DOC)
@require(Role.EDITOR)
@blp.arguments(RulesInSchema())
@_saves_draft
def save_rules(body: dict[str, Any], kb: str) -> Response:
    """Save a rules draft with its examples; they are held to their examples on publishing."""
    check_rules(body["rules"], configured_limits(current_app.config))
    return _save(kb, "rules", body)


def _check_draft_examples(kb: str, payload: dict[str, Any]) -> None:
    """A rules draft must satisfy its examples, or the current ones when it has none."""
    examples = payload.get("examples")
    if examples is None:
        examples = list(reading.get_article(get_primary_session(), kb).examples)
    check_examples(payload["rules"], examples, get_catalog())


@blp.route("/articles/<string:kb>/drafts/metadata", methods=["PUT"])
@blp.doc(**_DOC)
@require(Role.EDITOR)
@blp.arguments(MetadataInSchema(), required=False)
@_saves_draft
def save_metadata(body: dict[str, Any], kb: str) -> Response:
    """Save a metadata draft (keywords, related, applies-to)."""
    check_applies_to(body.get("applies_to"), get_catalog())
    return _save(kb, "metadata", body)


@blp.route("/drafts/<int:draft_id>")
@blp.doc(**_DOC)
@require(Role.EDITOR)
@blp.response(200, DraftSchema, headers=_DRAFT_ETAG)
@blp.alt_response(404, description="No such draft")
def get_one(draft_id: int) -> Response:
    """One draft."""
    info = drafts.draft_info(get_primary_session(), draft_id)
    response = jsonify(draft_body(info))
    response.set_etag(f"draft-{info.version}")
    return response


@blp.route("/drafts/<int:draft_id>", methods=["DELETE"])
@blp.doc(**_DOC)
@require(Role.EDITOR)
@blp.response(204)
@blp.alt_response(404, description="No such draft")
def discard(draft_id: int) -> Response:
    """Discard a draft; the published article is untouched."""
    with get_database().write() as session:
        info = drafts.discard_draft(session, draft_id)
        audit.record(session, actor(), "draft.discard", kb=info.kb, details={"id": draft_id})
    return Response(status=204)


def _publish_existing(draft: drafts.DraftInfo, summary: str) -> Response:
    @require_if_match
    def run(kb: str) -> Response:
        with get_database().write() as session:
            snapshot = drafts.publish_draft(
                session, draft.id, g.base_revision_id, author=g.principal.name, summary=summary
            )
            audit.record(
                session,
                actor(),
                f"draft.publish.{draft.kind}",
                kb=snapshot.kb,
                revision=snapshot.revision.number,
                details={"id": draft.id},
            )
        return serve_snapshot(snapshot, draft.locale)

    return run(kb=draft.kb)


@blp.route("/drafts/<int:draft_id>/publish", methods=["POST"])
@blp.doc(**_DOC)
@require(Role.EDITOR)
@blp.arguments(PublishInSchema(), required=False)
@blp.header_parameters(IF_MATCH_PUBLISH)
@blp.response(200, ArticleSchema, headers={**ETAG, **LOCALIZED})
@blp.alt_response(
    201,
    schema=ArticleSchema,
    headers={**ETAG, **LOCALIZED, **LOCATION},
    description="A new article was published",
    success=True,
)
@blp.alt_response(404, description="No such draft, or its article is gone")
@blp.alt_response(409, description="A draft of a new article whose KB number is taken")
@blp.alt_response(412, description="If-Match is not the current revision")
@blp.alt_response(428, description="If-Match is missing")
def publish(body: dict[str, Any], draft_id: int) -> Response:
    """Publish a draft: a new revision (If-Match required) or, for a new article, 201."""
    draft = drafts.draft_info(get_primary_session(), draft_id)
    if draft.kind == "rules":
        # Checked now, not on saving: a draft may be half done, and the current examples
        # (or the catalog) may have changed since it was saved.
        _check_draft_examples(draft.kb, draft.payload)
    if draft.kind != "article":
        return _publish_existing(draft, body["summary"])
    with get_database().write() as session:
        snapshot = drafts.publish_draft(
            session, draft_id, None, author=g.principal.name, summary=body["summary"]
        )
        audit.record(session, actor(), "draft.publish.article", kb=snapshot.kb, revision="1.0")
    response = serve_snapshot(snapshot, snapshot.source_locale)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/articles/{snapshot.kb}"
    return response
