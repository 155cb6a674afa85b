"""Fixtures: the same suite runs on SQLite and on a throwaway PostgreSQL cluster."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from kbservice import create_app
from kbservice.db import Database, make_engine, make_null_pool_engine
from kbservice.migrate import upgrade
from kbservice.seeding import seed

from .pg import Cluster, postgres_available, start_cluster

ENGINES = ["sqlite", "postgresql"]
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
_names = itertools.count()


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
    """Creates empty databases of one engine."""

    def __init__(self, engine_name: str, tmp: Path, request: pytest.FixtureRequest) -> None:
        self.engine_name = engine_name
        self.tmp = tmp
        self.request = request

    def new_url(self) -> str:
        name = f"kb_test_{next(_names)}"
        if self.engine_name == "sqlite":
            return f"sqlite:///{self.tmp / name}.sqlite3"
        cluster: Cluster = self.request.getfixturevalue("pg_cluster")
        admin = make_null_pool_engine(cluster.url("postgres"))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return cluster.url(name)


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
    database = Database(make_null_pool_engine(url))
    with database.write() as session:
        seed(session, SEEDS)
    database.engine.dispose()
    return url


@pytest.fixture(scope="session")
def seeded_url(database_factory: DatabaseFactory) -> str:
    """A migrated and seeded database shared by the tests of one engine (rolled back per test)."""
    return migrated_and_seeded(database_factory.new_url())


@pytest.fixture
def fresh_url(database_factory: DatabaseFactory) -> str:
    """A new, empty database for tests that commit for real (CLI, concurrency, servers)."""
    return database_factory.new_url()


@pytest.fixture
def app(seeded_url: str) -> Iterator[Flask]:
    """The app on the shared seeded database, inside a transaction rolled back after the test."""
    engine = make_engine(seeded_url)
    connection = engine.connect()
    outer = connection.begin()
    database = Database(engine)
    database.session_factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    application = create_app({"DATABASE_URL": seeded_url, "TESTING": True}, database=database)
    yield application
    outer.rollback()
    connection.close()
    engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def cli(fresh_url: str) -> CliRunner:
    """A CLI runner whose KB_DATABASE_URL is a fresh empty database."""
    return CliRunner(env={"KB_DATABASE_URL": fresh_url})
