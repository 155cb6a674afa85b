"""An optional limit on requests per client address (KB_RATE_LIMIT), with Flask-Limiter.

Off by default: the documented deployment limits clients in its proxy
(docs/deployment.md). With the limit on, the fast lanes step aside (api/fastpath.py)
so that every request passes through Flask and is counted. Counters live in
KB_RATE_LIMIT_STORAGE; with the default memory:// each worker process counts alone,
so a client may make up to (workers × limit) requests before every worker refuses.
"""

from __future__ import annotations

import math
import time

from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse_many

from ..config import ConfigError
from ..http.problems import problem_response

_UNROUTED = "kbservice.unrouted"


def init_rate_limit(app: Flask) -> None:
    """Limit requests per client address when KB_RATE_LIMIT is set."""
    limit = app.config["RATE_LIMIT"]
    if not limit:
        return
    try:
        parse_many(limit)
    except ValueError as exc:
        raise ConfigError(
            f'KB_RATE_LIMIT must look like "100/second;2000/minute", got {limit!r}'
        ) from exc
    limiter = Limiter(
        get_remote_address,
        app=app,
        # One counter per client for the whole application, not one per endpoint.
        application_limits=[limit],
        storage_uri=app.config["RATE_LIMIT_STORAGE"],
        # Flask-Limiter exempts requests no route matches; those are counted too.
        request_identifier=lambda: request.endpoint or _UNROUTED,
        # Two counters per client and window: cheap in memory, close to exact.
        strategy="sliding-window-counter",
    )

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(error: RateLimitExceeded) -> Response:
        retry_after = _seconds_until_allowed(limiter)
        return problem_response(
            429,
            "Too Many Requests",
            f"Too many requests from this client (limit: {error.description}); "
            f"retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


def _seconds_until_allowed(limiter: Limiter) -> int:
    """Whole seconds until the client may send again: at least 1, at most one window.

    Reads the window's exact reset time: RequestLimit.reset_at rounds it up by a
    whole second, which once gave "Retry-After: 61" for a one-minute limit.
    """
    current = limiter.current_limit
    if current is None:
        return 1
    reset_time, _remaining = current.window
    window = current.limit.get_expiry()
    return min(window, max(1, math.ceil(reset_time - time.time())))
