"""`kbservice import-text`: a legacy text article becomes a draft matching the seed."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from kbservice.cli import main
from kbservice.storage.db import make_null_pool_engine
from kbservice.storage.models import Draft

from .conftest import SEEDS, make_token

ORIGINAL = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "KB885348.ja.txt"


@pytest.fixture
def catalog_only(fresh_url: str, tmp_path: Path) -> CliRunner:
    """A migrated database with the product catalog but no articles."""
    seeds = tmp_path / "seeds"
    (seeds / "articles").mkdir(parents=True)
    shutil.copy(SEEDS / "products.yaml", seeds / "products.yaml")
    runner = CliRunner(env={"KB_DATABASE_URL": fresh_url})
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(main, ["seed", "--seeds-dir", str(seeds)]).exit_code == 0
    return runner


def test_import_text_creates_a_draft_that_publishes_as_the_seeded_article(
    catalog_only, fresh_url, make_app
):
    result = catalog_only.invoke(main, ["import-text", str(ORIGINAL), "--locale", "ja"])
    assert result.exit_code == 0, result.output
    assert "kb: 885348" in result.output
    assert "revision: 2.2" in result.output
    assert "applies to: windows_server_2003 edition=enterprise architecture=x86" in result.output
    assert "Saved a draft article for KB885348" in result.output

    app = make_app({"DATABASE_URL": fresh_url})
    client = app.test_client()
    assert client.get("/api/v1/articles/885348").status_code == 404  # drafts are not public
    editor = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    (draft,) = client.get("/api/v1/drafts", headers=editor).get_json()["items"]
    published = client.post(f"/api/v1/drafts/{draft['id']}/publish", json={}, headers=editor)
    assert published.status_code == 201, published.get_data(as_text=True)

    seed = yaml.safe_load((SEEDS / "articles" / "KB885348.yaml").read_text(encoding="utf-8"))
    article = client.get("/api/v1/articles/885348?locale=ja").get_json()
    assert article["title"] == seed["translations"]["ja"]["title"]
    assert article["sections"] == seed["translations"]["ja"]["sections"]
    assert article["keywords"] == seed["keywords"]
    assert article["related"] == seed["related"]
    assert [
        {k: e[k] for k in ("product", "edition", "architecture")} for e in article["applies_to"]
    ] == seed["applies_to"]
    assert article["revision"] == {"number": "2.2", "created_at": "2006-12-20T02:56:00Z"}


def test_import_text_of_a_known_article_is_a_translation_draft(cli, fresh_url):
    assert cli.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert cli.invoke(main, ["seed"]).exit_code == 0
    result = cli.invoke(main, ["import-text", str(ORIGINAL), "--locale", "ja"])
    assert result.exit_code == 0, result.output
    assert "ja translation draft" in result.output


def test_import_text_rejects_empty_input(catalog_only, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    result = catalog_only.invoke(main, ["import-text", str(empty), "--locale", "ja"])
    assert result.exit_code == 1
    assert "Error" in result.output


def _drafts(runner: CliRunner) -> int:
    """Drafts in the runner's database."""
    engine = make_null_pool_engine(runner.env["KB_DATABASE_URL"])
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(Draft))
    engine.dispose()
    return count


def test_import_text_of_a_shift_jis_file_names_the_byte_and_writes_nothing(catalog_only, tmp_path):
    # U+2022 has no Shift_JIS form; Japanese exports bullet with U+30FB (・).
    data = ORIGINAL.read_text(encoding="utf-8").replace("•", "・").encode("cp932")
    legacy = tmp_path / "KB885348.sjis.txt"
    legacy.write_bytes(data)
    offset = next(i for i, byte in enumerate(data) if byte >= 0x80)

    result = catalog_only.invoke(main, ["import-text", str(legacy), "--locale", "ja"])
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: {legacy} is not utf-8 text: byte 0x{data[offset]:02x} at offset {offset} "
    )
    assert "If it is Shift_JIS, pass --encoding cp932." in result.output
    assert "Traceback" not in result.output
    assert _drafts(catalog_only) == 0

    result = catalog_only.invoke(
        main, ["import-text", str(legacy), "--locale", "ja", "--encoding", "cp932"]
    )
    assert result.exit_code == 0, result.output
    assert "kb: 885348" in result.output and "Saved a draft article for KB885348" in result.output
    assert _drafts(catalog_only) == 1


def test_import_text_names_an_unknown_encoding(catalog_only):
    result = catalog_only.invoke(
        main, ["import-text", str(ORIGINAL), "--locale", "ja", "--encoding", "klingon"]
    )
    assert result.exit_code == 2
    assert "Invalid value for --encoding: unknown encoding 'klingon'" in result.output


def _properties_line(size: int) -> str:
    """An applies-to line of `size` comma-separated names the catalog does not know."""
    return ", ".join(f"Contoso Server {i}" for i in range(size))


def _long_parenthetical(size: int) -> str:
    """One name with `size` spaces inside, closed by an architecture in parentheses."""
    return "Contoso" + " " * size + "Server (32-bit x86)"


@pytest.mark.parametrize("line", [_properties_line, _long_parenthetical])
def test_import_text_takes_time_linear_in_the_properties_line(catalog_only, tmp_path, line):
    """8,000 comma segments (or spaces) finish fast, and 10× as many take about 10× as long."""
    original = ORIGINAL.read_text(encoding="utf-8")
    elapsed = {}
    for size in (8_000, 80_000):
        # The properties block closes the page: the long line becomes its last line.
        legacy = tmp_path / f"long-{size}.txt"
        legacy.write_text(f"{original.rstrip()}\n{line(size)}\n", encoding="utf-8")
        started = time.perf_counter()
        result = catalog_only.invoke(
            main, ["import-text", str(legacy), "--locale", "ja", "--kb", str(900_000 + size)]
        )
        elapsed[size] = time.perf_counter() - started
        assert result.exit_code == 0, result.output
        assert "unrecognised: Contoso" in result.output
        assert elapsed[8_000] < 2, elapsed  # quadratic, it took 39 s (comma segments)
    # Quadratic would be 100×; the command's fixed costs make linear less than 10×.
    assert elapsed[80_000] < 25 * elapsed[8_000], elapsed
