"""Fast lanes: plain requests answered in front of Flask, by the views' own functions.

Routing, argument parsing and the response object of the full Flask path cost as much
as the work itself on the hottest endpoints. A fast lane answers only the requests it
fully understands and passes everything else — unusual input, errors, database
trouble, anything it is unsure of — to Flask unchanged. A lane copies nothing from its
view: it routes with the app's `url_map`, takes its limits from the request schemas
(contract/schemas.max_length) and calls the one function the view calls for the answer
(serving.current_answer, applicability.one_system_answer), whose headers come from
http/plain.py. tests/test_fast_lanes.py sends generated requests through both paths
and compares status, headers and body.

`CachedArticles` answers plain article GETs through the rendered-article cache: only
`GET /api/v1/articles/<kb>` with at most `?locale=`, no CORS request, an existing
article; an unknown article (404) goes to Flask.

`CachedSearches` answers plain searches whose answer is cached in this process
(search/cache.py, checked against the index as the view checks it): only
`GET /api/v1/articles?q=…` with at most `&locale=` besides, a `q` that is not blank and
within KB_MAX_QUERY_LENGTH, no CORS request. A search not cached yet goes to Flask,
which computes it and keeps it for the next one.

Fast lanes sit inside the observability and security-header middlewares, so request
ids, metrics, logs and security headers are the same for both paths. KB_FAST_LANES=off
turns them off; with a rate limit every request goes through Flask to be counted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl

from flask import Flask
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter

from ..articles.locales import negotiate
from ..articles.reading import normalize_kb
from ..contract.schemas import ArticleListQuerySchema, LocaleQuerySchema, max_length
from ..http.context import get_database
from ..http.plain import PlainAnswer
from ..search.searching import cached_search
from .articles import list_answer
from .request_target import has_control_characters
from .serving import current_answer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

_MAX_LOCALE = max_length(LocaleQuerySchema, "locale")
# The environ key of the (endpoint, arguments) the first lane matched (with the request's
# method: a lane matches only requests of its own method).
_ROUTE = "kbservice.fast_route"
# The list's paging when the query names none, as the schema loads it.
_PAGE = ArticleListQuerySchema._declared_fields["page"].load_default
_PER_PAGE = ArticleListQuerySchema._declared_fields["per_page"].load_default


class FastPath:
    """WSGI middleware answering plain requests to one endpoint itself, the rest via Flask.

    Subclasses name the endpoint and implement `answer`, returning None for anything
    Flask should answer.
    """

    # The Flask endpoint whose requests the lane answers (also its name in metrics and logs).
    endpoint: ClassVar[str]
    method: ClassVar[str]

    def __init__(self, wsgi_app: WSGIApplication, app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        # With a rate limit (ratelimit.py) every request must reach Flask to be counted.
        self.enabled = app.config["FAST_LANES"] and not app.config["RATE_LIMIT"]
        self._routes: MapAdapter | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        answer = None
        # Flask answers a control character in the target with its 400 (request_target).
        if (
            self.enabled
            and environ.get("REQUEST_METHOD") == self.method
            and not has_control_characters(environ)
        ):
            try:
                arguments = self.route(environ)
                answer = None if arguments is None else self.answer(environ, arguments)
            except DBAPIError:
                answer = None  # the full path answers database trouble (503)
            except Exception:
                # A bug here must not cost the client its answer: Flask's path has its
                # own handling (and will most likely report the same bug as a problem).
                log.exception("%s fast lane failed; answering through Flask", self.endpoint)
                answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        environ["kbservice.endpoint"] = self.endpoint
        start_response(answer.status_line, answer.headers)
        return [answer.body]

    def route(self, environ: WSGIEnvironment) -> dict[str, Any] | None:
        """The view arguments when the app's url_map sends this request to `endpoint`."""
        # Matched once per request: the lanes in front pass on what they matched.
        matched = environ.get(_ROUTE)
        if matched is None:
            matched = environ[_ROUTE] = self._match(environ.get("PATH_INFO", ""))
        endpoint, arguments = matched
        return arguments if endpoint == self.endpoint else None

    def _match(self, path: str) -> tuple[str, dict[str, Any]]:
        if self._routes is None:
            # Bound on first use: the blueprints are registered after the middleware.
            self._routes = self.app.url_map.bind("localhost")
        try:
            return self._routes.match(path, self.method)  # type: ignore[no-any-return]
        except HTTPException:  # no route, another method, a redirect: Flask answers
            return "", {}

    def answer(self, environ: WSGIEnvironment, arguments: dict[str, Any]) -> PlainAnswer | None:
        """The answer, or None to let Flask answer."""
        raise NotImplementedError


class CachedArticles(FastPath):
    """Cached article representations without entering Flask."""

    endpoint = "articles.get_article"
    method = "GET"

    def answer(self, environ: WSGIEnvironment, arguments: dict[str, Any]) -> PlainAnswer | None:
        if "HTTP_ORIGIN" in environ:
            return None  # CORS headers come from Flask
        requested = _locale_parameter(environ.get("QUERY_STRING", ""))
        number = normalize_kb(arguments["kb"])
        if requested is None or number is None:
            return None
        return current_answer(
            self.app,
            number,
            requested,
            environ.get("HTTP_ACCEPT_LANGUAGE"),
            environ.get("HTTP_IF_NONE_MATCH"),
        )


class CachedSearches(FastPath):
    """Cached search answers without entering Flask."""

    endpoint = "articles.list_articles"
    method = "GET"

    def answer(self, environ: WSGIEnvironment, arguments: dict[str, Any]) -> PlainAnswer | None:
        config = self.app.config
        if "HTTP_ORIGIN" in environ or config["MAX_PER_PAGE"] < _PER_PAGE:
            return None
        plain = _search_parameters(environ.get("QUERY_STRING", ""), config["MAX_QUERY_LENGTH"])
        if plain is None:
            return None
        q, requested = plain
        locale = negotiate(requested, environ.get("HTTP_ACCEPT_LANGUAGE"), config["LOCALES"], "")
        found = cached_search(
            get_database(self.app).readers, q, locale=locale or None, page=_PAGE, per_page=_PER_PAGE
        )
        if found is None:
            return None
        return list_answer(self.app, found, _PAGE, _PER_PAGE, locale)


def _search_parameters(query: str, longest: int) -> tuple[str, str | None] | None:
    """(q, locale or None) of a plain search query string, else None."""
    pairs = parse_qsl(query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    if sorted(names) not in (["q"], ["locale", "q"]):
        return None
    values = dict(pairs)
    q, locale = values["q"], values.get("locale")
    if not q.strip() or len(q) > longest or (locale is not None and len(locale) > _MAX_LOCALE):
        return None  # the list by number, or the view's 422
    return q, locale


def _locale_parameter(query: str) -> str | None:
    """The `?locale=` value ("" if absent), or None when the query holds anything else."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    if len(pairs) != 1 or pairs[0][0] != "locale" or len(pairs[0][1]) > _MAX_LOCALE:
        return None
    return pairs[0][1]
