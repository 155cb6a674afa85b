"""Health and product catalog endpoints."""

from __future__ import annotations

import logging

from flask import Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..contract.presenters import product_body
from ..contract.schemas import HealthSchema, ProductListSchema
from ..http.context import get_catalog, get_session
from ..http.problems import problem_response
from .base import Blueprint

log = logging.getLogger(__name__)

blp = Blueprint("meta", __name__, description="Health and the product catalog")


@blp.route("/health")
@blp.response(200, HealthSchema)
@blp.alt_response(503, description="The database does not answer")
def health() -> Response | dict[str, str]:
    """Report whether the service and its database answer."""
    try:
        get_session().execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check failed: %s", exc.__class__.__name__)
        return problem_response(503, "Service Unavailable", "The database does not answer.")
    return {"status": "ok"}


@blp.route("/products")
@blp.response(200, ProductListSchema)
def products() -> Response:
    """List the product catalog with editions, architectures, service packs and lifecycle."""
    catalog = get_catalog()
    return jsonify({"items": [product_body(product) for product in catalog.products]})
