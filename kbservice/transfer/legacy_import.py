"""Import a legacy plain-text article as a draft, for an editor to review and publish."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..articles.drafts import DraftInfo, save_draft
from ..articles.reading import normalize_kb
from ..catalog.products import Catalog
from ..errors import ValidationFailed
from ..storage.models import Article
from .legacy_text import ParsedArticle, parse_legacy_text


@dataclass(frozen=True)
class ImportResult:
    """What was recognised and which draft holds it."""

    parsed: ParsedArticle
    draft: DraftInfo
    new_article: bool


def import_legacy_text(
    session: Session, text: str, *, locale: str, catalog: Catalog, author: str, kb: str | None
) -> ImportResult:
    """Parse `text`; a new KB becomes an article draft, a known one a translation draft."""
    parsed = parse_legacy_text(text, catalog, locale=locale)
    number = normalize_kb(kb) if kb else parsed.kb
    if number is None:
        raise ValidationFailed("The text names no KB number; pass one explicitly (--kb).")
    sections = [dict(section) for section in parsed.sections]
    article = session.scalar(select(Article).where(Article.kb == number))
    if article is None:
        payload = {
            "source_locale": locale,
            "texts": {locale: {"title": parsed.title, "sections": sections}},
            "applies_to": [dict(entry) for entry in parsed.applies_to],
            "keywords": list(parsed.keywords),
            "related": list(parsed.related),
            "number": parsed.revision_number or "1.0",
            "created_at": parsed.updated_at.isoformat() if parsed.updated_at else None,
            "summary": f"Imported from legacy text ({locale})",
        }
        draft, _ = save_draft(
            session, number, "article", payload, author=author, base_revision_id=None
        )
        return ImportResult(parsed, draft, new_article=True)
    draft, _ = save_draft(
        session,
        number,
        "translation",
        {"title": parsed.title, "sections": sections},
        author=author,
        base_revision_id=None,
        locale=locale,
    )
    return ImportResult(parsed, draft, new_article=False)
