"""Load the reviewable seed files (product catalog, articles) into the database, idempotently."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..articles.reading import NewArticle, create_article, normalize_kb
from ..catalog.store import upsert_products
from ..storage.models import Article


@dataclass
class SeedReport:
    """What a seed run changed."""

    products_changed: int = 0
    articles_created: list[str] = field(default_factory=list)
    articles_present: list[str] = field(default_factory=list)


def read_yaml(path: Path) -> Any:
    """Parse one seed file."""
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def article_from_seed(data: dict[str, Any]) -> NewArticle:
    """Turn one seeds/articles/*.yaml document into a NewArticle."""
    revision = data["revision"]
    created_at = dt.datetime.fromisoformat(str(revision["created_at"]).replace("Z", "+00:00"))
    return NewArticle(
        kb=str(data["kb"]),
        source_locale=data["source_locale"],
        texts={
            locale: (text["title"], text["sections"])
            for locale, text in data["translations"].items()
        },
        applies_to=data.get("applies_to") or [],
        rules=data.get("rules"),
        examples=data.get("examples") or [],
        keywords=data.get("keywords") or [],
        related=[str(kb) for kb in data.get("related") or []],
        number=str(revision["number"]),
        created_at=created_at,
        author=revision.get("author", "seed"),
        summary=revision.get("summary", "Seeded"),
    )


def seed(session: Session, seeds_dir: Path) -> SeedReport:
    """Load products and articles; existing articles are left as they are."""
    report = SeedReport()
    products_file = seeds_dir / "products.yaml"
    if products_file.exists():
        report.products_changed = upsert_products(session, read_yaml(products_file)["products"])
    known = set(session.scalars(select(Article.kb)))
    for path in sorted((seeds_dir / "articles").glob("*.yaml")):
        new = article_from_seed(read_yaml(path))
        if normalize_kb(new.kb) in known:
            report.articles_present.append(new.kb)
            continue
        create_article(session, new)
        report.articles_created.append(new.kb)
    return report
