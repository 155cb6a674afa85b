"""Flask's JSON provider, serializing responses with orjson.

Response bodies are kbservice's hottest serialization (an applicability answer is ~7 KB
of nested results); orjson writes them several times faster than the standard library.
The output keeps Flask's conventions as configured here — UTF-8 without escapes, keys in
insertion order, compact separators, a trailing newline — and whatever orjson does not
handle the same way (dates, dataclasses, integers beyond 64 bits) takes the standard path.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider

# Types Flask renders its own way (HTTP dates, dataclasses as dicts) go to its `default`.
_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)


class FastJSONProvider(DefaultJSONProvider):
    """DefaultJSONProvider whose compact responses (`jsonify`) are written by orjson."""

    ensure_ascii = False
    sort_keys = False

    def response(self, *args: Any, **kwargs: Any) -> Response:
        body = self.response_bytes(self._prepare_response_obj(args, kwargs))
        return self._app.response_class(body, mimetype=self.mimetype)

    def response_bytes(self, obj: Any) -> bytes:
        """The body `response` (and so `jsonify`) writes for `obj`."""
        if self._app.debug or self.compact is False:
            return f"{self.dumps(obj, indent=2)}\n".encode()  # readable: the standard path
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS) + b"\n"
        except (orjson.JSONEncodeError, TypeError):
            return f"{self.dumps(obj, separators=(',', ':'))}\n".encode()


def init_json(app: Flask) -> None:
    """Serialize the app's JSON with FastJSONProvider."""
    app.json = FastJSONProvider(app)
