"""'Does this apply to my system?' for one system, a batch, or a helpdesk link."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response, current_app, jsonify, request

from ..applicability import Assessment, RuleEntry, RuleIndex, assess
from ..errors import TooLarge, ValidationFailed
from ..facts import FactsValidationError, NormalizedSystem, normalize_system
from ..flask_db import get_catalog, get_rule_index
from ..observability import count_verdicts
from .base import Blueprint
from .localized import choose_locale, localize
from .problems import problem_dict
from .schemas import (
    LOCALIZED,
    ApplicabilityBatchRequestSchema,
    ApplicabilityBatchResponseSchema,
    ApplicabilityQuerySchema,
    ApplicabilityRequestSchema,
    ApplicabilityResponseSchema,
)

blp = Blueprint("applicability", __name__, description="Does this article apply to my system?")


def _locale(requested: str | None) -> str:
    return choose_locale(requested, current_app.config["LOCALES"][0])


def _requested(index: RuleIndex, kbs: Sequence[str] | None) -> list[RuleEntry] | None:
    return None if kbs is None else index.resolve(kbs)


def _result_body(item: Assessment, locale: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kb": item.entry.kb,
        "title": item.entry.title(locale),
        "verdict": item.verdict.value,
        "reasons": item.reasons(locale),
        "missing_facts": list(item.missing_facts),
        "revision": {"number": item.entry.revision_number},
    }
    if item.evaluation is not None and item.evaluation.trace is not None:
        body["trace"] = item.evaluation.trace
    return body


def system_answer(system: NormalizedSystem, results: list[Assessment], locale: str) -> dict:
    """One system's answer: normalized facts, derived facts, results and warnings."""
    return {
        "system": system.facts,
        "derived": system.derived,
        "results": [_result_body(item, locale) for item in results],
        "warnings": [warning.text(locale) for warning in system.warnings],
    }


def _normalize(raw: object, path: str) -> NormalizedSystem:
    """Normalize one SYSTEM; errors name fields from the body's root (`systems.3.service_pack`)."""
    try:
        return normalize_system(raw, get_catalog())
    except FactsValidationError as exc:
        errors = {
            ".".join(part for part in (path, field) if part): messages
            for field, messages in exc.errors.items()
        }
        detail = "The system has invalid facts: " + ", ".join(sorted(errors)) + "."
        raise ValidationFailed(detail, errors=errors) from exc


def _explain(body: dict[str, Any]) -> bool:
    return bool(body.get("explain")) or request.args.get("explain", "").lower() in ("1", "true")


@blp.route("/applicability", methods=["POST"])
@blp.arguments(ApplicabilityRequestSchema())
@blp.response(200, ApplicabilityResponseSchema, headers=LOCALIZED)
@blp.alt_response(404, description="A requested KB number does not exist")
@blp.alt_response(422, description="Invalid facts; `errors` names each field")
def check_one(body: dict[str, Any]) -> Response:
    """Evaluate one system against the requested articles, or against all of them."""
    locale = _locale(body.get("locale"))
    explain = _explain(body)
    index = get_rule_index()
    requested = _requested(index, body.get("articles"))
    system = _normalize(body["system"], "system")
    results = assess(index, system, requested=requested, explain=explain)
    count_verdicts([item.verdict.value for item in results])
    return localize(jsonify({"locale": locale, **system_answer(system, results, locale)}), locale)


@blp.route("/applicability/batch", methods=["POST"])
@blp.arguments(ApplicabilityBatchRequestSchema())
@blp.response(200, ApplicabilityBatchResponseSchema, headers=LOCALIZED)
@blp.alt_response(404, description="A requested KB number does not exist")
@blp.alt_response(
    413, description="More systems than MAX_BATCH_SYSTEMS, or a body over MAX_CONTENT_LENGTH"
)
def check_batch(body: dict[str, Any]) -> Response:
    """Evaluate many systems; an invalid system gets an error entry, the others an answer."""
    limit = current_app.config["MAX_BATCH_SYSTEMS"]
    systems = body["systems"]
    if len(systems) > limit:
        raise TooLarge(f"A batch may hold at most {limit} systems; this one has {len(systems)}.")
    locale = _locale(body.get("locale"))
    explain = _explain(body)
    index = get_rule_index()
    requested = _requested(index, body.get("articles"))
    entries: list[dict[str, Any]] = []
    verdicts: list[str] = []
    for position, raw in enumerate(systems):
        system_id = raw.get("id") if isinstance(raw, dict) else None
        facts = {k: v for k, v in raw.items() if k != "id"} if isinstance(raw, dict) else raw
        try:
            system = _normalize(facts, f"systems.{position}")
        except ValidationFailed as exc:
            entries.append({"id": system_id, "error": problem_dict(exc)})
            continue
        results = assess(index, system, requested=requested, explain=explain)
        verdicts.extend(item.verdict.value for item in results)
        entries.append({"id": system_id, **system_answer(system, results, locale)})
    count_verdicts(verdicts)
    return localize(jsonify({"locale": locale, "results": entries}), locale)


@blp.route("/articles/<string:kb>/applicability")
@blp.arguments(ApplicabilityQuerySchema(), location="query")
@blp.response(200, ApplicabilityResponseSchema, headers=LOCALIZED)
@blp.alt_response(404, description="No such article")
def check_link(query: dict[str, Any], kb: str) -> Response:
    """The GET form for helpdesk links: facts as query parameters, one article."""
    locale = _locale(query.pop("locale", None))
    explain = _explain(query)
    query.pop("explain", None)
    index = get_rule_index()
    requested = index.resolve([kb])
    system = _normalize(query, "")
    results = assess(index, system, requested=requested, explain=explain)
    count_verdicts([item.verdict.value for item in results])
    return localize(jsonify({"locale": locale, **system_answer(system, results, locale)}), locale)
