"""Turn domain objects into the JSON bodies the contract names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from ..applicability.preview import RulesPreview
from ..articles.reading import ArticleListHit, LocalizedArticle, RevisionInfo
from ..catalog.products import Catalog, Product


def rfc3339(moment: dt.datetime) -> str:
    """`2006-12-20T02:56:00Z`: UTC with a Z offset."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def revision_ref(revision: RevisionInfo) -> dict[str, Any]:
    """The short revision reference carried by article bodies."""
    return {"number": revision.number, "created_at": rfc3339(revision.created_at)}


def revision_body(revision: RevisionInfo) -> dict[str, Any]:
    """A revision in the history list."""
    return {**revision_ref(revision), "author": revision.author, "summary": revision.summary}


def applies_to_body(entry: Mapping[str, Any], catalog: Catalog, locale: str) -> dict[str, Any]:
    """An applies-to entry with its human label."""
    label = catalog.label(entry["product"], entry.get("edition"), entry.get("architecture"), locale)
    return {**entry, "label": label}


def notices_body(
    applies_to: Iterable[Mapping[str, Any]], catalog: Catalog, locale: str, today: dt.date
) -> list[dict[str, Any]]:
    """Lifecycle notices of every product the applies-to entries name, once per product."""
    notices: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in applies_to:
        product_id = entry["product"]
        if product_id in seen:
            continue
        seen.add(product_id)
        for notice in catalog.notices(product_id, today):
            notices.append(
                {
                    "kind": notice.kind,
                    "text": notice.text(locale),
                    "product": product_id,
                    "date": notice.date.isoformat(),
                }
            )
    return notices


def article_body(article: LocalizedArticle, catalog: Catalog, today: dt.date) -> dict[str, Any]:
    """The article representation of the contract, in the locale of its text."""
    text = article.text
    return {
        "kb": article.kb,
        "locale": text.locale,
        "source_locale": article.source_locale,
        "available_locales": article.available_locales,
        "translation_outdated": article.translation_outdated,
        "title": text.title,
        "sections": [{"heading": s.heading, "body": s.body} for s in text.sections],
        "keywords": list(article.keywords),
        "related": list(article.related),
        "applies_to": [applies_to_body(e, catalog, text.locale) for e in article.applies_to],
        "notices": notices_body(article.applies_to, catalog, text.locale, today),
        "revision": revision_ref(article.revision),
    }


def list_item_body(hit: ArticleListHit, locale: str) -> dict[str, Any]:
    """One entry of the article list."""
    chosen = locale if locale in hit.titles else hit.source_locale
    body: dict[str, Any] = {
        "kb": hit.kb,
        "locale": chosen,
        "title": hit.titles[chosen],
        "revision": revision_ref(hit.revision),
    }
    if hit.snippet is not None:
        body["snippet"] = hit.snippet
        body["matched_locale"] = hit.matched_locale
    if hit.score is not None:
        body["score"] = hit.score
    return body


def product_body(product: Product) -> dict[str, Any]:
    """A catalog product as the contract lists it."""
    return {
        "id": product.id,
        "names": dict(product.names),
        "editions": [edition.id for edition in product.editions],
        "architectures": list(product.architectures),
        "service_packs": [sp.number for sp in product.service_packs],
        "end_of_support": _iso(product.extended_end),
        "mainstream_end": _iso(product.mainstream_end),
        "service_pack_support": [
            {"number": sp.number, "end_of_support": _iso(sp.end_of_support)}
            for sp in product.service_packs
        ],
    }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def preview_body(preview: RulesPreview) -> dict[str, Any]:
    """`POST …/rules/preview`: each example's verdict and the registered systems that change."""
    return {
        "examples": [
            {"name": r.name, "expect": r.expect, "verdict": r.verdict, "ok": r.ok}
            for r in preview.examples
        ],
        "systems": {
            "changed": preview.systems.changed,
            "changes": [
                {"system": c.system, "verdict": c.verdict, "previous_verdict": c.previous_verdict}
                for c in preview.systems.changes
            ],
        },
    }
