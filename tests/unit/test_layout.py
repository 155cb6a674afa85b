"""The package layout: no package import cycle, a domain free of HTTP, a documented tree."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kbservice"
DOMAIN = (
    "articles",
    "catalog",
    "applicability",
    "rules",
    "fulltext",
    "search",
    "storage",
    "access",
    "transfer",
    "synth",
    "inventory",
    "exports",
    "systems",
    "notify",
)
# Shared by api and web, so it leans on neither (nor on Flask).
SHARED = ("contract",)
HTTP_LIBRARIES = ("flask", "flask_", "werkzeug")
HTTP_PACKAGES = ("api", "web", "http")


def _module_name(path: Path) -> str:
    """kbservice/a/b.py → kbservice.a.b; a package's __init__.py names the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (links to migrations and seeds left out)."""
    return {
        _module_name(path): path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(
            part.startswith("_") and part != "__init__.py"
            for part in path.relative_to(PACKAGE).parts
        )
    }


def _imports(name: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Every module `name` imports, at any depth (a lazy import is still a dependency)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield submodule if submodule in modules else target


def _unit(module: str) -> str | None:
    """The package (or top-level module) of kbservice holding `module`; None outside."""
    parts = module.split(".")
    if parts[0] != "kbservice":
        return None
    return parts[1] if len(parts) > 1 else "kbservice"


def _graph() -> dict[str, dict[str, list[str]]]:
    """unit → {imported unit: [the importing modules]} over the whole package."""
    modules = _modules()
    graph: dict[str, dict[str, list[str]]] = {}
    for name, path in modules.items():
        source = _unit(name)
        for imported in _imports(name, path, modules):
            target = _unit(imported)
            if target and source and target != source:
                graph.setdefault(source, {}).setdefault(target, []).append(f"{name} → {imported}")
    return graph


def _find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One cycle of the graph as a list of units (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(unit: str) -> list[str] | None:
        state[unit] = 1
        path.append(unit)
        for target in sorted(graph.get(unit, {})):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[unit] = 2
        return None

    for unit in sorted(graph):
        if unit not in state and (cycle := visit(unit)):
            return cycle
    return None


def test_no_import_cycle_between_packages() -> None:
    graph = _graph()
    cycle = _find_cycle(graph)
    if cycle:
        edges = [f"{a} → {b}: {graph[a][b][0]}" for a, b in itertools.pairwise(cycle)]
        raise AssertionError("import cycle " + " → ".join(cycle) + "\n" + "\n".join(edges))


def test_domain_imports_no_http() -> None:
    modules = _modules()
    offending = []
    for name, path in modules.items():
        if _unit(name) not in DOMAIN + SHARED:
            continue
        for imported in _imports(name, path, modules):
            top = imported.split(".")[0]
            if (
                top in HTTP_LIBRARIES
                or top.startswith("flask_")
                or _unit(imported) in HTTP_PACKAGES
            ):
                offending.append(f"{name} imports {imported}")
    assert sorted(DOMAIN) == sorted(
        p.name for p in PACKAGE.iterdir() if p.name in DOMAIN and p.is_dir()
    )
    assert not offending, "\n".join(offending)


def test_web_does_not_import_api() -> None:
    modules = _modules()
    offending = [
        f"{name} imports {imported}"
        for name, path in modules.items()
        if _unit(name) == "web"
        for imported in _imports(name, path, modules)
        if _unit(imported) == "api"
    ]
    assert not offending, "\n".join(offending)


def test_architecture_table_names_existing_paths() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = re.search(r"^\| concern \| module \|\n\|[- |]+\|\n((?:\|.*\|\n)+)", text, re.M)
    assert table, "docs/architecture.md has no `| concern | module |` table"
    missing = []
    named = 0
    for row in table.group(1).splitlines():
        module_cell = row.strip("|").split("|")[-1]
        for path in re.findall(r"`([^`]+)`", module_cell):
            named += 1
            if not (ROOT / path.rstrip("/")).exists():
                missing.append(f"{path} (row: {row})")
    assert named, "the table names no path"
    assert not missing, "\n".join(missing)


def test_every_module_is_in_the_table() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(kbservice/[^`*]+)`", text))
    packages = {
        p.relative_to(ROOT).as_posix() + "/"
        for p in PACKAGE.iterdir()
        if (p / "__init__.py").exists()
    }
    top = {p.relative_to(ROOT).as_posix() for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    covered = {path for path in named} | {path.rstrip("/") + "/" for path in named}
    unnamed = sorted(
        item
        for item in packages | top
        if item not in covered and not any(n.startswith(item) for n in named)
    )
    assert not unnamed, "not named in docs/architecture.md: " + ", ".join(unnamed)
