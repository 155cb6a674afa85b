"""An article as a CSAF 2.0 informational advisory (docs/exports.md)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..articles.reading import ArticleSnapshot, RevisionInfo
from ..catalog.products import Catalog, Product
from ..contract.presenters import rfc3339
from ..rules.applies_to import rules_from_applies_to
from ..rules.messages import describe_rules
from .links import Links

CSAF_VERSION = "2.0"
# CPE 2.3 `update` of a service pack level; NVD writes the original release as `-`.
_RTM = "-"
_TITLES = {
    "en": {"summary": "Summary", "conditions": "When this article applies"},
    "ja": {"summary": "概要", "conditions": "この資料が該当する条件"},
}


@dataclass(frozen=True)
class Publisher:
    """Who the advisory names as its publisher (`document.publisher`)."""

    name: str
    namespace: str  # an absolute URI: the publisher's web site, by default kbservice's own


def csaf_document(
    snapshot: ArticleSnapshot,
    revisions: Sequence[RevisionInfo],
    catalog: Catalog,
    locale: str,
    publisher: Publisher,
    links: Links,
) -> dict[str, Any]:
    """The CSAF 2.0 document of the article's revision `snapshot`, in `locale` (or its source).

    `revisions` are the article's revisions (any order); those up to `snapshot`'s become
    the revision history, numbered by their gap-free sequence (CSAF integer versioning)
    with the article's own number (`2.2`) as `legacy_version`.
    """
    text = snapshot.text(locale)
    language = text.locale if text.locale in _TITLES else "en"
    history = sorted((r for r in revisions if r.seq <= snapshot.revision.seq), key=lambda r: r.seq)
    rules = snapshot.rules
    if rules is None:
        rules = rules_from_applies_to(snapshot.applies_to)
    notes = [
        {
            "category": "summary",
            "title": (text.sections[0].heading if text.sections else None)
            or _TITLES[language]["summary"],
            "text": text.sections[0].body if text.sections else text.title,
        },
        {
            "category": "general",
            "title": _TITLES[language]["conditions"],
            "text": describe_rules(rules, text.locale),
        },
    ]
    references = [
        {"category": "self", "summary": f"KB{snapshot.kb} (CSAF)", "url": links.csaf(snapshot.kb)},
        # The article this advisory was made from, with its full text.
        {
            "category": "external",
            "summary": f"KB{snapshot.kb}: {text.title}",
            "url": links.page(snapshot.kb),
        },
        *(
            {"category": "external", "summary": f"KB{kb}", "url": links.page(kb)}
            for kb in dict.fromkeys(snapshot.related)
        ),
    ]
    document: dict[str, Any] = {
        "category": "csaf_informational_advisory",
        "csaf_version": CSAF_VERSION,
        "lang": text.locale,
        "notes": notes,
        "publisher": {
            "category": "other",
            "name": publisher.name,
            "namespace": publisher.namespace,
        },
        "references": references,
        "title": f"KB{snapshot.kb}: {text.title}",
        "tracking": {
            "current_release_date": rfc3339(snapshot.revision.created_at),
            "generator": {"engine": {"name": "kbservice"}},
            "id": f"KB{snapshot.kb}",
            "initial_release_date": rfc3339(history[0].created_at),
            "revision_history": [
                {
                    "date": rfc3339(revision.created_at),
                    "legacy_version": revision.number,
                    "number": str(revision.seq),
                    "summary": revision.summary or f"Revision {revision.number}",
                }
                for revision in history
            ],
            "status": "final",
            "version": str(snapshot.revision.seq),
        },
    }
    if text.locale != snapshot.source_locale:
        document["source_lang"] = snapshot.source_locale
    body: dict[str, Any] = {"document": document}
    products = list(_products(snapshot.applies_to, catalog, text.locale))
    if products:
        body["product_tree"] = {"full_product_names": products}
    return body


def _products(
    applies_to: Sequence[Mapping[str, Any]], catalog: Catalog, locale: str
) -> Iterator[dict[str, Any]]:
    """One full product name per applies-to entry, or per service pack when it names some."""
    seen: set[str] = set()
    for entry in applies_to:
        product = catalog.get(entry["product"])
        edition, architecture = entry.get("edition"), entry.get("architecture")
        for level, level_name in _levels(product, entry):
            sp = "any" if level is None else f"sp{level}"
            product_id = "-".join((entry["product"], edition or "any", architecture or "any", sp))
            if product_id in seen:
                continue
            seen.add(product_id)
            if product is None:  # gone from the catalog since: named, but without a CPE
                yield {"name": product_id, "product_id": product_id}
                continue
            name = product.label(edition, architecture, locale)
            yield {
                "name": f"{name}, {level_name}" if level_name else name,
                "product_id": product_id,
                "product_identification_helper": {
                    "cpe": _cpe(product, edition, architecture, level)
                },
            }


def _levels(product: Product | None, entry: Mapping[str, Any]) -> list[tuple[int | None, str]]:
    """(number, name) of each service pack the entry covers; one `(None, "")` for all."""
    low, high = entry.get("service_pack_min"), entry.get("service_pack_max")
    if product is None or (low is None and high is None):
        return [(None, "")]
    covered = [
        sp
        for sp in product.service_packs
        if (low is None or sp.number >= low) and (high is None or sp.number <= high)
    ]
    if not covered or len(covered) == len(product.service_packs):
        return [(None, "")]
    return [(sp.number, sp.name) for sp in covered]


def _cpe(product: Product, edition: str | None, architecture: str | None, level: int | None) -> str:
    """`cpe:2.3:o:vendor:product:*:update:edition:*:*:*:target_hw:*`, as catalog facts read it."""
    # Catalog ids are [a-z0-9_.-], which a CPE 2.3 formatted string takes unquoted.
    prefix = product.cpe[0] if product.cpe else f"cpe:2.3:o:*:{product.id}"
    update = "*" if level is None else f"sp{level}" if level else _RTM
    fields = (prefix, "*", update, edition or "*", "*", "*", "*", architecture or "*", "*")
    return ":".join(fields)
