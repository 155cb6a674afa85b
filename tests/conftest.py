"""Fixtures: the same suite runs on SQLite and on a throwaway PostgreSQL cluster.

Each test that uses `app` gets its own copy of a migrated and seeded template
database, so writes commit for real and nothing leaks between tests.
"""

from __future__ import annotations

import ast
import itertools
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from kbservice import create_app
from kbservice.http.context import get_database
from kbservice.storage.db import Database, make_null_pool_engine
from kbservice.storage.migrate import upgrade
from kbservice.transfer.seeding import seed

from .pg import Cluster, postgres_available, start_cluster

ENGINES = ["sqlite", "postgresql"]

if sys.version_info < (3, 13):
    # CPython before 3.13 counts ast.parse's recursion depth per interpreter, not per
    # thread (python/cpython#106905): two threads parsing at once fail with "SystemError:
    # AST constructor recursion depth mismatch". Tests run such threads side by side (one
    # formats a traceback, which parses the failing line since 3.11, while another builds
    # an app, whose URL rules werkzeug parses), so they take turns here.
    _parse_alone = ast.parse
    _parsing = threading.RLock()

    def _parse_in_turn(*args: Any, **kwargs: Any) -> Any:
        with _parsing:
            return _parse_alone(*args, **kwargs)

    ast.parse = _parse_in_turn  # type: ignore[assignment]
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
_names = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Host change counters (KB_FRESHNESS=notify) of this run, servers started by it too."""
    folder = tmp_path_factory.mktemp("runtime")
    previous = os.environ.get("KB_RUNTIME_DIR")
    os.environ["KB_RUNTIME_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("KB_RUNTIME_DIR", None)
    else:
        os.environ["KB_RUNTIME_DIR"] = previous


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) are required in CI")
        pytest.skip("initdb/pg_ctl not on PATH")
    cluster = start_cluster()
    yield cluster
    cluster.stop()


class DatabaseFactory:
    """Creates empty databases of one engine, or copies of a template database."""

    def __init__(self, engine_name: str, tmp: Path, request: pytest.FixtureRequest) -> None:
        self.engine_name = engine_name
        self.tmp = tmp
        self.request = request

    def _admin(self, statement: str) -> None:
        cluster: Cluster = self.request.getfixturevalue("pg_cluster")
        admin = make_null_pool_engine(cluster.url("postgres"))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(statement))
        admin.dispose()

    def new_url(self, template: str | None = None) -> str:
        """A new database: empty, or a copy of the database at `template`."""
        name = f"kb_test_{next(_names)}"
        if self.engine_name == "sqlite":
            path = self.tmp / f"{name}.sqlite3"
            if template is not None:
                shutil.copyfile(make_url(template).database, path)
            return f"sqlite:///{path}"
        cluster: Cluster = self.request.getfixturevalue("pg_cluster")
        suffix = f' TEMPLATE "{make_url(template).database}"' if template else ""
        self._admin(f'CREATE DATABASE "{name}"{suffix}')
        return cluster.url(name)

    def drop(self, url: str) -> None:
        """Remove a database made by new_url."""
        if self.engine_name == "sqlite":
            Path(make_url(url).database).unlink(missing_ok=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


@pytest.fixture(scope="session", params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_factory(
    engine_name: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> DatabaseFactory:
    return DatabaseFactory(engine_name, tmp_path_factory.mktemp(engine_name), request)


def migrated_and_seeded(url: str) -> str:
    upgrade(url)
    engine = make_null_pool_engine(url)
    database = Database(engine)
    with database.write() as session:
        seed(session, SEEDS)
    if engine.dialect.name == "sqlite":
        # Fold the WAL into the main file so that a file copy is a complete database.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def seeded_template(database_factory: DatabaseFactory) -> str:
    """A migrated and seeded database that each test gets a fresh copy of."""
    return migrated_and_seeded(database_factory.new_url())


@pytest.fixture
def seeded_url(database_factory: DatabaseFactory, seeded_template: str) -> Iterator[str]:
    """A fresh copy of the seeded database for one test; writes really commit."""
    url = database_factory.new_url(template=seeded_template)
    yield url
    database_factory.drop(url)


@pytest.fixture
def fresh_url(database_factory: DatabaseFactory) -> Iterator[str]:
    """A new, empty database."""
    url = database_factory.new_url()
    yield url
    database_factory.drop(url)


@pytest.fixture
def app(seeded_url: str, engine_name: str, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The application on its own seeded database.

    Modules that call `each_freshness_mode` get it once per KB_FRESHNESS mode.
    """
    config: dict[str, Any] = {"DATABASE_URL": seeded_url, "TESTING": True}
    freshness = getattr(request, "param", "default")
    if freshness == "query":
        config["FRESHNESS"] = "query"
    application = create_app(config)
    yield application
    get_database(application).dispose()


def each_freshness_mode(metafunc: pytest.Metafunc) -> None:
    """Run a module's `app` tests in the default KB_FRESHNESS mode and in "query".

    Call it from the module's `pytest_generate_tests`. The default is "notify", and
    "query" takes other code paths (one freshness query per request).
    """
    if "app" in metafunc.fixturenames:
        metafunc.parametrize("app", ["default", "query"], indirect=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def cli(fresh_url: str) -> CliRunner:
    """A CLI runner whose KB_DATABASE_URL is a fresh empty database."""
    return CliRunner(env={"KB_DATABASE_URL": fresh_url})


def make_token(app: Flask, role: str, name: str | None = None) -> str:
    """Create an API token in `app`'s database and return it."""
    from kbservice.access.tokens import Role, create_token

    with app.app_context(), get_database(app).write() as session:
        return create_token(session, name or f"{role}-{next(_names)}", Role.parse(role))


@pytest.fixture
def editor(app: Flask) -> dict[str, str]:
    """Authorization header of an editor."""
    return {"Authorization": f"Bearer {make_token(app, 'editor', 'Emi Editor')}"}


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """Build extra apps (own configuration); their pools are closed after the test."""
    built: list[Flask] = []

    def build(config: dict[str, Any]) -> Flask:
        application = create_app({"TESTING": True, **config})
        built.append(application)
        return application

    yield build
    for application in built:
        get_database(application).dispose()
