"""The REST API under /api/v1: one blueprint per resource."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Flask, abort, request, send_from_directory

from .base import init_api
from .fast_applicability import FastApplicability
from .fastpath import CachedArticles, CachedSearches
from .hardening import init_hardening
from .metrics import init_metrics
from .request_target import init_request_target
from .serving import init_serving

_SWAGGER_ASSETS = Path(flask_swagger_ui.__file__).resolve().parent / "dist"


def register_api(app: Flask) -> None:
    """Register every API blueprint and the locally served docs assets on `app`."""
    from . import (
        applicability,
        articles,
        changes,
        drafts,
        editing,
        exports,
        history,
        meta,
        search,
        systems,
        webhooks,
    )

    # Before the blueprints: their routes use it.
    app.url_map.converters["system_id"] = systems.SystemIdConverter
    api = init_api(app)
    api.register_converter(systems.SystemIdConverter, systems.system_id_parameter)
    init_serving(app)
    # Innermost of the WSGI middlewares: security headers and request ids wrap it.
    app.wsgi_app = CachedArticles(app.wsgi_app, app)  # type: ignore[method-assign]
    app.wsgi_app = CachedSearches(app.wsgi_app, app)  # type: ignore[method-assign]
    app.wsgi_app = FastApplicability(app.wsgi_app, app)  # type: ignore[method-assign]
    # Outside the fast paths: a metrics listener of its own must not answer articles.
    init_metrics(app)
    init_hardening(app)
    init_request_target(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "kbservice API token"}
    )
    for blueprint in (
        meta.blp,
        articles.blp,
        exports.blp,
        editing.blp,
        drafts.blp,
        history.blp,
        applicability.blp,
        search.blp,
        systems.blp,
        webhooks.blp,
        changes.blp,
    ):
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    exports.check_config(app.config)

    @app.before_request
    def refuse_oversized_bodies() -> None:
        # Refuse by the declared length before any view reads the body, on every route.
        limit = app.config["MAX_CONTENT_LENGTH"]
        if limit is not None and (request.content_length or 0) > limit:
            abort(413)

    # Helpdesk networks are often offline: serve the Swagger UI assets from the package.
    @app.get("/api/v1/docs/assets/<path:filename>")
    def docs_assets(filename: str):  # type: ignore[no-untyped-def]
        return send_from_directory(_SWAGGER_ASSETS, filename, max_age=86400)
