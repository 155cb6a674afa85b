"""Backup and restore: `kbservice export` and `kbservice import`, on each engine and across them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select, sql

from kbservice import create_app
from kbservice.access.tokens import Role, create_token
from kbservice.articles.audit import Actor, record
from kbservice.articles.drafts import save_draft
from kbservice.articles.reading import NewArticle, create_article, find_article
from kbservice.articles.revisions import Change, publish
from kbservice.cli import main
from kbservice.fulltext import index_article
from kbservice.fulltext.engines import is_fts_table
from kbservice.http.context import get_database
from kbservice.storage.db import Database, make_null_pool_engine
from kbservice.storage.migrate import needs_setup, upgrade
from kbservice.storage.models import Article, Revision
from kbservice.transfer import backup

from .conftest import DatabaseFactory

KB = "885348"
ARTICLE = f"/api/v1/articles/{KB}"
# Text that JSON lines must carry intact: newlines, U+2028, emoji, CJK, quotes.
AWKWARD = "line one\nline two\u2028“quoted” 🎉 日本語 \\ back"


def _run(url: str, *args: str) -> Result:
    return CliRunner(env={"KB_DATABASE_URL": url}).invoke(main, list(args))


def _export(url: str, path: Path) -> bytes:
    result = _run(url, "export", str(path))
    assert result.exit_code == 0, result.output
    return path.read_bytes()


def _import(url: str, path: Path) -> Result:
    result = _run(url, "import", str(path))
    assert result.exit_code == 0, result.output
    return result


@contextmanager
def _database(url: str) -> Iterator[Database]:
    database = Database(make_null_pool_engine(url))
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def _client(url: str) -> Iterator[FlaskClient]:
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    try:
        yield app.test_client()
    finally:
        get_database(app).dispose()


def _current_revision_id(session: Any) -> int:
    article = find_article(session, KB)
    return session.scalar(
        select(Revision.id).where(
            Revision.article_id == article.id, Revision.seq == article.current_seq
        )
    )


def _add_history(url: str) -> dict[str, str]:
    """A second revision with a new translation, a draft, tokens and an audit event."""
    with _database(url) as database, database.write() as session:
        snapshot = publish(
            session,
            KB,
            _current_revision_id(session),
            Change(texts={"en": ("IPsec NAT-T, revisited", [{"heading": None, "body": AWKWARD}])}),
            author="Emi Editor",
            summary="Retranslate",
        )
        # As the API's writers do: publish itself leaves the search index alone.
        index_article(session, snapshot.article_id)
        save_draft(
            session,
            KB,
            "translation",
            {"title": "Brouillon", "sections": [{"heading": "Résumé", "body": AWKWARD}]},
            author="Emi Editor",
            base_revision_id=snapshot.revision_id,
            locale="en",
        )
        tokens = {
            "editor": create_token(session, "Emi Editor", Role.EDITOR),
            "admin": create_token(session, "Ada Admin", Role.ADMIN),
        }
        record(
            session,
            Actor("Emi Editor", "192.0.2.7"),
            "translation.put",
            kb=KB,
            revision=snapshot.revision.number,
            details={"z": 1, "a": [AWKWARD, None, 2.5]},
        )
    with _client(url) as client:
        # Sets the token's last_used_at: a nullable timestamp with microseconds.
        assert client.get("/api/v1/drafts", headers=_bearer(tokens["editor"])).status_code == 200
    return tokens


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _api_reads(url: str, tokens: dict[str, str]) -> list[tuple[int, str | None, bytes]]:
    """Status, ETag and body of public and authenticated reads."""
    reads = [
        (f"{ARTICLE}?locale=ja", {}),
        (f"{ARTICLE}?locale=en", {}),
        (f"{ARTICLE}/revisions", {}),
        ("/api/v1/products", {}),
        ("/api/v1/drafts", _bearer(tokens["editor"])),
        ("/api/v1/audit", _bearer(tokens["admin"])),
    ]
    with _client(url) as client:
        responses = [client.get(path, headers=headers) for path, headers in reads]
        return [(r.status_code, r.headers.get("ETag"), r.get_data()) for r in responses]


def _row_counts(url: str) -> dict[str, int]:
    """Rows of every table except Alembic's and FTS5's (whose segments depend on history)."""
    engine = make_null_pool_engine(url)
    with engine.connect() as conn:
        names = {n for n in inspect(conn).get_table_names() if not is_fts_table(n)}
        names -= {"alembic_version"}
        counts = {n: conn.scalar(select(func.count()).select_from(sql.table(n))) for n in names}
    engine.dispose()
    return counts


def _lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines()]


@pytest.mark.parametrize(
    ("target", "batch_size"),
    [("no tables", backup.BATCH_SIZE), ("migrated", 2)],
    ids=["into-a-database-without-tables", "into-a-migrated-database-in-batches-of-2"],
)
def test_export_import_export_gives_the_same_bytes(
    seeded_url, fresh_url, tmp_path, monkeypatch, target, batch_size
):
    monkeypatch.setattr(backup, "BATCH_SIZE", batch_size)
    _add_history(seeded_url)
    if target == "migrated":
        upgrade(fresh_url)
    first = _export(seeded_url, tmp_path / "first.jsonl")
    imported = _import(fresh_url, tmp_path / "first.jsonl")
    assert "Imported" in imported.output and "Rebuilt the search index" in imported.output
    second = _export(fresh_url, tmp_path / "second.jsonl")
    assert first == second
    assert _row_counts(fresh_url) == _row_counts(seeded_url)

    header, *rows = _lines(first)
    assert header == {
        "format": "kbservice-export",
        "rows": header["rows"],
        "schema": backup.head_revision(),
        "version": 1,
    }
    assert header["rows"]["revisions"] == 2 and header["rows"]["api_tokens"] == 2
    tables = [row["table"] for row in rows]
    expected_order = [t.name for t in backup.export_tables() if header["rows"][t.name]]
    assert list(dict.fromkeys(tables)) == expected_order
    assert not any(name.startswith("search_") for name in tables)
    ids = [row["row"]["id"] for row in rows if row["table"] == "revision_texts"]
    assert ids == sorted(ids)
    token = next(row["row"] for row in rows if row["table"] == "api_tokens")
    assert token["revoked_at"] is None
    assert token["last_used_at"].endswith("Z") and len(token["last_used_at"]) == 27
    # Only the owner may read a backup: it holds token hashes.
    assert (tmp_path / "first.jsonl").stat().st_mode & 0o777 == 0o600


def test_export_to_standard_output_equals_the_file(seeded_url, tmp_path):
    _add_history(seeded_url)
    result = _run(seeded_url, "export", "-")
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == _export(seeded_url, tmp_path / "backup.jsonl")
    assert "Exported" in result.stderr


def test_restored_database_serves_the_same_api_and_accepts_new_writes(
    seeded_url, fresh_url, tmp_path
):
    tokens = _add_history(seeded_url)
    _export(seeded_url, tmp_path / "backup.jsonl")
    _import(fresh_url, tmp_path / "backup.jsonl")
    assert _api_reads(fresh_url, tokens) == _api_reads(seeded_url, tokens)
    with _client(fresh_url) as client:
        hits = client.get("/api/v1/articles?q=revisited&locale=en").get_json()["items"]
        assert [hit["kb"] for hit in hits] == [KB]

    # New rows get new ids: on PostgreSQL the sequences were moved past the imported ones.
    with _database(fresh_url) as database, database.write() as session:
        publish(
            session,
            KB,
            _current_revision_id(session),
            Change(keywords=["restored"]),
            author="Emi Editor",
            summary="After restore",
        )
        created = create_article(
            session,
            NewArticle(kb="900001", source_locale="en", texts={"en": ("New", [{"body": "x"}])}),
        )
        save_draft(session, KB, "metadata", {}, author="Emi Editor", base_revision_id=None)
        create_token(session, "After Restore", Role.READER)
        record(session, Actor("Emi Editor"), "metadata.put", kb=KB)
    with _database(fresh_url) as database, database.session() as session:
        assert created.article_id == 2
        assert session.scalar(select(func.count()).select_from(Revision)) == 4
        assert session.scalar(select(Article.current_seq).where(Article.kb == KB)) == 3


def test_restore_across_engines_gives_the_same_bytes_and_api(
    engine_name, seeded_url, tmp_path, request
):
    """SQLite → PostgreSQL (and back) → export: the very same file, the very same API."""
    other = "postgresql" if engine_name == "sqlite" else "sqlite"
    factory = DatabaseFactory(other, tmp_path, request)
    target = factory.new_url()
    try:
        tokens = _add_history(seeded_url)
        first = _export(seeded_url, tmp_path / "first.jsonl")
        _import(target, tmp_path / "first.jsonl")
        assert _export(target, tmp_path / "second.jsonl") == first
        assert _api_reads(target, tokens) == _api_reads(seeded_url, tokens)
    finally:
        factory.drop(target)


def test_import_refuses_a_database_that_holds_rows(seeded_url, fresh_url, tmp_path):
    before = _export(seeded_url, tmp_path / "backup.jsonl")
    result = _run(seeded_url, "import", str(tmp_path / "backup.jsonl"))
    assert result.exit_code == 1
    assert "not empty" in result.output and "articles" in result.output
    assert _export(seeded_url, tmp_path / "after.jsonl") == before

    upgrade(fresh_url)
    with _database(fresh_url) as database, database.write() as session:
        create_token(session, "Early Bird", Role.READER)
    result = _run(fresh_url, "import", str(tmp_path / "backup.jsonl"))
    assert result.exit_code == 1
    assert "(api_tokens have rows)" in result.output


def test_import_needs_the_target_at_this_schema(seeded_url, fresh_url, tmp_path):
    _export(seeded_url, tmp_path / "backup.jsonl")
    upgrade(fresh_url, "0001")
    result = _run(fresh_url, "import", str(tmp_path / "backup.jsonl"))
    assert result.exit_code == 1
    assert "The database is at schema 0001" in result.output
    assert "run `kbservice db upgrade` on it first" in result.output


Corruption = Callable[[list[bytes]], tuple[list[bytes], str]]


def _dump(item: dict[str, Any]) -> bytes:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _edit_last_row(name: str, edit: Callable[[dict[str, Any]], Any], message: str) -> Corruption:
    """Change the row on the last line; `message` may name {line} and {table}."""

    def corrupt(lines: list[bytes]) -> tuple[list[bytes], str]:
        item = json.loads(lines[-1])
        edit(item["row"])
        return [*lines[:-1], _dump(item)], message.format(line=len(lines), table=item["table"])

    corrupt.__name__ = name
    return corrupt


def _cut_inside_last_line(lines: list[bytes]) -> tuple[list[bytes], str]:
    return [*lines[:-1], lines[-1][:-20]], f"Line {len(lines)} is incomplete"


def _drop_last_line(lines: list[bytes]) -> tuple[list[bytes], str]:
    return lines[:-1], "The file is truncated: rows are missing (revision_texts: "


def _garbage_last_line(lines: list[bytes]) -> tuple[list[bytes], str]:
    return [*lines[:-1], b'{"table": "revision_texts", "row": \n'], f"Line {len(lines)} is not"


def _invalid_utf8(lines: list[bytes]) -> tuple[list[bytes], str]:
    return [*lines[:-1], lines[-1].replace(b"{", b"{\xff", 1)], f"Line {len(lines)} is not UTF-8"


def _token_moved_to_the_end(lines: list[bytes]) -> tuple[list[bytes], str]:
    index = next(i for i, line in enumerate(lines) if b'"table":"api_tokens"' in line)
    moved = [*lines[:index], *lines[index + 1 :], lines[index]]
    return moved, f"Line {len(lines)}: api_tokens rows must come before revision_texts rows"


def _unknown_table(lines: list[bytes]) -> tuple[list[bytes], str]:
    extra = _dump({"row": {"term": "nat"}, "table": "search_postings"})
    return [*lines, extra], f"Line {len(lines) + 1}: unknown table 'search_postings'"


def _duplicate_last_row(lines: list[bytes]) -> tuple[list[bytes], str]:
    header = json.loads(lines[0])
    header["rows"]["revision_texts"] += 1
    message = f"{len(lines) + 1}: the database refused the revision_texts rows"
    return [_dump(header), *lines[1:], lines[-1]], message


def _one_row_too_many(lines: list[bytes]) -> tuple[list[bytes], str]:
    return [*lines, lines[-1]], f"Line {len(lines) + 1}: more revision_texts rows than the header"


@pytest.mark.parametrize(
    "corrupt",
    [
        _cut_inside_last_line,
        _drop_last_line,
        _garbage_last_line,
        _invalid_utf8,
        _token_moved_to_the_end,
        _unknown_table,
        _duplicate_last_row,
        _one_row_too_many,
        _edit_last_row(
            "unknown_column",
            lambda row: row.update(colour="red"),
            "Line {line}: {table} row with unknown colour column(s).",
        ),
        _edit_last_row(
            "missing_column",
            lambda row: row.pop("title"),
            "Line {line}: {table} row with missing title column(s).",
        ),
        _edit_last_row(
            "text_for_an_integer",
            lambda row: row.update(id="7"),
            "Line {line}: {table}.id expected an integer",
        ),
        _edit_last_row(
            "null_title",
            lambda row: row.update(title=None),
            "Line {line}: {table}.title must not be null",
        ),
    ],
    ids=lambda corrupt: corrupt.__name__.strip("_"),
)
def test_a_bad_file_is_refused_with_its_line_and_nothing_is_written(
    seeded_url, fresh_url, tmp_path, monkeypatch, corrupt
):
    # Batches of two: earlier batches are inserted before the bad line and must roll back.
    monkeypatch.setattr(backup, "BATCH_SIZE", 2)
    _add_history(seeded_url)
    lines = _export(seeded_url, tmp_path / "backup.jsonl").splitlines(keepends=True)
    assert json.loads(lines[-1])["table"] == "revision_texts"
    broken, message = corrupt(lines)
    (tmp_path / "broken.jsonl").write_bytes(b"".join(broken))
    result = _run(fresh_url, "import", str(tmp_path / "broken.jsonl"))
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert set(_row_counts(fresh_url).values()) == {0}


def test_bad_timestamps_and_dates_name_their_line(seeded_url, fresh_url, tmp_path):
    lines = _export(seeded_url, tmp_path / "backup.jsonl").splitlines(keepends=True)
    for table, column, value, expected in [
        ("revisions", "created_at", "2006-12-20 02:56:00", "expected a UTC timestamp"),
        ("revisions", "created_at", "2006-12-20T02:56:00.000000+09:00", "expected a UTC timestamp"),
        ("products", "mainstream_end", "14/04/2009", "expected a date"),
    ]:
        index = next(i for i, line in enumerate(lines) if f'"table":"{table}"'.encode() in line)
        item = json.loads(lines[index])
        item["row"][column] = value
        (tmp_path / "broken.jsonl").write_bytes(b"".join([*lines[:index], _dump(item)]))
        result = _run(fresh_url, "import", str(tmp_path / "broken.jsonl"))
        assert result.exit_code == 1
        assert f"Line {index + 1}: {table}.{column} {expected}" in result.output


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"hello": "world"}, "Line 1: not a kbservice export"),
        ({"format": "kbservice-export", "version": 2}, "export format version 2"),
        (
            {"format": "kbservice-export", "version": 1, "schema": "0001", "rows": {}},
            "Line 1: the file was exported at schema '0001', this kbservice is at",
        ),
    ],
)
def test_a_wrong_header_is_refused_before_the_database_is_touched(
    fresh_url, tmp_path, header, message
):
    (tmp_path / "other.jsonl").write_bytes(_dump(header))
    result = _run(fresh_url, "import", str(tmp_path / "other.jsonl"))
    assert result.exit_code == 1
    assert message in result.output
    assert needs_setup(fresh_url)


def test_an_empty_file_is_refused(fresh_url, tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    result = _run(fresh_url, "import", str(tmp_path / "empty.jsonl"))
    assert result.exit_code == 1
    assert "The file is empty." in result.output


def test_export_needs_a_migrated_database(fresh_url, tmp_path):
    result = _run(fresh_url, "export", str(tmp_path / "backup.jsonl"))
    assert result.exit_code == 1
    assert "run `kbservice db upgrade` on it first" in result.output
    assert not list(tmp_path.iterdir())


def test_help_explains_export_and_import():
    runner = CliRunner()
    export_help = runner.invoke(main, ["export", "--help"])
    assert export_help.exit_code == 0
    text = " ".join(export_help.output.split())
    assert "JSON lines" in text and '"-": standard output' in text
    import_help = runner.invoke(main, ["import", "--help"])
    assert import_help.exit_code == 0
    text = " ".join(import_help.output.split())
    assert "into an empty database: all or nothing" in text


def _nested(levels: int, leaf: Any) -> Any:
    for _ in range(levels):
        leaf = {"not": leaf}
    return leaf


# A value too deep for json.dumps is spliced into the line as text.
_DEEP_TEXT = '{"not":' * 5000 + '{"product":"windows_xp"}' + "}" * 5000


@pytest.mark.parametrize(
    ("table", "edit", "expected"),
    [
        (
            "revisions",
            lambda row: row.update(rules=_nested(40, {"product": "windows_xp"})),
            "revisions.rules.not.not.not.not.not.not.not.not.not.not.not.not.not.not.not.not.not"
            ".not.not.not.not.not.not.not.not.not.not.not.not.not.not.not: rules are nested "
            "deeper than the limit of 32 levels",
        ),
        (
            "revisions",
            lambda row: row.update(rules=_nested(600, {"product": "windows_xp"})),
            "revisions.rules is nested more than 64 levels deep (KB_MAX_JSON_DEPTH).",
        ),
        (
            "revisions",
            lambda row: row.update(rules="@DEEP@"),
            "revisions.rules is nested more than 64 levels deep (KB_MAX_JSON_DEPTH).",
        ),
        (
            "audit_events",
            lambda row: row.update(details="@DEEP@"),
            "audit_events.details is nested more than 64 levels deep (KB_MAX_JSON_DEPTH).",
        ),
        (
            "revisions",
            lambda row: row.update(rules={"any": [{"product": "windows_xp"}] * 1000}),
            "revisions.rules: the document has more than the limit of 1000 rule nodes",
        ),
        (
            "revisions",
            lambda row: row.update(rules={"fact": "ip", "in_cidr": ["10.0.0.0/8"] * 1001}),
            "revisions.rules.in_cidr: has 1001 items, more than the limit of 1000",
        ),
        (
            "revisions",
            lambda row: row.update(rules={"fact": "note", "equals": "x" * 70_000}),
            "revisions.rules: ",
        ),
        (
            "revisions",
            lambda row: row.update(rules={"product": "windows_xp", "produkt": "x"}),
            "revisions.rules.produkt: unknown key 'produkt' (did you mean 'product'?)",
        ),
        (
            "revisions",
            lambda row: row["examples"][0].update(expect="maybe"),
            "revisions.examples.0.expect: must be one of applies, not_applicable, unknown.",
        ),
        (
            "revisions",
            lambda row: row.update(examples=[{"name": "x", "expect": "applies"}]),
            "revisions.examples.0.system: must be a SYSTEM object.",
        ),
        (
            "api_tokens",
            lambda row: row.update(role="superuser"),
            "api_tokens.role: must be one of reader, inventory, editor, admin.",
        ),
        (
            "revision_texts",
            lambda row: row.update(locale="fr"),
            "revision_texts.locale: must be a configured locale: ja, en.",
        ),
        (
            "articles",
            lambda row: row.update(source_locale="de"),
            "articles.source_locale: must be a configured locale: ja, en.",
        ),
        (
            "articles",
            lambda row: row.update(kb="KB885348"),
            "articles.kb: must be a KB number such as 885348.",
        ),
        (
            "revisions",
            lambda row: row.update(applies_to=[{"product": "windows_95"}]),
            "revisions.applies_to.0.product: unknown product 'windows_95'.",
        ),
        (
            "revisions",
            lambda row: row["applies_to"][0].update(edition="home"),
            "revisions.applies_to.0.edition: windows_server_2003 has no edition 'home'.",
        ),
        (
            "revisions",
            lambda row: row["applies_to"][0].update(service_pack_min=-1),
            "revisions.applies_to.0.service_pack_min: expected a service pack number 0–99",
        ),
        (
            "revisions",
            lambda row: row.update(related=["next week"]),
            "revisions.related.0: expected KB numbers.",
        ),
        (
            "revision_texts",
            lambda row: row.update(sections=[{"title": "Summary"}]),
            'revision_texts.sections.0: expected {"heading": text or null, "body": text}.',
        ),
        (
            "drafts",
            lambda row: row["payload"].update(applies_to=[{"product": "windows_95"}]),
            "drafts.payload.applies_to.0.product: unknown product 'windows_95'.",
        ),
        (
            "drafts",
            lambda row: row["payload"].update(rules={"any": []}),
            "drafts.payload.rules.any: must contain at least one rule object.",
        ),
        (
            "products",
            lambda row: row["data"].update(id="windows_95"),
            "products.data.id: must be the row's id",
        ),
    ],
    ids=[
        "rule-40-levels",
        "rule-600-levels",
        "json-5000-levels",
        "audit-details-5000-levels",
        "rule-1001-nodes",
        "rule-1001-list-items",
        "rule-over-64-kib",
        "rule-unknown-key",
        "example-bad-expect",
        "example-without-system",
        "role-superuser",
        "text-locale-fr",
        "source-locale-de",
        "kb-not-canonical",
        "applies-to-unknown-product",
        "applies-to-unknown-edition",
        "applies-to-negative-sp",
        "related-not-a-kb",
        "section-without-body",
        "draft-applies-to-unknown-product",
        "draft-rules-invalid",
        "product-id-mismatch",
    ],
)
def test_import_refuses_what_the_api_would_refuse(
    seeded_url, fresh_url, tmp_path, monkeypatch, table, edit, expected
):
    """A tampered row: non-zero exit, its line and field named, and no row written."""
    # Batches of two: rows before the bad one are inserted first and must be rolled back.
    monkeypatch.setattr(backup, "BATCH_SIZE", 2)
    _add_history(seeded_url)
    lines = _export(seeded_url, tmp_path / "backup.jsonl").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if f'"table":"{table}"'.encode() in line)
    item = json.loads(lines[index])
    edit(item["row"])
    lines[index] = _dump(item).replace(b'"@DEEP@"', _DEEP_TEXT.encode())
    (tmp_path / "tampered.jsonl").write_bytes(b"".join(lines))

    result = _run(fresh_url, "import", str(tmp_path / "tampered.jsonl"))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"Error: Line {index + 1}: {expected}" in result.output
    assert "Traceback" not in result.output
    assert set(_row_counts(fresh_url).values()) == {0}


def test_import_checks_against_the_configured_limits(seeded_url, fresh_url, tmp_path):
    _add_history(seeded_url)
    lines = _export(seeded_url, tmp_path / "backup.jsonl").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if b'"table":"revisions"' in line)
    item = json.loads(lines[index])
    item["row"]["rules"] = _nested(40, {"product": "windows_server_2003"})
    lines[index] = _dump(item)
    (tmp_path / "deep.jsonl").write_bytes(b"".join(lines))

    # The seed's rules list two editions: a limit of one item per list refuses them.
    one_item = CliRunner(env={"KB_DATABASE_URL": fresh_url, "KB_MAX_RULE_LIST_ITEMS": "1"})
    result = one_item.invoke(main, ["import", str(tmp_path / "backup.jsonl")])
    assert result.exit_code == 1
    assert "more than the limit of 1" in result.output
    assert set(_row_counts(fresh_url).values()) == {0}

    only_ja = CliRunner(env={"KB_DATABASE_URL": fresh_url, "KB_LOCALES": "ja"})
    result = only_ja.invoke(main, ["import", str(tmp_path / "backup.jsonl")])
    assert result.exit_code == 1
    assert "drafts.locale: must be a configured locale: ja." in result.output  # an en draft
    assert set(_row_counts(fresh_url).values()) == {0}

    deeper = CliRunner(env={"KB_DATABASE_URL": fresh_url, "KB_MAX_RULE_DEPTH": "41"})
    result = deeper.invoke(main, ["import", str(tmp_path / "deep.jsonl")])
    assert result.exit_code == 0, result.output
    assert _export(fresh_url, tmp_path / "again.jsonl") == b"".join(lines)
