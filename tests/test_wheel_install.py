"""A release: the sdist and wheel built, the wheel installed into a fresh venv, run from elsewhere.

The wheel is installed without its dependencies; the venv sees those of the environment
running the tests through a .pth file (fast, and no network beyond the isolated build).
kbservice itself must come from the wheel, never from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .servers import PROJECT, call, free_port, resolve_885348_by_kb999999

# Not part of a source tree: the repository itself and what .gitignore lists.
_NOT_SOURCE = (
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".*_cache",
    ".hypothesis",
    "instance",
)


@dataclass(frozen=True)
class Installed:
    """A venv holding the installed wheel, and a folder unrelated to the checkout."""

    script: Path
    python: Path
    env: dict[str, str]
    folder: Path

    def run(self, *args: str, url: str) -> str:
        """Run `kbservice ARGS` from the unrelated folder on `url`; return all it printed."""
        result = self.completed(*args, url=url)
        return result.stdout + result.stderr

    def completed(self, *args: str, url: str) -> subprocess.CompletedProcess[str]:
        """Run `kbservice ARGS` from the unrelated folder on `url`; it must succeed."""
        result = subprocess.run(
            [str(self.script), *args],
            cwd=self.folder,
            env={**self.env, "KB_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`python -m build` (sdist, then the wheel from it), installed into a fresh venv."""
    root = tmp_path_factory.mktemp("release")
    # A copy, so the build leaves nothing (egg-info, build/) in the checkout.
    source = root / "source"
    shutil.copytree(PROJECT, source, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    _run([sys.executable, "-m", "build", "--outdir", str(root / "dist"), str(source)], root)
    (wheel,) = (root / "dist").glob("kbservice-*.whl")
    assert len(list((root / "dist").glob("kbservice-*.tar.gz"))) == 1

    venv = root / "venv"
    # Without pip of its own (ensurepip is slow): this environment's pip installs into it.
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root)
    python = venv / "bin" / "python"
    purelib = subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip()
    # A path line adds that folder only; the .pth files in it (an editable kbservice) stay unread.
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "test-dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    _run([*pip, "--no-index", str(wheel)], root)

    folder = tmp_path_factory.mktemp("elsewhere")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin:/usr/local/bin"
    env["KB_LOG_LEVEL"] = "WARNING"
    return Installed(venv / "bin" / "kbservice", python, env, folder)


def test_kbservice_is_imported_from_the_installed_wheel(installed):
    where = subprocess.check_output(
        [str(installed.python), "-c", "import kbservice; print(kbservice.__file__)"],
        cwd=installed.folder,
        env=installed.env,
        text=True,
    )
    assert Path(where.strip()).is_relative_to(installed.python.parent.parent)


def test_every_command_runs_from_another_folder(installed, tmp_path):
    """The command line's own files (migrations, seeds, catalog) come from the wheel.

    One engine is enough here: what is under test is where files are found; the serve
    test below runs on both.
    """
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    assert "Database is up to date." in installed.run("db", "upgrade", url=url)
    assert "No drift" in installed.run("db", "check", url=url)
    assert "Created article KB885348" in installed.run("seed", url=url)
    assert "Indexed 1 article(s)" in installed.run("search", "reindex", url=url)
    installed.run("tokens", "create", "--name", "ops", "--role", "admin", url=url)
    dump = tmp_path / "kb.jsonl"
    installed.run("export", str(dump), url=url)

    restored = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    said = installed.run("import", str(dump), url=restored)
    assert "Rebuilt the search index: 1 article(s)" in said
    assert "ops" in installed.run("tokens", "list", url=restored)
    # synth reads the packaged product catalog.
    said = installed.run("synth", "--articles", "20", "--products", "2", url=restored)
    assert "Loaded 20 synthetic articles" in said


@pytest.fixture
def served(installed, fresh_url) -> Iterator[tuple[str, str]]:
    """The installed `kbservice serve` on an empty database; yields (site URL, database URL)."""
    port = free_port()
    log = installed.folder / f"serve-{port}.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(installed.script), "serve", "--port", str(port), "--workers", "1"],
            cwd=installed.folder,
            env={**installed.env, "KB_DATABASE_URL": fresh_url},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    site = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if call(f"{site}/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        yield site, fresh_url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_migrates_seeds_and_serves_api_pages_and_assets(installed, served):
    site, url = served
    status, _, body = call(f"{site}/api/v1/articles/885348?locale=en")
    assert status == 200
    assert body["kb"] == "885348" and "IPSec NAT-T" in body["title"]
    # Templates and static files come from the wheel too.
    page = urllib_get(f"{site}/kb/885348")
    assert "IPSec NAT-T" in page
    assert "body" in urllib_get(f"{site}/static/web/web.css")
    # A token created by the installed command line is accepted by the installed server.
    created = installed.completed(
        "tokens", "create", "--name", "deploy", "--role", "editor", url=url
    )
    resolve_885348_by_kb999999(f"{site}/api/v1", created.stdout.strip().splitlines()[-1])


def urllib_get(url: str) -> str:
    """The body of a GET that must answer 200, as text."""
    with urllib.request.urlopen(url, timeout=20) as response:
        assert response.status == 200
        return response.read().decode()
