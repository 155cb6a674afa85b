"""Plain requests answered in front of Flask: the base, and cached article GETs.

Routing, argument parsing and the response object of the full Flask path cost as much
as the work itself on the hottest endpoints. A `FastPath` middleware answers only the
requests it fully understands and passes everything else — unusual input, errors,
database trouble, anything it is unsure of — to Flask unchanged. Both paths call the
same functions for the work and produce the same status, headers and body (tests
compare them byte for byte).

`CachedArticles` answers plain article GETs through the rendered-article cache. A
cached article GET needs one query (the article's current revision and the catalog
stamp) and a dictionary lookup; a miss adds one query for the revision's rows and the
rendering. It answers only `GET /api/v1/articles/<kb>` with at most `?locale=`, no CORS
request, an existing article; an unknown article (404) goes to Flask.

Fast paths sit inside the observability and security-header middlewares, so request
ids, metrics, logs and security headers are the same for both paths.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl

from flask import Flask
from sqlalchemy.exc import DBAPIError
from werkzeug.http import parse_etags, quote_etag

from ..articles.locales import negotiate
from ..articles.reading import normalize_kb
from ..storage.db import utcnow
from .rendered import Rendered
from .request_target import has_control_characters
from .serving import find_current, rendering

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

Answer = tuple[str, list[tuple[str, str]], bytes]

_ARTICLE_PATH = re.compile(r"/api/v1/articles/([^/]+)")
# The longest `?locale=` LocaleQuerySchema accepts; longer ones get the full path's 422.
_MAX_LOCALE = 35
_NO_LOCALE = ""


class FastPath:
    """WSGI middleware answering plain `method` requests itself, the rest through Flask.

    Subclasses implement `answer`, returning None for anything Flask should answer.
    """

    method: ClassVar[str]
    # The Flask endpoint answering the same requests, for metrics and the request log.
    endpoint: ClassVar[str]

    def __init__(self, wsgi_app: WSGIApplication, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        # With a rate limit (ratelimit.py) every request must reach Flask to be counted.
        self.enabled = not app.config["RATE_LIMIT"]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        answer = None
        # Flask answers a control character in the target with its 400 (request_target).
        if (
            self.enabled
            and environ.get("REQUEST_METHOD") == self.method
            and not has_control_characters(environ)
        ):
            try:
                answer = self.answer(environ)
            except DBAPIError:
                answer = None  # the full path answers database trouble (503)
            except Exception:
                # A bug here must not cost the client its answer: Flask's path has its
                # own handling (and will most likely report the same bug as a problem).
                log.exception("%s fast path failed; answering through Flask", self.endpoint)
                answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        environ["kbservice.endpoint"] = self.endpoint
        start_response(status, headers)
        return [body]

    def answer(self, environ: WSGIEnvironment) -> Answer | None:
        """Status, headers and body, or None to let Flask answer."""
        raise NotImplementedError


class CachedArticles(FastPath):
    """Cached article representations without entering Flask."""

    method = "GET"
    endpoint = "articles.get_article"

    def __init__(self, wsgi_app: WSGIApplication, app: Flask) -> None:
        super().__init__(wsgi_app, app)
        self._locales = tuple(app.config["LOCALES"])

    def answer(self, environ: WSGIEnvironment) -> Answer | None:
        match = _ARTICLE_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or "HTTP_ORIGIN" in environ:
            return None
        requested = _locale_parameter(environ.get("QUERY_STRING", ""))
        number = normalize_kb(match.group(1))
        if requested is None or number is None:
            return None
        current = find_current(self.app, number)
        if current is None:
            return None
        locale = negotiate(
            requested or None,
            environ.get("HTTP_ACCEPT_LANGUAGE"),
            self._locales,
            current.source_locale,
        )
        rendered = rendering(self.app, current, locale, utcnow().date())
        return _parts(rendered, environ.get("HTTP_IF_NONE_MATCH"))


def _locale_parameter(query: str) -> str | None:
    """The `?locale=` value ("" if absent), or None when the query holds anything else."""
    if not query:
        return _NO_LOCALE
    pairs = parse_qsl(query, keep_blank_values=True)
    if len(pairs) != 1 or pairs[0][0] != "locale" or len(pairs[0][1]) > _MAX_LOCALE:
        return None
    return pairs[0][1]


def _parts(rendered: Rendered, if_none_match: str | None) -> Answer:
    # Exactly what serving._respond's Response gives (werkzeug drops Content-Type,
    # Content-Length and Content-Language from a 304).
    etag = quote_etag(rendered.etag)
    if if_none_match and parse_etags(if_none_match).contains(rendered.etag):
        return "304 NOT MODIFIED", [("ETag", etag), ("Vary", "Accept-Language")], b""
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(rendered.body))),
        ("ETag", etag),
        ("Content-Language", rendered.locale),
        ("Vary", "Accept-Language"),
    ]
    return "200 OK", headers, rendered.body
