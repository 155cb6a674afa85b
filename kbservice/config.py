"""Configuration: defaults, then `KB_`-prefixed environment variables, then overrides."""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

_MIB = 1024 * 1024

# The seed files (product catalog, articles) installed inside the package: `kbservice/_seeds`
# is the repository's seeds/ folder (a symbolic link), copied into wheels by the build.
PACKAGED_SEEDS = Path(str(files(__package__) / "_seeds"))

DEFAULTS: dict[str, Any] = {
    # None means "an SQLite file in the instance folder" (resolved in create_app).
    "DATABASE_URL": None,
    # Optional read-only URL (e.g. a streaming replica) for the public read endpoints.
    "READ_DATABASE_URL": None,
    "LOCALES": ("ja", "en"),
    "MAX_CONTENT_LENGTH": 10 * _MIB,
    "MAX_BATCH_SYSTEMS": 5000,
    # Results one applicability request may give: systems × articles each is judged against.
    "MAX_APPLICABILITY_RESULTS": 200_000,
    "MAX_PER_PAGE": 100,
    "MAX_QUERY_LENGTH": 2000,
    "MAX_RULE_DEPTH": 32,
    "MAX_RULE_NODES": 1000,
    # Items of one array operand of a rule (`in_cidr`, `in`, `product`, ...).
    "MAX_RULE_LIST_ITEMS": 1000,
    # A rule document as compact UTF-8 JSON.
    "MAX_RULE_BYTES": 64 * 1024,
    "MAX_JSON_DEPTH": 64,
    # Per worker process: rendered article bodies kept for conditional and repeat GETs.
    "ARTICLE_CACHE_MB": 16,
    # Per worker process: compiled article rules kept (about 5 KB each); the others are
    # compiled again from the database when a request judges them.
    "RULE_CACHE_ENTRIES": 10_000,
    # Per worker process: a full garbage collection runs at most once per this many
    # young (generation-1) collections; Python's default is 10. Kept rules are long-lived
    # objects the collector walks in full each time: ≈ 0.3 s of CPU at 20,000 rules.
    "GC_FULL_EVERY": 1000,
    # How caches learn of changes: "query" asks the database on every request; "notify"
    # (the default) asks only after a change signal (changes.py).
    "FRESHNESS": "notify",
    # With "notify": remembered values are asked again after this many seconds anyway.
    "FRESHNESS_MAX_AGE": 1.0,
    # With "notify": the folder of the counter this host's processes share.
    "RUNTIME_DIR": None,
    # With "notify" on PostgreSQL: where the listener connects when not to DATABASE_URL
    # (it needs a session of its own on the primary, which PgBouncer's transaction
    # pooling lacks).
    "LISTEN_DATABASE_URL": None,
    "SEEDS_DIR": str(PACKAGED_SEEDS),
    "LOG_LEVEL": "INFO",
    # Signs the web UI's session cookies; set it when several workers or servers serve.
    "SECRET_KEY": None,
    # Send the session cookie over HTTPS only: set it when clients reach kbservice by TLS.
    "SESSION_COOKIE_SECURE": False,
    # An editor's web session ends after this many minutes without a request ...
    "SESSION_IDLE_MINUTES": 60.0,
    # ... and this many hours after signing in, however busy.
    "SESSION_MAX_HOURS": 8.0,
    "CORS_ORIGINS": (),
    # Who may read /metrics: "token" (any valid API token), "public", or "off" (404).
    "METRICS": "token",
    # "IP:port" of a listener of its own for /metrics (that listener answers nothing else).
    "METRICS_BIND": None,
    # `kbservice serve`: a request running longer is stopped and answered 503 (seconds).
    "REQUEST_TIMEOUT": 30.0,
    # `kbservice serve`: a request head (line and headers) must arrive within this many
    # seconds, or the connection is answered 408 and closed.
    "CLIENT_TIMEOUT": 5.0,
    # Requests per client address, e.g. "100/second;2000/minute"; None: no limit
    # (a proxy in front limits instead, docs/deployment.md).
    "RATE_LIMIT": None,
    # Where rate-limit counters live: memory:// counts per worker process; a shared
    # store (e.g. redis://host:6379) counts across workers and servers.
    "RATE_LIMIT_STORAGE": "memory://",
    # Answer plain article GETs and single-system checks in front of Flask (api/fastpath.py);
    # off, every request takes the views (same answers, more CPU per request).
    "FAST_LANES": True,
    # Exports (docs/exports.md): the publisher a CSAF advisory names, and its namespace
    # (an absolute URL; None: the server's own base URL) ...
    "CSAF_PUBLISHER_NAME": "kbservice",
    "CSAF_PUBLISHER_NAMESPACE": None,
    # ... and the namespace of OVAL ids (`oval:<namespace>:def:885348`).
    "OVAL_NAMESPACE": "kbservice",
    # Webhook deliveries (docs/notifications.md): seconds one POST may take in all ...
    "WEBHOOK_TIMEOUT": 10.0,
    # ... the wait after a first failed attempt, doubled after each further one, up to ...
    "WEBHOOK_RETRY_BASE": 10.0,
    "WEBHOOK_RETRY_MAX": 3600.0,
    # ... failed attempts in a row after which a webhook is disabled until an admin
    # enables it again ...
    "WEBHOOK_MAX_FAILURES": 20,
    # ... webhooks one delivery process sends to at once (threads, and connections per host) ...
    "WEBHOOK_CONCURRENCY": 4,
    # ... and how often an idle delivery process looks for due deliveries (seconds).
    "WEBHOOK_POLL": 1.0,
    # `kbservice serve` runs a delivery process beside gunicorn; turn it off when
    # `kbservice worker` processes deliver instead.
    "DELIVER_IN_SERVE": True,
}

# Keys whose environment value is a comma-separated list, a number or a boolean.
_LIST_KEYS = {"LOCALES", "CORS_ORIGINS"}
_INT_KEYS = {
    "GC_FULL_EVERY",
    "MAX_CONTENT_LENGTH",
    "MAX_BATCH_SYSTEMS",
    "MAX_APPLICABILITY_RESULTS",
    "MAX_PER_PAGE",
    "MAX_QUERY_LENGTH",
    "MAX_RULE_DEPTH",
    "MAX_RULE_NODES",
    "MAX_RULE_LIST_ITEMS",
    "MAX_RULE_BYTES",
    "MAX_JSON_DEPTH",
    "ARTICLE_CACHE_MB",
    "RULE_CACHE_ENTRIES",
    "WEBHOOK_MAX_FAILURES",
    "WEBHOOK_CONCURRENCY",
}
_FLOAT_KEYS = {
    "FRESHNESS_MAX_AGE",
    "SESSION_IDLE_MINUTES",
    "SESSION_MAX_HOURS",
    "REQUEST_TIMEOUT",
    "CLIENT_TIMEOUT",
    "WEBHOOK_TIMEOUT",
    "WEBHOOK_RETRY_BASE",
    "WEBHOOK_RETRY_MAX",
    "WEBHOOK_POLL",
}
_BOOL_KEYS = {"SESSION_COOKIE_SECURE", "FAST_LANES", "DELIVER_IN_SERVE"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_BOOLS = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}


class ConfigError(ValueError):
    """A configuration value cannot be used."""


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the settings given as `KB_*` environment variables, typed."""
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    for key in DEFAULTS:
        raw = environ.get(f"KB_{key}")
        if raw is None or raw == "":
            continue
        if key in _LIST_KEYS:
            settings[key] = tuple(part.strip() for part in raw.split(",") if part.strip())
        elif key in _INT_KEYS:
            try:
                settings[key] = int(raw)
            except ValueError as exc:
                raise ConfigError(f"KB_{key} must be an integer, got {raw!r}") from exc
        elif key in _BOOL_KEYS:
            flag = _BOOLS.get(raw.strip().lower())
            if flag is None:
                raise ConfigError(f"KB_{key} must be true or false, got {raw!r}")
            settings[key] = flag
        elif key in _FLOAT_KEYS:
            try:
                settings[key] = float(raw)
            except ValueError as exc:
                raise ConfigError(f"KB_{key} must be a number, got {raw!r}") from exc
        else:
            settings[key] = raw
    return settings


def build_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, environment and explicit overrides (later wins)."""
    return {**DEFAULTS, **from_environment(), **(overrides or {})}
