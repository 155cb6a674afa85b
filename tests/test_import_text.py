"""`kbservice import-text`: a legacy text article becomes a draft matching the seed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kbservice.cli import main

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
