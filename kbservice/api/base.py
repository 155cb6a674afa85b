"""Our flask-smorest Api and Blueprint: problem+json errors and parser policy in one place."""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Flask
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from ..errors import KBServiceError
from .problems import handle_domain_error, handle_http_exception
from .schemas import ProblemSchema


class Parser(FlaskParser):
    """Request parser: invalid values are 422, malformed JSON is 400 (webargs' defaults)."""

    DEFAULT_VALIDATION_STATUS = 422


class Blueprint(flask_smorest.Blueprint):
    """A resource blueprint using our parser."""

    ARGUMENTS_PARSER = Parser()


class Api(flask_smorest.Api):
    """The REST API: routes, OpenAPI document and problem+json errors."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        self._app.register_error_handler(HTTPException, handle_http_exception)
        self._app.register_error_handler(KBServiceError, handle_domain_error)

    def handle_http_exception(self, error: HTTPException) -> Any:
        """Errors are rendered as problem details (see problems.py)."""
        return handle_http_exception(error)


def init_api(app: Flask) -> Api:
    """Create the Api on `app`; the caller registers blueprints."""
    return Api(app)
