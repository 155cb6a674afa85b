"""Our flask-smorest Api and Blueprint: problem+json errors and parser policy in one place."""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Flask, Request, current_app
from marshmallow import missing
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import HTTPException

from ..errors import KBServiceError
from .jsonbody import UnsafeJSON, load_json
from .problems import handle_domain_error, handle_http_exception
from .schemas import ProblemSchema


class Parser(FlaskParser):
    """Request parser: invalid values are 422; malformed or hostile JSON is 400."""

    DEFAULT_VALIDATION_STATUS = 422

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return missing
        try:
            return load_json(req.get_data(cache=True), current_app.config["MAX_JSON_DEPTH"])
        except UnsafeJSON as exc:
            abort(400, messages={"json": [str(exc)]})


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
