"""The application's database handle and the per-request session."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ..applicability.asof import AsOfIndexes
from ..applicability.compiled import CompiledRules
from ..applicability.index import RuleCache, RuleIndex
from ..articles.freshness import StampReader, Stamps
from ..catalog.products import Catalog
from ..catalog.store import CatalogCache, load_catalog
from ..config import ConfigError
from ..storage.changes import Changes, default_runtime_dir
from ..storage.db import Database, make_engine
from .observability import record_compiled_rules, record_listener_state

_EXTENSION = "kbservice.database"
_CATALOG = "kbservice.catalog"
_RULES = "kbservice.rules"
_AS_OF_RULES = "kbservice.rules_as_of"
_STAMPS = "kbservice.stamps"


def init_app(app: Flask, database: Database | None = None) -> Database:
    """Attach a Database to `app` and close each request's session at teardown."""
    if database is None:
        read_url = app.config.get("READ_DATABASE_URL")
        engine = make_engine(app.config["DATABASE_URL"])
        database = Database(
            engine, make_engine(read_url) if read_url else None, _changes(app.config, engine)
        )
    app.extensions[_EXTENSION] = database
    app.extensions[_STAMPS] = StampReader(database.readers)
    app.extensions[_CATALOG] = CatalogCache()
    app.extensions[_RULES] = RuleCache(_compiled_rules(app.config, database))
    app.extensions[_AS_OF_RULES] = AsOfIndexes()
    app.teardown_appcontext(_close_session)
    return database


def _compiled_rules(config: dict[str, Any], database: Database) -> CompiledRules:
    """The compiled rules kept per process (KB_RULE_CACHE_ENTRIES), read from the read
    database, or the primary for revisions a lagging replica lacks yet."""
    kept = config["RULE_CACHE_ENTRIES"]
    if isinstance(kept, bool) or not isinstance(kept, int) or kept < 1:
        raise ConfigError(f"KB_RULE_CACHE_ENTRIES must be a positive integer, got {kept!r}")
    sessions = (database.read_session, database.session) if database.read_engine else ()
    return CompiledRules(kept, sessions or (database.session,), record_compiled_rules)


def _changes(config: dict[str, Any], engine: Engine) -> Changes | None:
    """The change signals KB_FRESHNESS asks for (None: ask the database every time)."""
    mode = config.get("FRESHNESS") or "notify"
    if mode not in ("query", "notify"):
        raise ConfigError(f"KB_FRESHNESS must be 'query' or 'notify', got {mode!r}")
    max_age = config["FRESHNESS_MAX_AGE"]
    number = isinstance(max_age, (int, float)) and not isinstance(max_age, bool)
    if not number or not 0 <= max_age <= 3600:
        raise ConfigError(f"KB_FRESHNESS_MAX_AGE must be 0–3600 seconds, got {max_age!r}")
    listen_url = config.get("LISTEN_DATABASE_URL")
    if listen_url and engine.dialect.name != "postgresql":
        raise ConfigError("KB_LISTEN_DATABASE_URL is for PostgreSQL; SQLite has no listener")
    if mode == "query":
        return None
    runtime_dir = Path(config["RUNTIME_DIR"]) if config.get("RUNTIME_DIR") else None
    try:
        return Changes.for_engine(
            engine,
            runtime_dir or default_runtime_dir(),
            float(max_age),
            listen_url,
            record_listener_state,
        )
    except OSError as exc:
        raise ConfigError(f"KB_RUNTIME_DIR: cannot keep the host change counter: {exc}") from exc


def get_database(app: Flask | None = None) -> Database:
    """The Database of `app` (default: the current app)."""
    return (app or current_app).extensions[_EXTENSION]


def get_session() -> Session:
    """The request's read session (replica when configured), opened on first use."""
    if "db_session" not in g:
        g.db_session = get_database().read_session()
    return g.db_session


def get_primary_session() -> Session:
    """A read session on the primary, for editors who must see their own writes."""
    if "db_primary_session" not in g:
        g.db_primary_session = get_database().session()
    return g.db_primary_session


def get_stamp_reader() -> StampReader:
    """Freshness queries on the read database."""
    return get_stamp_reader_of(current_app)


def get_stamp_reader_of(app: Flask) -> StampReader:
    """The stamp reader of `app`, outside a request (for WSGI middleware)."""
    return app.extensions[_STAMPS]


def get_stamps() -> Stamps:
    """What the caches are checked against, read once per request."""
    if "stamps" not in g:
        g.stamps = get_stamp_reader().stamps()
    return g.stamps


def get_catalog() -> Catalog:
    """The product catalog, cached per application and checked once per request."""
    if "catalog" not in g:
        g.catalog = current_app.extensions[_CATALOG].get(
            get_stamps().catalog, lambda: load_catalog(get_session())
        )
    return g.catalog


def get_rule_index() -> RuleIndex:
    """Compiled rules of every article's current revision, cached per application."""
    return rule_index_of(current_app, get_stamps().revision)


def get_rule_index_as_of(when: dt.datetime) -> RuleIndex:
    """Compiled rules of each article's revision current at `when` (a slower path)."""
    stamp = get_stamps().revision
    indexes: AsOfIndexes = current_app.extensions[_AS_OF_RULES]
    return indexes.index(
        when, stamp, rule_index_of(current_app, stamp), get_database().read_session
    )


def rule_index_of(app: Flask, stamp: int) -> RuleIndex:
    """The rule index as of revision stamp `stamp`, outside a request (for WSGI middleware)."""
    cache: RuleCache = app.extensions[_RULES]
    return cache.index(stamp, get_database(app).read_session)


def primary_rule_index(stamp: int) -> RuleIndex:
    """The rule index as of `stamp`, loading changes from the primary (writers need it)."""
    cache: RuleCache = current_app.extensions[_RULES]
    return cache.index(stamp, get_database().session)


def current_rule_index(app: Flask, stamp: int) -> RuleIndex | None:
    """The rule index if it is already as of `stamp` (None: it needs a refresh first)."""
    cache: RuleCache = app.extensions[_RULES]
    return cache.current(stamp)


def catalog_of(app: Flask, stamp: object) -> Catalog:
    """The catalog for `stamp`, outside a request (for WSGI middleware)."""

    def load() -> Catalog:
        with get_database(app).read_session() as session:
            return load_catalog(session)

    return app.extensions[_CATALOG].get(stamp, load)


def warm_caches(app: Flask) -> int:
    """Build the catalog and the rule index now instead of on the first request.

    The index outlines each article's rules; none is compiled here (each worker compiles
    those its requests judge). Returns how many articles the index holds.
    """
    with app.app_context():
        get_catalog()
        return len(get_rule_index().entries)


def _close_session(_exc: BaseException | None) -> None:
    for name in ("db_session", "db_primary_session"):
        session = g.pop(name, None)
        if session is not None:
            session.close()
