"""Plain answers (status, headers, body), built once for a view and for its fast lane.

A fast lane (api/fastpath.py) writes such an answer straight to WSGI; the view turns
the same answer into a Flask response. Both take their headers from the builders here,
so the two paths cannot drift apart.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import Response
from werkzeug.http import HTTP_STATUS_CODES, quote_etag


class PlainAnswer(NamedTuple):
    """A complete answer: HTTP status code, headers in order, body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status_line(self) -> str:
        """The WSGI status line, spelled as werkzeug spells it."""
        return f"{self.status} {HTTP_STATUS_CODES[self.status].upper()}"


def json_answer(body: bytes, *, locale: str | None, etag: str | None = None) -> PlainAnswer:
    """200 with a JSON body in `locale` (None: in none), and its strong ETag when it has one."""
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if etag is not None:
        headers.append(("ETag", quote_etag(etag)))
    if locale is not None:
        headers.append(("Content-Language", locale))
        headers.append(("Vary", "Accept-Language"))
    return PlainAnswer(200, headers, body)


def not_modified(etag: str) -> PlainAnswer:
    """304 for a conditional GET whose If-None-Match named `etag`."""
    return PlainAnswer(304, [("ETag", quote_etag(etag)), ("Vary", "Accept-Language")], b"")


def to_response(answer: PlainAnswer) -> Response:
    """The view's Flask response for `answer`."""
    return Response(answer.body, status=answer.status, headers=answer.headers)
