"""'Does this apply to my system?' for one system, a batch, or a helpdesk link."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Flask, Response, current_app, request

from ..applicability.index import Assessment, RuleEntry, RuleIndex, assess, judged
from ..catalog.facts import FactsValidationError, NormalizedSystem, normalize_system
from ..contract.schemas import (
    LOCALIZED,
    ApplicabilityBatchRequestSchema,
    ApplicabilityBatchResponseSchema,
    ApplicabilityQuerySchema,
    ApplicabilityRequestSchema,
    ApplicabilityResponseSchema,
)
from ..errors import TooLarge, ValidationFailed
from ..http.context import get_catalog, get_rule_index, get_rule_index_as_of
from ..http.jsonout import FastJSONProvider
from ..http.observability import count_verdicts
from ..http.plain import PlainAnswer, json_answer, to_response
from ..http.problems import problem_dict
from .answers import Prepared, batch_response, system_answer
from .base import Blueprint
from .localized import choose_locale, localize

blp = Blueprint("applicability", __name__, description="Does this article apply to my system?")

# The setting bounding the results (systems × articles judged) of one request.
RESULTS_SETTING = "MAX_APPLICABILITY_RESULTS"


def _locale(requested: str | None) -> str:
    return choose_locale(requested, current_app.config["LOCALES"][0])


def _requested(index: RuleIndex, kbs: Sequence[str] | None) -> list[RuleEntry] | None:
    return None if kbs is None else index.resolve(kbs)


def normalize_facts(raw: object, path: str) -> NormalizedSystem:
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


def over_budget(limit: int) -> TooLarge:
    """The 413 for a request whose answer would hold more than `limit` results."""
    return TooLarge(
        f"The answer would hold more than {limit} results (systems × articles judged); "
        f"KB_{RESULTS_SETTING} allows at most {limit} per request."
    )


def one_system_answer(
    app: Flask,
    index: RuleIndex,
    system: NormalizedSystem,
    requested: Sequence[RuleEntry] | None,
    *,
    explain: bool,
    locale: str,
) -> PlainAnswer:
    """Every verdict for one system, in `locale`; TooLarge beyond the results budget.

    The one function behind the single-system views and their fast lane
    (fast_applicability.FastApplicability).
    """
    limit = app.config[RESULTS_SETTING]
    if judged(index, system, requested) > limit:
        raise over_budget(limit)
    results = assess(index, system, requested=requested, explain=explain)
    count_verdicts([item.verdict.value for item in results])
    json = app.json
    assert isinstance(json, FastJSONProvider)
    body = json.response_bytes({"locale": locale, **system_answer(system, results, locale)})
    return json_answer(body, locale=locale)


def _index(body: dict[str, Any]) -> RuleIndex:
    """The current rules, or with `as_of` those of the revisions current at that instant."""
    as_of = body.get("as_of")
    return get_rule_index() if as_of is None else get_rule_index_as_of(as_of)


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
    index = _index(body)
    requested = _requested(index, body.get("articles"))
    system = normalize_facts(body["system"], "system")
    return to_response(
        one_system_answer(current_app, index, system, requested, explain=explain, locale=locale)
    )


@blp.route("/applicability/batch", methods=["POST"])
@blp.arguments(ApplicabilityBatchRequestSchema())
@blp.response(200, ApplicabilityBatchResponseSchema, headers=LOCALIZED)
@blp.alt_response(404, description="A requested KB number does not exist")
@blp.alt_response(
    413,
    description="More systems than MAX_BATCH_SYSTEMS, more results than "
    "MAX_APPLICABILITY_RESULTS, or a body over MAX_CONTENT_LENGTH",
)
def check_batch(body: dict[str, Any]) -> Response:
    """Evaluate many systems; an invalid system gets an error entry, the others an answer."""
    limit = current_app.config["MAX_BATCH_SYSTEMS"]
    systems = body["systems"]
    if len(systems) > limit:
        raise TooLarge(f"A batch may hold at most {limit} systems; this one has {len(systems)}.")
    locale = _locale(body.get("locale"))
    explain = _explain(body)
    index = _index(body)
    requested = _requested(index, body.get("articles"))
    budget = current_app.config[RESULTS_SETTING]
    # Every system is normalized and counted before any is judged: a batch over the
    # budget is refused before it costs the evaluation.
    prepared: list[Prepared] = []
    total = 0
    for position, raw in enumerate(systems):
        system_id = raw.get("id") if isinstance(raw, dict) else None
        facts = {k: v for k, v in raw.items() if k != "id"} if isinstance(raw, dict) else raw
        try:
            system = normalize_facts(facts, f"systems.{position}")
        except ValidationFailed as exc:
            prepared.append((system_id, problem_dict(exc)))
            continue
        total += judged(index, system, requested)
        if total > budget:
            raise over_budget(budget)
        prepared.append((system_id, system))

    def judge(system: NormalizedSystem) -> list[Assessment]:
        return assess(index, system, requested=requested, explain=explain)

    return localize(batch_response(locale, prepared, judge), locale)


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
    system = normalize_facts(query, "")
    return to_response(
        one_system_answer(current_app, index, system, requested, explain=explain, locale=locale)
    )
