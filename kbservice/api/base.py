"""Our flask-smorest Api and Blueprint: problem+json errors and parser policy in one place."""

from __future__ import annotations

import http
from typing import Any

import flask_smorest
from apispec import BasePlugin
from flask import Flask, Request, current_app
from marshmallow import missing
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import HTTPException

from ..articles.drafts import MAX_DRAFT_ID
from ..contract.jsonin import UnfitValue, UnsafeJSON, load_json
from ..contract.schemas import ProblemSchema
from ..errors import KBServiceError, ValidationFailed
from ..http.problems import PROBLEM_MEDIA_TYPE, handle_domain_error, handle_http_exception

# What the generic error responses mean here (the phrase is used for other statuses).
_ERROR_DESCRIPTIONS = {
    400: (
        "A control character in the path or a query parameter (`errors` names it); "
        "malformed JSON, NaN/Infinity, or JSON nested deeper than MAX_JSON_DEPTH"
    ),
    401: "No bearer token, or an unknown or revoked one",
    403: "The token's role is too low for this request",
    404: "No such resource",
    413: "The request body is larger than MAX_CONTENT_LENGTH",
    422: "Invalid parameters or body; `errors` names each offending field",
    503: "The database is not reachable; retry after `Retry-After` seconds",
}
_ERROR_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
    503: {"Retry-After": {"schema": {"type": "integer"}}},
}
# What jsonin and request_target refuse, as JSON Schema patterns: a string of a JSON
# body holds no NUL; a query value no control character but tab, line feed and carriage
# return; a path none at all.
_NO_NUL = "^[^\\u0000]*$"
_NO_QUERY_CONTROL = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"
_NO_PATH_CONTROL = "^[^\\u0000-\\u001f\\u007f]*$"
# Patterns refusing NUL only (ours, and schemas.py's own): in a query, the stricter one.
_NUL_ONLY = {None, _NO_NUL, r"^[^\x00]*$"}
# Path parameters: what the views can ever find (anything else is a 404), and an example.
_PATH_PARAMETERS: dict[str, tuple[dict[str, Any], str | int]] = {
    "kb": ({"type": "string", "pattern": r"^(?:[Kk][Bb])?0*[0-9]{1,10}$"}, "885348"),
    "number": ({"type": "string", "pattern": r"^[0-9]{1,9}\.[0-9]{1,9}$"}, "2.2"),
    "draft_id": ({"type": "integer", "minimum": 1, "maximum": MAX_DRAFT_ID}, 1),
    "locale": ({"type": "string", "minLength": 1, "pattern": _NO_PATH_CONTROL}, "en"),
}


# Operation doc key under which views list header parameters (Blueprint.header_parameters);
# flask-smorest's manual `parameters` would replace the parameters of `arguments` instead.
_HEADER_PARAMETERS = "x-kbservice-header-parameters"


def _status_name(status: int) -> str:
    return http.HTTPStatus(status).name


class ProblemResponses(BasePlugin):
    """Document the errors every operation can answer with, as problem+json.

    Views document what is particular to them (`alt_response`); what follows from the
    framework is added here: 413 and 422 for request bodies, 401/403 for operations
    that need a token, 404 for paths with parameters, 400 (a control character in the
    request target, request_target.py) and 503 everywhere.
    """

    def path_helper(self, path: str | None = None, **kwargs: Any) -> None:
        """Give path parameters the schema and example of what the views can find."""
        for parameter in kwargs.get("parameters") or ():
            known = _PATH_PARAMETERS.get(parameter.get("name", ""))
            if parameter.get("in") == "path" and known is not None:
                parameter["schema"], parameter["example"] = dict(known[0]), known[1]

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Add the framework's error responses to each operation that can produce them."""
        rule = kwargs.get("rule")
        has_path_parameters = bool(rule is not None and rule.arguments)
        for operation in (operations or {}).values():
            headers = operation.pop(_HEADER_PARAMETERS, ())
            if headers:
                operation.setdefault("parameters", []).extend(headers)
            for parameter in operation.get("parameters", ()):
                if parameter.get("in") == "query":
                    _refuse_query_controls(parameter.get("schema", {}))
            responses = operation.setdefault("responses", {})
            statuses = [400, 503]
            if "requestBody" in operation:
                statuses += [413, 422]
            if operation.get("security"):
                statuses += [401, 403]
            if has_path_parameters:
                statuses.append(404)
            documented = {str(code) for code in responses}
            for status in statuses:
                if str(status) not in documented:
                    responses[status] = _status_name(status)


def _refuse_query_controls(schema: dict[str, Any]) -> None:
    """Document request_target's rule on a query parameter's schema (or its items')."""
    schema = schema.get("items", schema) if schema.get("type") == "array" else schema
    if schema.get("type") == "string" and schema.get("pattern") in _NUL_ONLY:
        schema["pattern"] = _NO_QUERY_CONTROL


def _no_nul(converter: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """apispec attribute function: free text is documented without NUL (jsonin refuses it)."""
    if ret.get("type") != "string" or {"pattern", "enum", "format"} & ret.keys():
        return {}
    return {"pattern": _NO_NUL}


class Parser(FlaskParser):
    """Request parser: invalid values are 422; malformed or hostile JSON is 400.

    A value JSON can carry but kbservice cannot take (a NUL, a 5,000-digit integer) is
    refused like the domain's invalid values (422 naming it, a problem type of its own):
    typed strings document the NUL rule (`pattern`), free-form values cannot.
    """

    DEFAULT_VALIDATION_STATUS = 422

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return missing
        try:
            return load_json(req.get_data(cache=True), current_app.config["MAX_JSON_DEPTH"])
        except UnfitValue as exc:
            raise ValidationFailed(
                f"The request has invalid fields: {exc.path}.", errors={exc.path: [exc.message]}
            ) from None
        except UnsafeJSON as exc:
            abort(400, messages={"json": [str(exc)]})


class Blueprint(flask_smorest.Blueprint):
    """A resource blueprint using our parser; its error responses are problem+json."""

    ARGUMENTS_PARSER = Parser()

    @staticmethod
    def header_parameters(*parameters: dict[str, Any]) -> Any:
        """Decorator documenting request headers the view reads (If-Match, If-None-Match)."""
        return flask_smorest.Blueprint.doc(**{_HEADER_PARAMETERS: list(parameters)})

    def alt_response(
        self,
        status_code: int,
        response: str | None = None,
        *,
        schema: Any = None,
        content_type: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Document an alternative response; an error without a schema is a problem."""
        if response is None and schema is None and int(status_code) >= 400:
            schema, content_type = ProblemSchema, content_type or PROBLEM_MEDIA_TYPE
        return super().alt_response(
            status_code, response, schema=schema, content_type=content_type, **kwargs
        )


class Api(flask_smorest.Api):
    """The REST API: routes, OpenAPI document and problem+json errors."""

    ERROR_SCHEMA = ProblemSchema
    # Every status an operation can answer is documented (ProblemResponses), so a
    # catch-all `default` response would only hide undocumented ones.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _init_spec(self, *, extra_plugins: list[BasePlugin] | None = None, **options: Any) -> None:
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), ProblemResponses()], **options)
        self.ma_plugin.converter.add_attribute_function(_no_nul)  # type: ignore[union-attr]

    def _register_responses(self) -> None:
        # flask-smorest documents its error responses as application/json; ours are
        # problem details, and their descriptions say what they mean in this API.
        for status in http.HTTPStatus:
            if status < 400:
                continue
            response: dict[str, Any] = {
                "description": _ERROR_DESCRIPTIONS.get(status, status.phrase),
                "content": {PROBLEM_MEDIA_TYPE: {"schema": self.ERROR_SCHEMA}},
            }
            if status in _ERROR_HEADERS:
                response["headers"] = _ERROR_HEADERS[status]
            self.spec.components.response(status.name, response, lazy=True)

    def _register_error_handlers(self) -> None:
        self._app.register_error_handler(HTTPException, handle_http_exception)
        self._app.register_error_handler(KBServiceError, handle_domain_error)

    def handle_http_exception(self, error: HTTPException) -> Any:
        """Errors are rendered as problem details (see problems.py)."""
        return handle_http_exception(error)


def init_api(app: Flask) -> Api:
    """Create the Api on `app`; the caller registers blueprints."""
    return Api(app)
