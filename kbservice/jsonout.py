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
        if self._app.debug or self.compact is False:
            return super().response(*args, **kwargs)  # indented output: the standard path
        obj = self._prepare_response_obj(args, kwargs)
        fast = self._fast(obj)
        if fast is None:
            return super().response(obj)
        return self._app.response_class(fast + b"\n", mimetype=self.mimetype)

    def _fast(self, obj: Any) -> bytes | None:
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            return None


def init_json(app: Flask) -> None:
    """Serialize the app's JSON with FastJSONProvider."""
    app.json = FastJSONProvider(app)
