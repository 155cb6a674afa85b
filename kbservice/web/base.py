"""The web blueprint and what every page shares: locale, editor, CSRF, headers, errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, g, render_template, request
from werkzeug.exceptions import HTTPException

from ..contract.presenters import rfc3339
from ..errors import KBServiceError
from . import auth, i18n
from .markdown import render_markdown, safe_snippet

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/web",
)

# No inline scripts or styles anywhere, so the policy can be strict.
_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def render(template: str, http_status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a page of this blueprint."""
    return render_template(f"web/{template}", **context), http_status


@bp.before_request
def _prepare() -> None:
    g.ui_locale = i18n.choose_ui_locale()
    auth.load_editor()
    auth.check_csrf()


@bp.after_request
def _headers(response: Response) -> Response:
    headers = response.headers
    # nosniff, X-Frame-Options and Referrer-Policy come from the app (api/hardening.py).
    headers.setdefault("Content-Security-Policy", _CSP)
    if "ui_locale" in g:
        headers["Content-Language"] = g.ui_locale
        response.vary.update(("Accept-Language", "Cookie"))
        i18n.remember_choice(response)
    if auth.is_private():
        # Pages with an editor's name or a CSRF token must not sit in shared caches.
        headers["Cache-Control"] = "private, no-store"
    return response


@bp.app_template_global()
def t(key: str, **params: Any) -> str:
    """A UI string in the page's locale."""
    return i18n.text(key, **params)


@bp.app_template_global()
def url_with(**changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    args = request.args.to_dict()
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = str(value)
    return f"{request.path}?{urlencode(args)}" if args else request.path


bp.add_app_template_filter(render_markdown, "markdown")
bp.add_app_template_filter(rfc3339, "iso")
bp.add_app_template_filter(i18n.format_time, "when")
bp.add_app_template_filter(i18n.format_value, "fact_value")
bp.add_app_template_filter(safe_snippet, "snippet")
bp.add_app_template_global(auth.csrf_token, "csrf_token")


@bp.errorhandler(KBServiceError)
def _domain_error(error: KBServiceError) -> tuple[str, int]:
    return render(
        "error.html", error.status, status=error.status, message=None, detail=error.detail
    )


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    # Raised before _prepare ran (e.g. the app's 413 check): the page still needs a locale.
    if "ui_locale" not in g:
        g.ui_locale = i18n.choose_ui_locale()
        g.editor = None
    status = error.code or 500
    message = "error.csrf" if isinstance(error, auth.CsrfFailed) else None
    return render("error.html", status, status=status, message=message, detail=None)
