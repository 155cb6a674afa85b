"""Realistic rule documents and a larger product catalog for synthetic benchmark corpora.

The real catalog has a handful of products; a benchmark of the product index needs many,
so `synthetic_products(n)` adds n products shaped like Windows Server 2003 (editions,
architectures, service packs) with ids `synthetic_product_001` … and no recognition
aliases. `realistic_rules` turns an article's applies-to list into a rule document like
the ones editors write: the platform, then a few conditions on facts, sometimes a
resolution by an installed update.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from ..config import PACKAGED_SEEDS
from ..rules.applies_to import platform_rule

CATALOG_FILE = PACKAGED_SEEDS / "products.yaml"
ROLES = ["vpn_server", "domain_controller", "file_server", "web_server", "dns_server"]


def real_products() -> list[dict[str, Any]]:
    """The seeded catalog entries, as dicts."""
    with CATALOG_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["products"]


def synthetic_products(count: int) -> list[dict[str, Any]]:
    """`count` extra products cloned from Windows Server 2003, without aliases."""
    template = next(p for p in real_products() if p["id"] == "windows_server_2003")
    products = []
    for number in range(1, count + 1):
        product = copy.deepcopy(template)
        product["id"] = f"synthetic_product_{number:03d}"
        product["names"] = {"en": f"Synthetic Product {number}", "ja": f"合成製品 {number}"}
        product["short_names"] = dict(product["names"])
        product["aliases"] = {}
        products.append(product)
    return products


def _condition(rng: random.Random) -> dict[str, Any]:
    kind = rng.randrange(5)
    if kind == 0:
        return {"fact": "behind_nat", "equals": rng.random() < 0.7}
    if kind == 1:
        return {"fact": "roles", "contains": rng.choice(ROLES)}
    if kind == 2:
        return {"fact": "ip_addresses", "in_cidr": ["10.0.0.0/8", "192.168.0.0/16"]}
    if kind == 3:
        return {"fact": "product_version", "version_ge": "5.2"}
    return {"not": {"fact": "roles", "contains": rng.choice(ROLES)}}


def realistic_rules(
    applies_to: Sequence[Mapping[str, Any]], rng: random.Random
) -> dict[str, Any] | None:
    """A rule document for an article covering `applies_to`."""
    if not applies_to:
        return None
    platform: dict[str, Any] = (
        platform_rule(applies_to[0])
        if len(applies_to) == 1
        else {"any": [platform_rule(entry) for entry in applies_to]}
    )
    conditions = [_condition(rng) for _ in range(rng.randint(0, 3))]
    document: dict[str, Any] = {"all": [platform, *conditions]} if conditions else platform
    if rng.random() < 0.3:
        fix = f"KB{rng.randint(800000, 999999)}"
        document["resolved_by"] = {"fact": "installed_updates", "contains": fix}
    return document
