"""Alembic, driven from code: upgrade, drift check, and "is this database empty?"."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from .db import make_null_pool_engine

# Alembic's script folder (env.py, versions/) installed inside the package: `kbservice/_migrations`
# is the repository's migrations/ folder (a symbolic link), copied into wheels by the build.
# pip installs packages as files, so this is a real folder, which Alembic needs.
MIGRATIONS_DIR = Path(str(files("kbservice") / "_migrations"))


def alembic_config(url: str) -> Config:
    """An Alembic configuration for `url`, independent of the working directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would mangle a '%' in a password.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise if the models and the migrations disagree (alembic check)."""
    command.check(alembic_config(url))


def needs_setup(url: str) -> bool:
    """True when the database has no kbservice tables yet."""
    engine = make_null_pool_engine(url)
    try:
        return not inspect(engine).has_table("alembic_version")
    finally:
        engine.dispose()
