"""kbservice: versioned, localized knowledge-base articles with applicability rules."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .config import build_config
from .http import context
from .http.jsonout import init_json
from .http.logs import configure_logging
from .storage.db import Database

__version__ = "0.1.0"


def default_database_url(instance_path: str) -> str:
    """An SQLite file in the instance folder."""
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'kbservice.sqlite3'}"


def create_app(
    config: Mapping[str, Any] | None = None, *, database: Database | None = None
) -> Flask:
    """Build the WSGI application from defaults, `KB_*` environment variables and `config`."""
    app = Flask(__name__, instance_relative_config=True)
    settings = build_config(config)
    if not settings["DATABASE_URL"]:
        settings["DATABASE_URL"] = default_database_url(app.instance_path)
    app.config.update(settings)
    app.config.update(
        API_TITLE="kbservice",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/assets/",
    )
    init_json(app)
    configure_logging(app.config["LOG_LEVEL"])

    context.init_app(app, database)

    from .api import register_api
    from .http.observability import init_observability
    from .http.ratelimit import init_rate_limit

    register_api(app)
    init_rate_limit(app)
    init_observability(app)
    from .web import init_web

    init_web(app)
    return app
