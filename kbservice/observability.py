"""Request ids, one structured log line per request, and Prometheus metrics at /metrics."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request

log = logging.getLogger("kbservice.requests")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_lock = threading.Lock()


@dataclass(frozen=True)
class Metrics:
    """The process's metric families (shared by every app in the process)."""

    requests: Any
    latency: Any
    verdicts: Any


_metrics: Metrics | None = None


def metrics() -> Metrics:
    """Create the metric families once per process."""
    global _metrics
    with _lock:
        if _metrics is None:
            # Imported late: prometheus_client picks multiprocess mode at import time,
            # and `kbservice serve` sets PROMETHEUS_MULTIPROC_DIR before the app exists.
            from prometheus_client import Counter, Histogram

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
            )
        return _metrics


def count_verdicts(verdicts: list[str]) -> None:
    """Add applicability verdicts to the verdict counter."""
    counter = metrics().verdicts
    # One increment per distinct verdict: a 1000-system batch would otherwise pay
    # thousands of (multiprocess, file-backed) counter updates.
    for verdict, count in Counter(verdicts).items():
        counter.labels(verdict).inc(count)


def _start() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish(response: Response) -> Response:
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    endpoint = request.endpoint or "unmatched"
    response.headers["X-Request-ID"] = g.get("request_id", "")
    family = metrics()
    family.requests.labels(endpoint, request.method, str(response.status_code)).inc()
    family.latency.labels(endpoint).observe(elapsed)
    if log.isEnabledFor(logging.INFO):
        # Never the Authorization header or the body: tokens and facts stay out of logs.
        log.info(
            json.dumps(
                {
                    "request_id": g.get("request_id"),
                    "method": request.method,
                    "path": request.path,
                    "endpoint": endpoint,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                    "remote_addr": request.remote_addr,
                    "user": getattr(g.get("principal"), "name", None),
                }
            )
        )
    return response


def _metrics_view() -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_observability(app: Flask) -> None:
    """Request ids, request logs and the /metrics endpoint."""
    metrics()
    app.before_request(_start)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", _metrics_view)
