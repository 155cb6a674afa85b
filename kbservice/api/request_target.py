"""Request targets with control characters are refused (400), for the API and the pages.

A NUL cannot be stored in or compared with PostgreSQL text, and a line break in a path
would end up in the request log as a line of its own. No path of ours holds a control
character; a query value may hold tab, line feed and carriage return (the check page's
textareas send one IP address per line), nothing else below U+0020 nor U+007F.

The check runs before any view (a before_request hook) and the fast lanes in front of
Flask step aside for such requests (fastpath.FastPath), so every route answers alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask, request
from werkzeug.exceptions import BadRequest

_PATH_CONTROL = re.compile("[\x00-\x1f\x7f]")
_VALUE_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# QUERY_STRING is still percent-encoded: look for the escapes of those characters too.
_QUERY_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|%(?:0[0-8BCEFbcef]|1[0-9A-Fa-f]|7[Ff])"
)


def has_control_characters(environ: Mapping[str, Any]) -> bool:
    """Whether the request's path or query string holds a character refused here."""
    return bool(
        _PATH_CONTROL.search(environ.get("PATH_INFO", ""))
        or _QUERY_CONTROL.search(environ.get("QUERY_STRING", ""))
    )


def target_errors(environ: Mapping[str, Any]) -> dict[str, list[str]] | None:
    """Errors by what holds a refused character (`path`, or the query parameter), or None."""
    found = _PATH_CONTROL.search(environ.get("PATH_INFO", ""))
    if found:
        return {"path": [_message(found.group())]}
    query = environ.get("QUERY_STRING", "")
    if not _QUERY_CONTROL.search(query):
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if found := _VALUE_CONTROL.search(name):
            return {_visible(name): [_message(found.group()) + " in its name"]}
        if found := _VALUE_CONTROL.search(value):
            return {name: [_message(found.group())]}
    # Not a parameter as parse_qsl splits them, yet in the query all the same.
    return {"query": ["must not contain control characters"]}


def _message(character: str) -> str:
    return f"must not contain the control character U+{ord(character):04X}"


def _visible(text: str) -> str:
    """`text` with its control characters written as escapes, fit for an error key."""
    return _VALUE_CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


class ControlCharacters(BadRequest):
    """A 400 naming the path or query parameter with a control character."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        names = ", ".join(sorted(errors))
        super().__init__(f"A control character in the request target: {names}.")
        # Read by api/problems.handle_http_exception, as webargs' errors are.
        self.data = {"messages": {"target": errors}}


def init_request_target(app: Flask) -> None:
    """Refuse requests whose path or query string holds a control character."""

    @app.before_request
    def refuse_control_characters() -> None:
        errors = target_errors(request.environ)
        if errors is not None:
            raise ControlCharacters(errors)
