"""Plain single-system applicability requests answered in front of Flask.

`POST /api/v1/applicability` with `{"system": {...}}` against the whole corpus is what
inventory systems send most. Through Flask, routing, webargs and marshmallow parsing
and the response object cost about as much as evaluating the corpus. This fast path
(see fastpath.FastPath) parses the body with the API's own JSON parser
(jsonin.load_json) and takes the view's domain steps (api/applicability.check_one)
with the same functions, so it writes the same bytes.

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

from ..applicability.index import assess, judged
from ..articles.locales import negotiate
from ..catalog.facts import FactsValidationError, normalize_system
from ..contract.jsonin import UnsafeJSON, load_json
from ..http.context import catalog_of, get_stamp_reader_of, rule_index_of
from ..http.jsonout import FastJSONProvider
from ..http.observability import count_verdicts
from .answers import system_answer
from .applicability import RESULTS_SETTING
from .fastpath import Answer, FastPath

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

PATH = "/api/v1/applicability"
# One system's facts are a few hundred bytes; bigger bodies are rare enough for Flask.
_MAX_BODY = 64 * 1024
# The longest `locale` ApplicabilityRequestSchema accepts.
_MAX_LOCALE = 35
_SCALARS = (str, int, float, bool, type(None))


class FastApplicability(FastPath):
    """Whole-corpus verdicts for one system without entering Flask."""

    method = "POST"
    endpoint = "applicability.check_one"

    def __init__(self, wsgi_app: WSGIApplication, app: Flask) -> None:
        super().__init__(wsgi_app, app)
        self._stamps = get_stamp_reader_of(app)
        self._locales = tuple(app.config["LOCALES"])
        limit = app.config["MAX_CONTENT_LENGTH"]
        self._max_body = _MAX_BODY if limit is None else min(limit, _MAX_BODY)
        self._max_depth = app.config["MAX_JSON_DEPTH"]

    def answer(self, environ: WSGIEnvironment) -> Answer | None:
        if (
            environ.get("PATH_INFO") != PATH
            or environ.get("QUERY_STRING")
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
        except FactsValidationError:
            return None  # Flask answers the 422 naming the fields
        index = rule_index_of(self.app, stamps.revision)
        if judged(index, system) > self.app.config[RESULTS_SETTING]:
            return None  # Flask answers the 413 naming the limit
        results = assess(index, system)
        count_verdicts([item.verdict.value for item in results])
        json = self.app.json
        assert isinstance(json, FastJSONProvider)
        payload = json.response_bytes({"locale": locale, **system_answer(system, results, locale)})
        # Exactly the headers of the view's `localize(jsonify(...))`.
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Content-Language", locale),
            ("Vary", "Accept-Language"),
        ]
        return "200 OK", headers, payload

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
