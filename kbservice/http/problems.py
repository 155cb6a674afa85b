"""RFC 9457 problem details: the one place where errors become HTTP responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from ..errors import KBServiceError

# The logger keeps the name operators filter on, from before the module moved.
log = logging.getLogger("kbservice.api.problems")

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_BASE = "urn:kbservice:problem:"


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    errors: Mapping[str, list[str]] | None = None,
    problem_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": problem_type or "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = dict(errors)
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MEDIA_TYPE
    )
    response.headers["Content-Type"] = PROBLEM_MEDIA_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_dict(error: KBServiceError) -> dict[str, Any]:
    """The problem body of a domain error, for embedding (e.g. per-system batch errors)."""
    body: dict[str, Any] = {
        "type": _TYPE_BASE + _slug(error.title),
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    if error.errors:
        body["errors"] = error.errors
    return body


def _slug(title: str) -> str:
    return title.lower().replace(" ", "-")


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested error dict into `{"systems.3.service_pack": [...]}`."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, path))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_body": list(messages)}
    return {prefix or "_body": [str(messages)]}


def _strip_location(messages: Mapping[str, Any]) -> Mapping[str, Any]:
    # webargs nests errors under their location ("json", "query"); field paths read
    # better without it, and the location is evident from the request.
    if len(messages) == 1:
        (only,) = messages.values()
        if isinstance(only, Mapping):
            return only
        return {"_body": only}
    merged: dict[str, Any] = {}
    for value in messages.values():
        if isinstance(value, Mapping):
            merged.update(value)
    return merged


def handle_domain_error(error: KBServiceError) -> Response:
    """Map a domain exception to its problem response."""
    body = problem_dict(error)
    return problem_response(
        error.status,
        error.title,
        error.detail,
        errors=error.errors,
        problem_type=body["type"],
        headers=error.headers,
    )


def internal_error() -> Response:
    """The one 500 response: it names nothing of the failure (the log has it)."""
    return problem_response(
        500, "Internal server error", "The server could not complete the request."
    )


def handle_http_exception(error: HTTPException) -> Response:
    """Map werkzeug/webargs HTTP errors (404, 405, 413, 422 …) to problem responses."""
    status = error.code or 500
    if status >= 500:
        original = getattr(error, "original_exception", None)
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
        return internal_error()
    data = getattr(error, "data", None) or {}
    errors = None
    if "messages" in data:
        errors = flatten_errors(_strip_location(data["messages"]))
    detail = data.get("message") or error.description or error.name
    headers: dict[str, str] = dict(data.get("headers") or {})
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        headers["Allow"] = ", ".join(allowed)
    if status == 422 and errors:
        detail = "The request has invalid fields: " + ", ".join(sorted(errors)) + "."
    if status == 400 and errors and "_body" in errors:
        detail = "; ".join(errors["_body"])
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        detail = f"The request body exceeds the limit of {limit} bytes."
    return problem_response(status, error.name, detail, errors=errors, headers=headers)
