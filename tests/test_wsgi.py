"""`gunicorn wsgi:app`: the same service, with the rules compiled before the first request."""

from __future__ import annotations

import os
import subprocess
import sys

from .servers import PROJECT, call, running_server
from .systems import SERVER_2003_VPN

SYSTEM = {**SERVER_2003_VPN, "behind_nat": True}


def test_preloaded_workers_share_the_rule_index_built_once_in_the_master(seeded_url, tmp_path):
    log = tmp_path / "wsgi.log"
    with running_server(seeded_url, 2, log, wsgi=True, log_level="INFO") as base:
        for _ in range(4):  # reaching both workers, most likely
            status, _, body = call(f"{base}/applicability", {"system": SYSTEM}, method="POST")
            assert status == 200, body
            assert "885348" in {result["kb"] for result in body["results"]}
    text = log.read_text()
    assert text.count("Indexed the rules of 1 article(s)") == 1, text


def test_a_database_not_ready_at_import_leaves_the_caches_for_later(tmp_path):
    env = {**os.environ, "KB_DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'kb.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Caches not built at start, they are built on first use" in result.stderr
