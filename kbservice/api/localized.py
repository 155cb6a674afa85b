"""Locale choice and the headers every localized response carries."""

from __future__ import annotations

import hashlib

from flask import Response, current_app, request

from ..articles.locales import negotiate


def choose_locale(requested: str | None, fallback: str) -> str:
    """The locale to serve: `?locale=`, then Accept-Language, then `fallback`."""
    return negotiate(
        requested,
        request.headers.get("Accept-Language"),
        current_app.config["LOCALES"],
        fallback,
    )


def localize(response: Response, locale: str) -> Response:
    """Add Content-Language and Vary: Accept-Language."""
    headers = response.headers
    headers["Content-Language"] = locale
    # Plain header strings: werkzeug's `response.vary` set re-quotes the whole header.
    vary = headers.get("Vary")
    if not vary:
        headers["Vary"] = "Accept-Language"
    elif "accept-language" not in vary.lower():
        headers["Vary"] = f"{vary}, Accept-Language"
    return response


def article_etag(kb: str, revision_id: int, locale: str, fingerprint: str = "") -> str:
    """A strong ETag: `"<kb>-<revision id>-<locale>-<digest>"`, new with every revision."""
    digest = hashlib.sha256(f"{kb}|{revision_id}|{locale}|{fingerprint}".encode()).hexdigest()
    return f"{kb}-{revision_id}-{locale}-{digest[:12]}"


def revision_id_from_etag(etag: str) -> int | None:
    """The revision id an article ETag was made for, or None if it is not one of ours."""
    parts = etag.split("-")
    if len(parts) != 4 or not parts[1].isdigit():
        return None
    return int(parts[1])
