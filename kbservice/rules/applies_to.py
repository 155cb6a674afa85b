"""The rule document an article's applies-to list stands for, when it has no rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def platform_rule(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The rule that one applies-to entry stands for: product, edition, architecture, SPs."""
    tests: list[dict[str, Any]] = [{"product": entry["product"]}]
    for key in ("edition", "architecture"):
        if entry.get(key):
            tests.append({key: entry[key]})
    bounds = {
        bound: entry[f"service_pack_{bound}"]
        for bound in ("min", "max")
        if entry.get(f"service_pack_{bound}") is not None
    }
    if bounds:
        tests.append({"service_pack": bounds})
    return {"all": tests}


def rules_from_applies_to(applies_to: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A rule document equivalent to an applies-to list, for articles without rules."""
    alternatives = [platform_rule(entry) for entry in applies_to]
    # An article that names no product can never be shown to apply.
    return {"any": alternatives} if alternatives else {"not": {"fact": "product", "exists": True}}
