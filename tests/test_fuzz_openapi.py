"""Fuzz the API with Schemathesis against its own OpenAPI document.

Every operation of `GET /api/v1/openapi.json` gets generated requests, valid and
invalid: with an admin token (so writes go through), and, for the operations that need
a token, without one or with a reader's. Each response must be documented (status,
content type, headers, body), every error must be problem details, and no request may
cause a 5xx. The run is bounded for CI; `KB_FUZZ_EXAMPLES` raises the number of
generated requests per operation for a longer run (see docs/operations.md).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from werkzeug.http import parse_options_header

from kbservice import create_app
from kbservice.api.localized import article_etag
from kbservice.articles import reading
from kbservice.errors import NotFound
from kbservice.http.context import get_database
from kbservice.http.problems import PROBLEM_MEDIA_TYPE

from .conftest import DatabaseFactory, make_token

# CI: a bounded, reproducible run. KB_FUZZ_EXAMPLES=N: N examples per operation, random.
LONG_RUN = "KB_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("KB_FUZZ_EXAMPLES", "10"))

CHECKS = {
    # Excluded: schema-valid input may still be refused, by design and documented, with
    # 422 (the rule language, catalog products and editions, configured locales, fact
    # formats such as IP addresses or CPE names are beyond JSON Schema) or with 412/428
    # (generated If-Match values name no revision). `parser_accepts_documented_input`
    # below keeps the part of it that is about the document's precision.
    "positive_data_acceptance": {"enabled": False},
    # The contract checks 401/403 before a missing If-Match's 428.
    "missing_required_header": {"expected-statuses": [401, 403, 428]},
    # The contract checks If-Match (428/412) before the body (400/422); bodies over the
    # limit are 413. Schemathesis' default list lacks 412 and 413.
    "negative_data_rejection": {
        "expected-statuses": [400, 401, 403, 404, 405, 409, 412, 413, 422, 428]
    },
}
GENERATION = {
    "mode": "all",
    "max-examples": EXAMPLES,
    # Unknown query parameters are ignored, by design (cache busters, tracking tags), so
    # adding some does not make a request invalid.
    "allow-extra-parameters": False,
}
CONFIG = schemathesis.Config.from_dict({"generation": GENERATION, "checks": CHECKS})
# Tokens are checked before anything else is read, so varied input adds nothing here:
# a few random requests per operation, without the (large) coverage phase.
AUTH_CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {**GENERATION, "max-examples": max(EXAMPLES // 2, 3)},
        "phases": {"coverage": {"enabled": False}},
        "checks": CHECKS,
    }
)
FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=not LONG_RUN,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


class AppUnderTest:
    """A WSGI app that forwards to the current engine's application.

    The schema is loaded once, at collection; each engine's module-scoped app is plugged
    in here, so requests (and the checks' own probes) reach it.
    """

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None, "the fuzz_app fixture is not active"
        return self.app(environ, start_response)


APP_UNDER_TEST = AppUnderTest()


def create_quiet_app(url: str) -> Flask:
    """The application on `url`, logging warnings only (thousands of requests)."""
    return create_app({"DATABASE_URL": url, "TESTING": True, "LOG_LEVEL": "WARNING"})


def load_schema(config: schemathesis.Config) -> schemathesis.BaseSchema:
    """The OpenAPI document, from an app that never connects to its database."""
    with tempfile.TemporaryDirectory() as folder:
        spec_app = create_quiet_app(f"sqlite:///{folder}/unused.sqlite3")
        loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", spec_app, config=config)
        get_database(spec_app).dispose()
    loaded.app = APP_UNDER_TEST
    return loaded


def needs_token(ctx: Any) -> bool:
    """Operations documented with a security requirement."""
    return bool(ctx.operation.definition.raw.get("security"))


schema = load_schema(CONFIG)
auth_schema = load_schema(AUTH_CONFIG).include(needs_token)


@pytest.fixture(scope="module")
def fuzz_app(database_factory: DatabaseFactory, seeded_template: str) -> Iterator[Flask]:
    """One app per engine for the whole module: generated writes accumulate, as in use."""
    url = database_factory.new_url(template=seeded_template)
    application = create_quiet_app(url)
    APP_UNDER_TEST.app = application
    yield application
    APP_UNDER_TEST.app = None
    get_database(application).dispose()
    database_factory.drop(url)


@pytest.fixture(scope="module")
def admin_token(fuzz_app: Flask) -> str:
    return make_token(fuzz_app, "admin")


@pytest.fixture(scope="module")
def reader_token(fuzz_app: Flask) -> str:
    return make_token(fuzz_app, "reader")


def current_etag(app: Flask, kb: str) -> str | None:
    """An ETag of the article's current revision, or None when there is no such article."""
    with app.app_context(), get_database(app).session() as session:
        try:
            snapshot = reading.get_article(session, kb)
        except NotFound:
            return None
        return '"' + article_etag(snapshot.kb, snapshot.revision_id, "rules") + '"'


def problem_details(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any
) -> None:
    """Every error is problem+json with type, title, status (the response's) and detail."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    body = response.json() if parse_options_header(content_type)[0] == PROBLEM_MEDIA_TYPE else None
    if not isinstance(body, dict) or body.get("status") != response.status_code:
        raise AssertionError(f"not problem details: {content_type} {response.text[:300]}")
    missing = [key for key in ("type", "title", "status", "detail") if key not in body]
    if missing:
        raise AssertionError(f"problem details lack {missing}: {response.text[:300]}")


def parser_accepts_documented_input(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Any
) -> None:
    """Input the document allows is never refused by the request parser itself.

    Parser refusals (webargs: `about:blank` problems) mean the document is looser than
    the marshmallow schemas; refusals by the domain carry a problem type of their own.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code in (400, 422) and response.json().get("type") == "about:blank":
        raise AssertionError(f"documented input refused by the parser: {response.text[:500]}")


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_admin(case: schemathesis.Case, fuzz_app: Flask, admin_token: str) -> None:
    """With an admin token, every operation and every write is allowed.

    Generated If-Match values name no revision, so every write would stop at 412: half
    of them (those of even length, a choice that shrinks with the example) are replaced
    with the article's current ETag, which lets writes through to validation and storage.
    """
    kb = (case.path_parameters or {}).get("kb")
    generated = (case.headers or {}).get("If-Match")
    if kb and isinstance(generated, str) and len(generated) % 2 == 0:
        etag = current_etag(fuzz_app, kb)
        if etag is not None:
            case.headers["If-Match"] = etag
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"},
        additional_checks=[problem_details, parser_accepts_documented_input],
    )


@auth_schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.parametrize("token", ["none", "reader"])
def test_api_without_a_sufficient_token(
    case: schemathesis.Case, token: str, fuzz_app: Flask, reader_token: str
) -> None:
    """No token, or a reader's: documented 401/403 problems, and nothing is written.

    (A body over the size limit is refused with 413 before the token is looked at.)
    """
    headers = {"Authorization": f"Bearer {reader_token}"} if token == "reader" else {}
    response = case.call_and_validate(headers=headers, additional_checks=[problem_details])
    assert not 200 <= response.status_code < 300, response.status_code
