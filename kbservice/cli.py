"""The `kbservice` command line: database, seeds, serving."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click

from . import create_app
from .config import ConfigError
from .http.context import get_database
from .storage.changes import CHANNEL

log = logging.getLogger("kbservice")


class _AppContext:
    """Builds the Flask app on first use, so `--help` works without a database."""

    def __init__(self) -> None:
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:
            try:
                self._app = create_app()
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from exc
            # Close pooled connections when the command ends, not at interpreter exit.
            click.get_current_context().call_on_close(get_database(self._app).dispose)
        return self._app

    @property
    def url(self) -> str:
        return self.app.config["DATABASE_URL"]


pass_ctx = click.make_pass_decorator(_AppContext, ensure=True)


def _jobs_option(command: Any) -> Any:
    """`--jobs`: worker processes that tokenize for the search index (1: in-process)."""
    from .fulltext.workers import default_jobs

    return click.option(
        "--jobs",
        type=click.IntRange(1, 64),
        default=default_jobs,
        show_default="the number of CPUs",
        help="Processes that tokenize for the search index while this one writes "
        "(1: tokenize in this process).",
    )(command)


def _tokenizing_failed(exc: Exception) -> click.ClickException:
    return click.ClickException(f"{exc} Nothing was written: the transaction was rolled back.")


def _display_url(url: str) -> str:
    from .storage.db import safe_url

    return safe_url(url)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="kbservice")
def main() -> None:
    """kbservice: knowledge-base articles with "does this apply to my system?" rules.

    The database is chosen by KB_DATABASE_URL (an SQLAlchemy URL such as
    postgresql+psycopg://user@host/db); without it, an SQLite file in the
    instance folder is used.
    """


@main.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target migration.")
@pass_ctx
def db_upgrade(ctx: _AppContext, revision: str) -> None:
    """Apply the Alembic migrations."""
    from .storage.migrate import upgrade

    click.echo(f"Migrating {_display_url(ctx.url)} to {revision} …")
    upgrade(ctx.url, revision)
    click.echo("Database is up to date.")


@db.command("check")
@pass_ctx
def db_check(ctx: _AppContext) -> None:
    """Fail if the models and the migrations disagree."""
    from alembic.util.exc import CommandError

    from .storage.migrate import check

    try:
        check(ctx.url)
    except CommandError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("No drift: models and migrations agree.")


@main.command("seed")
@click.option(
    "--seeds-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder with products.yaml and articles/*.yaml (default: the project's seeds/).",
)
@pass_ctx
def seed_command(ctx: _AppContext, seeds_dir: Path | None) -> None:
    """Load the product catalog and seed articles (idempotent: a second run changes nothing)."""
    from .transfer.seeding import seed

    folder = seeds_dir or Path(ctx.app.config["SEEDS_DIR"])
    with get_database(ctx.app).write() as session:
        report = seed(session, folder)
    click.echo(f"Products changed: {report.products_changed}")
    for kb in report.articles_created:
        click.echo(f"Created article KB{kb}")
    if report.articles_present:
        click.echo(f"Already present: {', '.join('KB' + kb for kb in report.articles_present)}")
    if not report.products_changed and not report.articles_created:
        click.echo("Nothing to do: the database already holds the seeds.")


def prepare_database(app: Any) -> None:
    """Migrate and seed an empty database; migrate an existing one."""
    from .storage.migrate import needs_setup, upgrade
    from .transfer.seeding import seed

    url = app.config["DATABASE_URL"]
    empty = needs_setup(url)
    upgrade(url)
    if empty:
        with get_database(app).write() as session:
            report = seed(session, Path(app.config["SEEDS_DIR"]))
        log.info("seeded an empty database: %d article(s)", len(report.articles_created))


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=lambda: min(2 * (os.cpu_count() or 1) + 1, 8),
    show_default="2 × cores + 1, at most 8",
    type=click.IntRange(1, 64),
    help="gunicorn worker processes.",
)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker (gunicorn's gthread worker); 1 uses the sync worker.",
)
@click.option(
    "--timeout",
    default=60,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds a silent worker may take before gunicorn replaces it "
    "(at least the request timeout + 6).",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(0, min_open=True),
    help="Seconds a request may run before it is stopped and answered 503 "
    "[default: KB_REQUEST_TIMEOUT, else 30].",
)
@click.option(
    "--client-timeout",
    type=click.FloatRange(0, min_open=True),
    help="Seconds a request line and headers may take to arrive before the connection "
    "is answered 408 [default: KB_CLIENT_TIMEOUT, else 5].",
)
@pass_ctx
def serve(
    ctx: _AppContext,
    host: str,
    port: int,
    workers: int,
    threads: int,
    timeout: int,
    request_timeout: float | None,
    client_timeout: float | None,
) -> None:
    """Serve the API with gunicorn; an empty database is migrated and seeded first.

    The product catalog and the rule index (an outline of every article's rules) are built
    once, before the workers start: they share that memory. Each worker compiles the rules
    its requests judge, keeping KB_RULE_CACHE_ENTRIES of them.
    """
    from .http.server import gc_full_every, prepare_for_fork, run_gunicorn

    # Workers share metrics through files; this must be set before the app is built.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="kbservice-metrics-"))
    app = ctx.app
    request_timeout = request_timeout or _positive(app, "REQUEST_TIMEOUT")
    client_timeout = client_timeout or _positive(app, "CLIENT_TIMEOUT")
    try:
        gc_full_every(app.config)  # refused before the index is built, not after
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    prepare_database(app)
    started = time.perf_counter()
    click.echo("Indexing the applicability rules of every article …")
    count = prepare_for_fork(app)
    elapsed = time.perf_counter() - started
    click.echo(f"Indexed the rules of {count:,} article(s) in {elapsed:.1f} s.")
    click.echo(f"kbservice on http://{host}:{port}/api/v1 ({_display_url(ctx.url)})")
    click.echo(_freshness_line(app))
    click.echo(
        f"Requests are stopped after {request_timeout:g} s; request heads must arrive "
        f"within {client_timeout:g} s."
    )
    if app.config["DELIVER_IN_SERVE"]:
        _start_delivery(app)
    run_gunicorn(
        app,
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        timeout=timeout,
        request_timeout=request_timeout,
        client_timeout=client_timeout,
    )


def _start_delivery(app: Any) -> None:
    """`kbservice worker` beside gunicorn: webhook deliveries leave without a second command.

    A process of its own, not a thread of the master: gunicorn forks workers from the
    master, and the sender's threads and connections must not be forked with it. Started
    through a short-lived launcher, so it is not a child of the master either (gunicorn
    reaps and counts the master's children as its workers). It stays in the server's
    process group and ends within a poll interval of the master (it watches that pid).
    """
    env = {**os.environ, "KB_DATABASE_URL": app.config["DATABASE_URL"]}
    command = [sys.executable, "-c", "from kbservice.cli import main; main()"]
    command += ["worker", "--parent-pid", str(os.getpid())]
    launch = "import subprocess, sys; subprocess.Popen(sys.argv[1:])"
    subprocess.run([sys.executable, "-c", launch, *command], env=env, check=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


@main.command("worker")
@click.option("--once", is_flag=True, help="Send the deliveries that are due now, then exit.")
@click.option("--parent-pid", type=int, hidden=True, help="Exit when this process is gone.")
@pass_ctx
def worker(ctx: _AppContext, once: bool, parent_pid: int | None) -> None:
    """Send webhook deliveries; several workers may share one PostgreSQL database.

    `kbservice serve` runs one by itself (KB_DELIVER_IN_SERVE); run more, or only these
    with KB_DELIVER_IN_SERVE=false, in larger deployments.
    """
    from .notify.delivery import DeliverySettings, DeliveryWorker

    app = ctx.app
    deliverer = DeliveryWorker(get_database(app), DeliverySettings.from_config(app.config))
    if once:
        click.echo(f"Tried {deliverer.run_once()} deliveries.")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if parent_pid is None:
        log.info("Delivering webhooks as %s", deliverer.name)
        deliverer.run(stop)
    else:
        deliverer.run(stop, lambda: _alive(parent_pid))


def _positive(app: Any, key: str) -> float:
    value = float(app.config[key])
    if value <= 0:
        raise click.ClickException(f"KB_{key} must be a number of seconds above 0, got {value:g}")
    return value


def _freshness_line(app: Any) -> str:
    changes = get_database(app).changes
    if changes is None:
        return "Caches ask the database on every request (KB_FRESHNESS=query)."
    listening = f", LISTEN {CHANNEL}" if changes.listener is not None else ""
    return (
        "Caches ask the database after a change signal (KB_FRESHNESS=notify): host counter "
        f"{changes.host.path}{listening}, re-checked at least every {changes.max_age:g} s."
    )


@main.group()
def tokens() -> None:
    """API tokens for editors and administrators."""


@tokens.command("create")
@click.option("--name", required=True, help="Who or what uses the token (unique).")
@click.option(
    "--role",
    type=click.Choice(["reader", "inventory", "editor", "admin"]),
    default="editor",
    show_default=True,
    help="reader < editor < admin; inventory: registered systems only (and reads).",
)
@pass_ctx
def tokens_create(ctx: _AppContext, name: str, role: str) -> None:
    """Create a token; it is printed once, as the last line (only its hash is stored)."""
    from .access.tokens import Role, create_token
    from .errors import KBServiceError

    try:
        with get_database(ctx.app).write() as session:
            token = create_token(session, name, Role.parse(role))
    except KBServiceError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"Created {role} token {name!r}. Store it now: it cannot be shown again.")
    click.echo(token)


@tokens.command("list")
@pass_ctx
def tokens_list(ctx: _AppContext) -> None:
    """List tokens (never their secrets)."""
    from .access.tokens import list_tokens

    with get_database(ctx.app).session() as session:
        rows = list_tokens(session)
    if not rows:
        click.echo("No tokens yet: create one with `kbservice tokens create`.")
    for row in rows:
        used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
        state = "revoked" if row.revoked_at else "active"
        click.echo(f"{row.id:>4}  {row.name:<24} {row.role:<7} {state:<8} last used: {used}")


@tokens.command("revoke")
@click.argument("name_or_id")
@pass_ctx
def tokens_revoke(ctx: _AppContext, name_or_id: str) -> None:
    """Revoke a token by name or id; it stops working at once."""
    from .access.tokens import revoke_token
    from .errors import KBServiceError

    try:
        with get_database(ctx.app).write() as session:
            info = revoke_token(session, name_or_id)
    except KBServiceError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"Revoked token {info.name!r}.")


@main.command("import-text")
@click.argument("file", type=click.File("rb"))
@click.option("--locale", required=True, help="Language of the text: ja or en.")
@click.option("--kb", help="KB number, when the text's properties block lacks one.")
@click.option("--author", default="import-text", show_default=True, help="Recorded as author.")
@click.option(
    "--encoding",
    default="utf-8",
    show_default=True,
    help="Encoding of FILE, e.g. cp932 for Shift_JIS exports (a UTF-8 BOM is skipped).",
)
@pass_ctx
def import_text(
    ctx: _AppContext, file: Any, locale: str, kb: str | None, author: str, encoding: str
) -> None:
    """Import a legacy plain-text article (help-center export) as a draft.

    A new KB number becomes a draft article; a known one, a translation draft. Nothing is
    published: an editor reviews the draft and publishes it (POST /api/v1/drafts/ID/publish).
    """
    from .articles.audit import Actor, record
    from .catalog.store import load_catalog
    from .errors import KBServiceError
    from .transfer.legacy_import import import_legacy_text
    from .transfer.legacy_text import LegacyTextError

    text = _decode_text(file.read(), file.name, encoding)
    database = get_database(ctx.app)
    try:
        with database.write() as session:
            catalog = load_catalog(session)
            result = import_legacy_text(
                session, text, locale=locale, catalog=catalog, author=author, kb=kb
            )
            record(session, Actor(author), "draft.import_text", kb=result.draft.kb)
    except (KBServiceError, LegacyTextError) as exc:
        raise click.ClickException(str(getattr(exc, "detail", exc))) from exc
    click.echo("Recognised:")
    for line in result.parsed.report():
        click.echo(f"  {line}")
    kind = "a draft article" if result.new_article else f"a {locale} translation draft"
    click.echo(f"Saved {kind} for KB{result.draft.kb} as draft {result.draft.id}.")
    click.echo(f"Review it, then publish: POST /api/v1/drafts/{result.draft.id}/publish")


def _decode_text(data: bytes, name: str, encoding: str) -> str:
    """The text of FILE, or a usage error naming the first byte that is not `encoding`."""
    import codecs

    try:
        codec = codecs.lookup(encoding)
    except LookupError as exc:
        raise click.BadParameter(f"unknown encoding {encoding!r}", param_hint="--encoding") from exc
    # No guessing: a Shift_JIS file can often be read as another encoding too, wrongly.
    codec = codecs.lookup("utf-8-sig") if codec.name == "utf-8" else codec
    try:
        return data.decode(codec.name)
    except UnicodeDecodeError as exc:
        japanese = codec.name in ("cp932", "shift_jis")
        hint = "" if japanese else " If it is Shift_JIS, pass --encoding cp932."
        raise click.ClickException(
            f"{name} is not {encoding} text: byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start} cannot be decoded ({exc.reason}).{hint}"
        ) from exc


@main.group()
def search() -> None:
    """The full-text search index."""


@search.command("reindex")
@_jobs_option
@pass_ctx
def search_reindex(ctx: _AppContext, jobs: int) -> None:
    """Rebuild the search index from every article's current revision, in one transaction."""
    import sys
    import time

    from tqdm import tqdm

    from .fulltext import count_articles, rebuild_index
    from .fulltext.workers import TokenizingFailed

    started = time.perf_counter()
    try:
        with get_database(ctx.app).write() as session:
            total = count_articles(session)
            with tqdm(total=total, unit="article", desc="Indexing", file=sys.stderr) as bar:
                report = rebuild_index(session, progress=bar.update, jobs=jobs)
    except TokenizingFailed as exc:
        raise _tokenizing_failed(exc) from exc
    click.echo(
        f"Indexed {report.articles} article(s): {report.documents} document(s), "
        f"{report.tokens} token(s) in {time.perf_counter() - started:.1f} s."
    )


@main.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@pass_ctx
def export_command(ctx: _AppContext, file: Path) -> None:
    """Back up the whole database to FILE as JSON lines ("-": standard output).

    The file is portable: `kbservice import` restores it into an empty database on
    SQLite or PostgreSQL, and exporting that database again gives the same bytes. It
    is read from one consistent snapshot while the service keeps running. The search
    index is left out (import rebuilds it). FILE is replaced only once complete and is
    readable by its owner only (it holds token hashes). Progress and the summary go to
    standard error.
    """
    import sys

    from tqdm import tqdm

    from .transfer.backup import BackupError, Exporter

    try:
        with get_database(ctx.app).session() as session:
            exporter = Exporter(session)
            total = exporter.header.total_rows
            with tqdm(total=total, unit="row", desc="Exporting", file=sys.stderr) as bar:
                if str(file) == "-":
                    rows = exporter.write(click.open_file("-", "wb"), progress=bar.update)
                else:
                    rows = exporter.write_file(file, progress=bar.update)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"Cannot write {file}: {exc.strerror}.") from exc
    click.echo(f"Exported {total} row(s) at schema {exporter.header.schema} to {file}:", err=True)
    for name, count in rows.items():
        click.echo(f"  {name:<24}{count:>10}", err=True)


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_jobs_option
@pass_ctx
def import_command(ctx: _AppContext, file: Path, jobs: int) -> None:
    """Restore FILE, made by `kbservice export`, into an empty database: all or nothing.

    A database without tables is migrated first; one holding any rows is refused. FILE
    must come from a kbservice at the same schema revision. Every row is checked as the
    API checks what it stores (rule documents within KB_MAX_RULE_DEPTH and
    KB_MAX_RULE_NODES, JSON within KB_MAX_JSON_DEPTH, roles, KB_LOCALES, KB numbers,
    applies-to entries against the file's catalog). Rows keep their ids, and the search
    index is rebuilt. On any error nothing is imported and the message names the line of
    FILE and the field at fault.
    """
    import sys

    from tqdm import tqdm

    from .fulltext.workers import TokenizingFailed
    from .storage.migrate import needs_setup, upgrade
    from .transfer.backup import BackupError, Importer
    from .transfer.checks import Limits

    try:
        with file.open("rb") as stream:
            # The header is checked before the target database is touched.
            importer = Importer(stream, Limits.from_config(ctx.app.config))
            if needs_setup(ctx.url):
                click.echo(f"Creating the schema in {_display_url(ctx.url)} …")
                upgrade(ctx.url)
            total = importer.total_steps
            with (
                get_database(ctx.app).write() as session,
                tqdm(total=total, unit="row", desc="Importing", file=sys.stderr) as bar,
            ):
                report = importer.load_into(session, progress=bar.update, jobs=jobs)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    except TokenizingFailed as exc:
        raise _tokenizing_failed(exc) from exc
    click.echo(f"Imported {sum(report.rows.values())} row(s) into {_display_url(ctx.url)}:")
    for name, count in report.rows.items():
        click.echo(f"  {name:<24}{count:>10}")
    click.echo(
        f"Rebuilt the search index: {report.index.articles} article(s), "
        f"{report.index.documents} document(s)."
    )


@main.command("synth")
@click.option("--articles", default=10_000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option(
    "--products",
    default=200,
    show_default=True,
    type=click.IntRange(0, 999),
    help="Synthetic products added to the catalog (spreads articles as in a large catalog).",
)
@click.option("--seed", "seed_value", default=7, show_default=True, help="Random seed.")
@_jobs_option
@pass_ctx
def synth(ctx: _AppContext, articles: int, products: int, seed_value: int, jobs: int) -> None:
    """Load a synthetic bilingual corpus with realistic rules (for benchmarks and load tests).

    The database is migrated and the real seeds loaded first. Do not run this against a
    production database: it adds thousands of articles.
    """
    from tqdm import tqdm

    from .catalog.products import Catalog
    from .catalog.store import upsert_products
    from .fulltext.workers import TokenizingFailed
    from .storage.migrate import upgrade
    from .synth.corpus import load_corpus
    from .synth.rules import real_products, realistic_rules, synthetic_products
    from .transfer.seeding import seed

    upgrade(ctx.url)
    entries = real_products() + synthetic_products(products)
    try:
        with (
            tqdm(total=articles, unit="article", desc="Loading", file=sys.stderr) as bar,
            get_database(ctx.app).write() as session,
        ):
            seed(session, Path(ctx.app.config["SEEDS_DIR"]))
            upsert_products(session, entries)
            ids = load_corpus(
                session,
                articles,
                seed=seed_value,
                rules_factory=realistic_rules,
                catalog=Catalog.from_dicts(entries),
                progress=bar.update,
                jobs=jobs,
            )
    except TokenizingFailed as exc:
        raise _tokenizing_failed(exc) from exc
    click.echo(f"Loaded {len(ids)} synthetic articles over {len(entries)} products.")
