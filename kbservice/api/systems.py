"""Registered systems (inventory role): register, read, list, forget; an article's systems."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response, current_app, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.routing import BaseConverter

from ..access.tokens import Role
from ..applicability.index import RuleIndex, assess
from ..articles.reading import find_article
from ..catalog.facts import NormalizedSystem
from ..contract.presenters import rfc3339
from ..contract.schemas import (
    ArticleSystemsQuerySchema,
    ArticleSystemsSchema,
    PageQuerySchema,
    SystemBatchRequestSchema,
    SystemBatchResponseSchema,
    SystemBodySchema,
    SystemListSchema,
    SystemRecordSchema,
)
from ..errors import KBServiceError, TooLarge, ValidationFailed
from ..http.context import get_database, get_primary_session, primary_rule_index
from ..http.problems import problem_dict
from ..storage.db import serialize_revision_writes
from ..storage.models import Revision
from ..systems import registry
from ..systems.registry import Judged, Registration
from .answers import system_answer
from .applicability import normalize_facts
from .auth import require
from .base import Blueprint
from .localized import choose_locale, localize

blp = Blueprint("systems", __name__, description="Registered systems and their verdicts")


class SystemIdConverter(BaseConverter):
    """A registered system's id in a path: 1–200 of `A-Za-z0-9._:-`, never `batch`.

    `batch` is the batch endpoint's path, so `PUT /systems/batch` is no registration
    and `Allow` lists only the batch endpoint's methods there.
    """

    regex = registry.SYSTEM_ID_IN_PATH


def system_id_parameter(_converter: SystemIdConverter) -> dict[str, Any]:
    """The OpenAPI schema of a system id path parameter."""
    return {"type": "string", "pattern": f"^{registry.SYSTEM_ID_IN_PATH}$"}


_SECURITY = [{"bearerAuth": []}]


def _registration(
    system_id: str, raw: dict[str, Any], system: NormalizedSystem, index: RuleIndex
) -> Registration:
    product = system.facts.get("product")
    verdicts = {
        item.entry.article_id: Judged(item.entry.kb, item.verdict.value, item.missing_facts)
        for item in assess(index, system)
    }
    return Registration(
        id=system_id,
        facts=raw,
        normalized=system.facts,
        product=product if isinstance(product, str) else None,
        recognised=system.product_recognised,
        verdicts=verdicts,
    )


def _register(
    items: Sequence[tuple[str, dict[str, Any], NormalizedSystem]],
) -> tuple[list[bool], RuleIndex, Any]:
    """Judge and store `items` in one transaction, under the rules current in it.

    Returns whether each was new, the rule index used, and when they were stored.
    """
    with get_database().write() as session:
        index = _current_index(session)
        created = registry.register(
            session, [_registration(i, raw, system, index) for i, raw, system in items]
        )
        stored_at = registry.get_system(session, items[-1][0]).updated_at
    return created, index, stored_at


def _current_index(session: Session) -> RuleIndex:
    # Publishers take this lock before adding a revision: holding it, no revision can
    # commit between judging these systems and storing their verdicts, so a publish
    # either sees them registered or came before the rules judged here.
    serialize_revision_writes(session)
    stamp = session.scalar(select(func.max(Revision.id))) or 0
    return primary_rule_index(stamp)


def _locale() -> str:
    return choose_locale(request.args.get("locale"), current_app.config["LOCALES"][0])


def _record(
    system_id: str, system: NormalizedSystem, index: RuleIndex, updated_at: Any
) -> Response:
    locale = _locale()
    body = {
        "id": system_id,
        "locale": locale,
        **system_answer(system, assess(index, system), locale),
        "updated_at": rfc3339(updated_at),
    }
    return localize(jsonify(body), locale)


@blp.route("/systems/<system_id:system_id>", methods=["PUT"])
@blp.doc(security=_SECURITY)
@require(Role.INVENTORY)
@blp.arguments(SystemBodySchema())
@blp.response(200, SystemRecordSchema, description="Replaced")
@blp.alt_response(201, schema=SystemRecordSchema, description="Registered")
@blp.alt_response(422, description="Invalid id or facts; `errors` names each field")
def put_system(body: dict[str, Any], system_id: str) -> Response:
    """Register a system, or replace its facts; its verdicts are stored and kept current."""
    if not request.get_data():
        raise ValidationFailed(
            "The body must be a SYSTEM object ({} for none of its facts).",
            errors={"json": ["a SYSTEM object is required"]},
        )
    system = normalize_facts(body, "")
    (created,), index, stored_at = _register([(system_id, body, system)])
    response = _record(system_id, system, index, stored_at)
    response.status_code = 201 if created else 200
    return response


@blp.route("/systems/<system_id:system_id>")
@blp.doc(security=_SECURITY)
@require(Role.INVENTORY)
@blp.response(200, SystemRecordSchema)
@blp.alt_response(404, description="No system has this id")
def get_system(system_id: str) -> Response:
    """A registered system with its verdicts under the articles' current revisions."""
    session = get_primary_session()
    row = registry.get_system(session, system_id)
    system = normalize_facts(row.facts, "")
    stamp = session.scalar(select(func.max(Revision.id))) or 0
    return _record(row.id, system, primary_rule_index(stamp), row.updated_at)


@blp.route("/systems/<system_id:system_id>", methods=["DELETE"])
@blp.doc(security=_SECURITY)
@require(Role.INVENTORY)
@blp.response(204)
@blp.alt_response(404, description="No system has this id")
def delete_system(system_id: str) -> Response:
    """Forget a registered system and its stored verdicts."""
    with get_database().write() as session:
        # Registrations and publishes judge the systems they read under this lock, then
        # store verdicts for them: a system must not disappear in between.
        serialize_revision_writes(session)
        registry.delete_system(session, system_id)
    return Response(status=204)


@blp.route("/systems/batch", methods=["POST"])
@blp.doc(security=_SECURITY)
@require(Role.INVENTORY)
@blp.arguments(SystemBatchRequestSchema())
@blp.response(200, SystemBatchResponseSchema)
@blp.alt_response(413, description="More systems than MAX_BATCH_SYSTEMS")
def register_batch(body: dict[str, Any]) -> Response:
    """Register or replace many systems; an invalid one gets an error entry, not a write."""
    limit = current_app.config["MAX_BATCH_SYSTEMS"]
    systems = body["systems"]
    if len(systems) > limit:
        raise TooLarge(f"A batch may hold at most {limit} systems; this one has {len(systems)}.")
    results: list[dict[str, Any]] = []
    valid: list[tuple[str, dict[str, Any], NormalizedSystem]] = []
    for position, raw in enumerate(systems):
        system_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            registry.check_system_id(system_id, f"systems.{position}.id")
            facts = {k: v for k, v in raw.items() if k != "id"}
            valid.append((system_id, facts, normalize_facts(facts, f"systems.{position}")))
            results.append({"id": system_id})
        except KBServiceError as exc:
            results.append({"id": system_id, "error": problem_dict(exc)})
    if valid:
        created = iter(_register(valid)[0])
        for result in results:
            if "error" not in result:
                result["status"] = 201 if next(created) else 200
    return jsonify({"results": results})


@blp.route("/systems")
@blp.doc(security=_SECURITY)
@require(Role.INVENTORY)
@blp.arguments(PageQuerySchema(), location="query")
@blp.response(200, SystemListSchema)
def list_systems(query: dict[str, Any]) -> Response:
    """Registered systems by id, a page at a time."""
    rows, total = registry.list_systems(
        get_primary_session(), page=query["page"], per_page=query["per_page"]
    )
    items = [
        {"id": row.id, "product": row.product, "updated_at": rfc3339(row.updated_at)}
        for row in rows
    ]
    return jsonify({"items": items, "total": total, **query})


@blp.route("/articles/<string:kb>/systems")
@blp.doc(security=_SECURITY)
@require(Role.INVENTORY)
@blp.arguments(ArticleSystemsQuerySchema(), location="query")
@blp.response(200, ArticleSystemsSchema)
@blp.alt_response(404, description="No such article")
def article_systems(query: dict[str, Any], kb: str) -> Response:
    """The registered systems with the stored verdict `verdict` on the article."""
    session = get_primary_session()
    article = find_article(session, kb)
    verdict = query["verdict"]
    rows, total = registry.article_systems(
        session, article.id, verdict, page=query["page"], per_page=query["per_page"]
    )
    items = [{"id": i, "verdict": verdict, "missing_facts": missing} for i, missing in rows]
    return jsonify(
        {"items": items, "total": total, "page": query["page"], "per_page": query["per_page"]}
    )
