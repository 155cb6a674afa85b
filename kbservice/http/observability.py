"""Request ids, one structured log line per request, and the Prometheus metrics."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, g, has_app_context

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("kbservice.requests")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Set in the WSGI environ by a view whose body does its work while it is sent (a batch):
# the middlewares follow such a body to its end instead of stopping at its head.
STREAMED = "kbservice.streamed"
# Label values must not be chosen by clients (each new one is a new time series, kept
# for the life of the process): any other method is counted as "other".
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"))
_lock = threading.Lock()


@dataclass(frozen=True)
class Metrics:
    """The process's metric families (shared by every app in the process)."""

    requests: Any
    latency: Any
    verdicts: Any
    listeners: Any
    compiled_rules: Any


_metrics: Metrics | None = None


def metrics() -> Metrics:
    """Create the metric families once per process."""
    global _metrics
    with _lock:
        if _metrics is None:
            # Imported late: prometheus_client picks multiprocess mode at import time,
            # and `kbservice serve` sets PROMETHEUS_MULTIPROC_DIR before the app exists.
            from prometheus_client import Counter, Gauge, Histogram

            _metrics = Metrics(
                requests=Counter(
                    "kb_http_requests",
                    "HTTP requests by endpoint, method and status",
                    ["endpoint", "method", "status"],
                ),
                latency=Histogram(
                    "kb_http_request_duration_seconds",
                    "Request latency by endpoint",
                    ["endpoint"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
                ),
                verdicts=Counter("kb_verdicts", "Applicability verdicts given", ["verdict"]),
                # Summed over live worker processes: how many hear change notifications.
                listeners=Gauge(
                    "kb_change_listeners_connected",
                    "Processes listening for change notifications (KB_FRESHNESS=notify)",
                    multiprocess_mode="livesum",
                ),
                # Summed over live worker processes: the memory their rule caches hold.
                compiled_rules=Gauge(
                    "kb_compiled_rules_kept",
                    "Compiled article rules kept by worker processes (KB_RULE_CACHE_ENTRIES each)",
                    multiprocess_mode="livesum",
                ),
            )
        return _metrics


def count_verdicts(verdicts: list[str]) -> None:
    """Add applicability verdicts to the verdict counter."""
    counter = metrics().verdicts
    # One increment per distinct verdict: a 1000-system batch would otherwise pay
    # thousands of (multiprocess, file-backed) counter updates.
    for verdict, count in Counter(verdicts).items():
        counter.labels(verdict).inc(count)


def record_listener_state(listening: bool) -> None:
    """Called by changes.ChangeListener when it connects (True) or loses its connection."""
    metrics().listeners.set(1 if listening else 0)


def record_compiled_rules(kept: int) -> None:
    """Called by applicability.compiled.CompiledRules when it keeps more or fewer rules."""
    metrics().compiled_rules.set(kept)


class RequestObserver:
    """WSGI middleware: request id, metrics and one JSON log line for every response.

    Working on the WSGI environ and header list instead of Flask hooks keeps this at a
    few microseconds per request; the endpoint comes from the Flask request object that
    werkzeug records in the environ.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else os.urandom(16).hex()
        # A streamed body's (status, endpoint, user), known while Flask still has the request.
        answered: list[tuple[str, str, str | None]] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append(("X-Request-ID", request_id))
            if environ.get(STREAMED):
                # Recorded when the body ends; the route and who asked are known only now.
                principal = g.get("principal") if has_app_context() else None
                endpoint = _endpoint(environ)
                answered[:] = [(status, endpoint, getattr(principal, "name", None))]
            else:
                self._record(environ, status, time.perf_counter() - started, request_id)
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        if not environ.get(STREAMED):
            return body
        return self._followed(body, environ, started, request_id, answered)

    def _followed(
        self,
        body: Iterable[bytes],
        environ: WSGIEnvironment,
        started: float,
        request_id: str,
        answered: list[tuple[str, str, str | None]],
    ) -> Iterator[bytes]:
        """A streamed body, recorded once its last byte is written (or it is abandoned)."""
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            if answered:
                status, endpoint, user = answered[0]
                elapsed = time.perf_counter() - started
                self._record(environ, status, elapsed, request_id, endpoint, user)

    def _record(
        self,
        environ: WSGIEnvironment,
        status: str,
        elapsed: float,
        rid: str,
        endpoint: str | None = None,
        user: str | None = None,
    ) -> None:
        endpoint = endpoint or _endpoint(environ)
        method = environ.get("REQUEST_METHOD", "")
        code = status.split(" ", 1)[0]
        # The endpoint is one of the app's routes or "unmatched"; the status is the app's.
        key = (endpoint, method if method in _METHODS else "other", code)
        children = self._children.get(key)
        if children is None:
            family = metrics()
            children = (family.requests.labels(*key), family.latency.labels(endpoint))
            self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            # Never the Authorization header or the body: tokens and facts stay out of logs.
            # json.dumps escapes every control character and all non-ASCII (U+2028 too),
            # so a client's path or method cannot break the line.
            if user is None and has_app_context():
                user = getattr(g.get("principal"), "name", None)
            log.info(
                json.dumps(
                    {
                        "request_id": rid,
                        "method": method,
                        "path": _logged_path(environ),
                        "endpoint": endpoint,
                        "status": int(code),
                        "duration_ms": round(elapsed * 1000, 2),
                        "remote_addr": environ.get("REMOTE_ADDR"),
                        "user": user,
                    }
                )
            )


# Path parameters that are personal data (a registered system's id is often a host
# name): a path holding one is logged as its route, `/api/v1/systems/<system_id:system_id>`.
PRIVATE_PATH_ARGUMENTS = frozenset({"system_id"})


def _logged_path(environ: WSGIEnvironment) -> str:
    rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
    if rule is not None and PRIVATE_PATH_ARGUMENTS & rule.arguments:
        return rule.rule
    return environ.get("PATH_INFO", "")


def _endpoint(environ: WSGIEnvironment) -> str:
    return environ.get("kbservice.endpoint") or _flask_endpoint(environ)


def _flask_endpoint(environ: WSGIEnvironment) -> str:
    # Werkzeug records the request object in the environ; Flask sets its url_rule.
    rule = getattr(environ.get("werkzeug.request"), "url_rule", None)
    return rule.endpoint if rule is not None else "unmatched"


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format (every worker's, under `kbservice serve`)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def init_observability(app: Flask) -> None:
    """Request ids, request logs and metrics (api/metrics.py serves them)."""
    metrics()
    app.wsgi_app = RequestObserver(app.wsgi_app)  # type: ignore[method-assign]
