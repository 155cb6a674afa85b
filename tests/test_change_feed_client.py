"""The reference client of docs/change-feed-client.md, run as written against a server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import make_token
from .servers import call, running_server

DOC = Path(__file__).resolve().parent.parent / "docs" / "change-feed-client.md"


def _client_code() -> str:
    (code,) = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return code


def test_the_reference_client_rechecks_only_changed_articles(seeded_url, tmp_path, make_app):
    script = tmp_path / "client.py"
    script.write_text(_client_code(), encoding="utf-8")
    systems = [
        {"id": "vpn-1", "product": "windows_server_2003", "service_pack": 1},
        {"id": "xp-1", "product": "windows_xp", "service_pack": 2},
    ]
    (tmp_path / "systems.json").write_text(json.dumps(systems))
    with running_server(seeded_url, 1, tmp_path / "server.log") as base:

        def run() -> list[list[str]]:
            done = subprocess.run(
                [sys.executable, str(script)],
                cwd=tmp_path,
                env={**os.environ, "KB_API": base},
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            return [line.split() for line in done.stdout.splitlines()]

        first = run()
        assert {(row[0], row[1]) for row in first} == {("vpn-1", "885348"), ("xp-1", "885348")}
        assert run() == []  # nothing published since: nothing re-checked
        token = make_token(make_app({"DATABASE_URL": seeded_url}), "editor")
        article = {
            "kb": "900501",
            "source_locale": "en",
            "title": "XP only",
            "sections": [{"heading": None, "body": "Body."}],
            "applies_to": [{"product": "windows_xp"}],
            "rules": {"product": "windows_xp"},
        }
        status, _, _ = call(
            f"{base}/articles", article, {"Authorization": f"Bearer {token}"}, method="POST"
        )
        assert status == 201
        assert sorted(run()) == [
            ["vpn-1", "900501", "not_applicable", "1.0"],
            ["xp-1", "900501", "applies", "1.0"],
        ]
        assert run() == []
