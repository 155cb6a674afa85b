"""The fast lane of single-system applicability requests (see fastpath.FastPath).

`POST /api/v1/applicability` with `{"system": {...}}` against the whole corpus is what
inventory systems send most. Through Flask, routing, webargs and marshmallow parsing
and the response object cost about as much as evaluating the corpus. This lane parses
the body with the API's own JSON parser (jsonin.load_json), normalizes the facts with
the view's function and answers with the view's applicability.one_system_answer.

It answers only what it fully understands: a JSON object body of at most 64 KiB sent
as `application/json`, holding `system` (an object whose values are scalars or lists
of scalars) and optionally `locale` — no query string, `articles` or `explain`, no
Origin header, facts that pass validation, an answer within the results budget
(KB_MAX_APPLICABILITY_RESULTS). Everything else, invalid input included, is answered
by Flask, with its problem responses.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from flask import Flask

from ..articles.locales import negotiate
from ..catalog.facts import FactsValidationError, normalize_system
from ..contract.jsonin import UnsafeJSON, load_json
from ..contract.schemas import ApplicabilityRequestSchema, max_length
from ..errors import TooLarge
from ..http.context import catalog_of, get_stamp_reader_of, rule_index_of
from ..http.plain import PlainAnswer
from .applicability import one_system_answer
from .fastpath import FastPath

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

# One system's facts are a few hundred bytes; bigger bodies are rare enough for Flask.
_MAX_BODY = 64 * 1024
_MAX_LOCALE = max_length(ApplicabilityRequestSchema, "locale")
_SCALARS = (str, int, float, bool, type(None))


class FastApplicability(FastPath):
    """Whole-corpus verdicts for one system without entering Flask."""

    endpoint = "applicability.check_one"
    method = "POST"

    def __init__(self, wsgi_app: WSGIApplication, app: Flask) -> None:
        super().__init__(wsgi_app, app)
        self._stamps = get_stamp_reader_of(app)
        self._locales = tuple(app.config["LOCALES"])
        limit = app.config["MAX_CONTENT_LENGTH"]
        self._max_body = _MAX_BODY if limit is None else min(limit, _MAX_BODY)
        self._max_depth = app.config["MAX_JSON_DEPTH"]

    def answer(self, environ: WSGIEnvironment, arguments: dict[str, Any]) -> PlainAnswer | None:
        if (
            environ.get("QUERY_STRING")
            or environ.get("CONTENT_TYPE") != "application/json"
            or "HTTP_ORIGIN" in environ
        ):
            return None
        body = self._read_body(environ)
        if body is None:
            return None
        try:
            document = load_json(body, self._max_depth)
        except UnsafeJSON:
            return None  # Flask answers the 400 saying what is wrong
        plain = _plain_request(document)
        if plain is None:
            return None
        raw_system, requested_locale = plain
        locale = negotiate(
            requested_locale, environ.get("HTTP_ACCEPT_LANGUAGE"), self._locales, self._locales[0]
        )
        stamps = self._stamps.stamps()
        try:
            system = normalize_system(raw_system, catalog_of(self.app, stamps.catalog))
            index = rule_index_of(self.app, stamps.revision)
            return one_system_answer(self.app, index, system, None, explain=False, locale=locale)
        except (FactsValidationError, TooLarge):
            return None  # Flask answers the 422 naming the fields, or the 413 naming the limit

    def _read_body(self, environ: WSGIEnvironment) -> bytes | None:
        """The request body, left readable for Flask; None when it is not a plain one."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None  # no declared length (chunked) or a bad one: Flask decides
        if not 0 < length <= self._max_body:
            return None
        try:
            body: bytes = environ["wsgi.input"].read(length)
        except OSError:
            return None  # a stalled body: Flask reads on and answers (408)
        # Flask reads the body again if it answers after all.
        environ["wsgi.input"] = io.BytesIO(body)
        return body if len(body) == length else None


def _plain_request(document: Any) -> tuple[dict[str, Any], str | None] | None:
    """(system, locale) when the body is a plain single-system request, else None."""
    if not isinstance(document, dict) or not document.keys() <= {"system", "locale"}:
        return None
    system = document.get("system")
    if not isinstance(system, dict) or not all(map(_plain_value, system.values())):
        return None
    if "locale" not in document:
        return system, None
    locale = document["locale"]
    if not isinstance(locale, str) or len(locale) > _MAX_LOCALE:
        return None  # null, too long: the schema's 422
    return system, locale


def _plain_value(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(item, _SCALARS) for item in value)
    return isinstance(value, _SCALARS)
