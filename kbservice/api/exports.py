"""Exports for scanners and advisory tools: CSAF 2.0 and OVAL 5.11 (docs/exports.md)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, jsonify, request

from ..articles import reading
from ..config import ConfigError
from ..contract.schemas import LocaleQuerySchema, OvalFeedQuerySchema
from ..errors import NotFound, ValidationFailed
from ..exports.csaf import Publisher, csaf_document
from ..exports.links import Links
from ..exports.oval import oval_document, oval_feed
from ..http.context import get_catalog, get_database, get_session
from ..http.observability import STREAMED
from .base import Blueprint
from .localized import choose_locale, localize

blp = Blueprint("exports", __name__, description="Exports for scanners and advisory tools")

XML = "application/xml"
# Response schemas for the OpenAPI document: the formats have their own, published ones.
_CSAF_SCHEMA = {
    "type": "object",
    "required": ["document"],
    "description": "A CSAF 2.0 document: the OASIS CSAF 2.0 JSON schema, profile"
    " csaf_informational_advisory (docs/exports.md)",
}
_OVAL_SCHEMA = {
    "type": "string",
    "description": "An OVAL 5.11 oval_definitions document (docs/exports.md)",
}
# What OVAL allows between `oval:` and `:def:`.
_OVAL_NAMESPACE = re.compile(r"[A-Za-z0-9_\-.]+")


def check_config(config: Mapping[str, Any]) -> None:
    """Refuse export settings that would make every exported document invalid."""
    if not _OVAL_NAMESPACE.fullmatch(config["OVAL_NAMESPACE"] or ""):
        raise ConfigError(
            "KB_OVAL_NAMESPACE must be letters, digits, '_', '-' and '.',"
            f" got {config['OVAL_NAMESPACE']!r}"
        )
    namespace = config["CSAF_PUBLISHER_NAMESPACE"]
    if namespace is not None and not (urlsplit(namespace).scheme and urlsplit(namespace).netloc):
        raise ConfigError(f"KB_CSAF_PUBLISHER_NAMESPACE must be an absolute URL, got {namespace!r}")
    if not (config["CSAF_PUBLISHER_NAME"] or "").strip():
        raise ConfigError("KB_CSAF_PUBLISHER_NAME must not be empty")


def _links() -> Links:
    return Links(request.url_root)


@blp.route("/articles/<string:kb>/csaf")
@blp.arguments(LocaleQuerySchema(), location="query", as_kwargs=True)
@blp.response(
    200,
    _CSAF_SCHEMA,
    description="A CSAF 2.0 informational advisory of the article's current revision",
    content_type="application/json",
)
@blp.alt_response(404, description="No such article")
def get_csaf(kb: str, locale: str | None = None) -> Response:
    """The article as a CSAF 2.0 document (`csaf_informational_advisory`), in one locale."""
    session = get_session()
    snapshot = reading.get_article(session, kb)
    revisions = reading.list_revisions(session, kb)
    chosen = snapshot.text(choose_locale(locale, snapshot.source_locale)).locale
    config = current_app.config
    publisher = Publisher(
        config["CSAF_PUBLISHER_NAME"], config["CSAF_PUBLISHER_NAMESPACE"] or request.url_root
    )
    body = csaf_document(snapshot, revisions, get_catalog(), chosen, publisher, _links())
    return localize(jsonify(body), chosen)


@blp.route("/articles/<string:kb>/oval")
@blp.arguments(LocaleQuerySchema(), location="query", as_kwargs=True)
@blp.response(
    200,
    _OVAL_SCHEMA,
    description="An OVAL 5.11 definitions document with one definition for the article",
    content_type=XML,
)
@blp.alt_response(404, description="No such article")
def get_oval(kb: str, locale: str | None = None) -> Response:
    """The article's current rules as one OVAL 5.11 definition (titles in `locale`)."""
    snapshot = reading.get_article(get_session(), kb)
    chosen = snapshot.text(choose_locale(locale, snapshot.source_locale)).locale
    body = oval_document(
        snapshot,
        get_catalog(),
        chosen,
        current_app.config["OVAL_NAMESPACE"],
        _links(),
        dt.datetime.now(dt.UTC),
    )
    return localize(current_app.response_class(body, mimetype=XML), chosen)


@blp.route("/exports/oval")
@blp.arguments(OvalFeedQuerySchema(), location="query", as_kwargs=True)
@blp.response(
    200,
    _OVAL_SCHEMA,
    description="One OVAL 5.11 definition per current article, streamed",
    content_type=XML,
)
@blp.alt_response(404, description="No current article (of that product)")
def get_oval_feed(product: str | None = None, locale: str | None = None) -> Response:
    """Every current article (or those of `product`) as one OVAL 5.11 document, streamed."""
    catalog = get_catalog()
    if product is not None and catalog.get(product) is None:
        raise ValidationFailed(
            f"The catalog has no product {product!r}.",
            errors={"product": [f"unknown product {product!r}"]},
        )
    revision_ids = reading.current_revision_ids(get_session(), product)
    if not revision_ids:
        # OVAL has no empty document: one needs a definition, test, object, state or variable.
        raise NotFound(f"No current article applies to {product}." if product else "No articles.")
    readers = get_database().readers
    chosen = choose_locale(locale, "")
    pieces = oval_feed(
        (reading.load_snapshot(readers, revision_id) for revision_id in revision_ids),
        catalog,
        chosen,
        current_app.config["OVAL_NAMESPACE"],
        _links(),
        dt.datetime.now(dt.UTC),
    )
    # Built while it is sent: the request's deadline and log line follow it to its end.
    request.environ[STREAMED] = True
    response = current_app.response_class(pieces, mimetype=XML)
    return localize(response, chosen) if chosen else response
