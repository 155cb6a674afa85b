"""History endpoints: diffs between revisions, outdated translations, the audit log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, jsonify
from marshmallow import Schema, fields, validate

from ..access.tokens import Role
from ..articles import audit, history, reading
from ..contract.presenters import rfc3339
from ..contract.schemas import AuditListSchema, DiffSchema, OutdatedTranslationListSchema
from ..http.context import get_primary_session, get_session
from .auth import require
from .base import Blueprint

blp = Blueprint("history", __name__, description="Revision history and audit")


class DiffQuerySchema(Schema):
    """Which revisions to compare."""

    from_ = fields.String(
        required=True,
        data_key="from",
        validate=validate.Length(max=32),
        metadata={"example": "2.2"},
    )
    to = fields.String(
        validate=validate.Length(max=32), metadata={"description": "default: current"}
    )
    locale = fields.String(validate=validate.Length(max=35))


class AuditQuerySchema(Schema):
    """Audit log filters."""

    kb = fields.String(validate=validate.Length(max=16))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


@blp.route("/articles/<string:kb>/diff")
@blp.arguments(DiffQuerySchema(), location="query")
@blp.response(200, DiffSchema, description="Per-locale, per-section text diff and rule changes")
@blp.alt_response(404, description="No such article or revision")
def diff(query: dict[str, Any], kb: str) -> Response:
    """Differences between two revisions (texts per locale and section, rules, metadata)."""
    session = get_session()
    old = reading.get_revision(session, kb, query["from_"])
    new = (
        reading.get_revision(session, kb, query["to"])
        if query.get("to")
        else reading.get_article(session, kb)
    )
    locale = query.get("locale")
    return jsonify(history.diff(old, new, locale.lower() if locale else None))


@blp.route("/translations/outdated")
@blp.response(
    200, OutdatedTranslationListSchema, description="Translations written from an older source text"
)
def outdated() -> Response:
    """Translations that need updating because their source text changed."""
    items = [asdict(item) for item in history.outdated_translations(get_session())]
    return jsonify({"items": items, "total": len(items)})


@blp.route("/audit")
@blp.doc(security=[{"bearerAuth": []}])
@require(Role.ADMIN)
@blp.arguments(AuditQuerySchema(), location="query")
@blp.response(200, AuditListSchema, description="Audit events, newest first")
def audit_log(query: dict[str, Any]) -> Response:
    """Every write: who, when, what, from which address (admins only)."""
    kb = reading.normalize_kb(query["kb"]) if query.get("kb") else None
    events, total = audit.list_events(
        get_primary_session(), kb=kb, page=query["page"], per_page=query["per_page"]
    )
    items = [
        {
            "id": event.id,
            "at": rfc3339(event.at),
            "actor": event.actor,
            "action": event.action,
            "kb": event.kb,
            "revision": event.revision,
            "remote_addr": event.remote_addr,
            "details": event.details,
        }
        for event in events
    ]
    return jsonify({"items": items, "total": total})
