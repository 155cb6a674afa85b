"""History: differences between revisions, and translations left behind by their source."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..storage.models import Article, Revision, RevisionText
from .reading import ArticleSnapshot, LocalizedText


def json_changes(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Path-level changes between two JSON values: added, removed and changed leaves."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[dict[str, Any]] = []
        for key in sorted(before.keys() | after.keys(), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in after:
                changes.append({"path": sub, "change": "removed", "from": before[key]})
            elif key not in before:
                changes.append({"path": sub, "change": "added", "to": after[key]})
            else:
                changes.extend(json_changes(before[key], after[key], sub))
        return changes
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            change
            for index, (old, new) in enumerate(zip(before, after, strict=True))
            for change in json_changes(old, new, f"{path}.{index}" if path else str(index))
        ]
    if before == after:
        return []
    return [{"path": path, "change": "changed", "from": before, "to": after}]


def _text_diff(old: LocalizedText | None, new: LocalizedText | None) -> dict[str, Any]:
    if old is None or new is None:
        return {"status": "added" if old is None else "removed"}
    sections: list[dict[str, Any]] = []
    for index in range(max(len(old.sections), len(new.sections))):
        before = old.sections[index] if index < len(old.sections) else None
        after = new.sections[index] if index < len(new.sections) else None
        if before is None or after is None:
            status = "added" if before is None else "removed"
            section = after or before
            assert section is not None
            sections.append({"index": index, "status": status, "heading": section.heading})
            continue
        if before == after:
            sections.append({"index": index, "status": "unchanged", "heading": after.heading})
            continue
        sections.append(
            {
                "index": index,
                "status": "changed",
                "heading": after.heading,
                "heading_from": before.heading if before.heading != after.heading else None,
                "body_diff": list(
                    difflib.unified_diff(
                        before.body.splitlines(), after.body.splitlines(), lineterm="", n=1
                    )
                ),
            }
        )
    changed = old.title != new.title or any(s["status"] != "unchanged" for s in sections)
    return {
        "status": "changed" if changed else "unchanged",
        "title": {"from": old.title, "to": new.title} if old.title != new.title else None,
        "sections": sections,
    }


def diff(old: ArticleSnapshot, new: ArticleSnapshot, locale: str | None = None) -> dict[str, Any]:
    """Per-locale, per-section text differences, rule changes and metadata changes."""
    locales = sorted(old.texts.keys() | new.texts.keys())
    if locale is not None:
        locales = [code for code in locales if code == locale]
    metadata = {
        name: json_changes(list(getattr(old, name)), list(getattr(new, name)))
        for name in ("keywords", "related", "applies_to")
    }
    return {
        "kb": new.kb,
        "from": old.revision.number,
        "to": new.revision.number,
        "texts": {code: _text_diff(old.texts.get(code), new.texts.get(code)) for code in locales},
        "rules": json_changes(old.rules, new.rules),
        "metadata": {name: changes for name, changes in metadata.items() if changes},
    }


@dataclass(frozen=True)
class OutdatedTranslation:
    """A translation written from an older source text than the current one."""

    kb: str
    locale: str
    title: str
    source_locale: str
    source_changed_in: str
    translated_from: str | None


def outdated_translations(session: Session) -> list[OutdatedTranslation]:
    """Every outdated translation of every article's current revision."""
    source = aliased(RevisionText)
    translation = aliased(RevisionText)
    rows = session.execute(
        select(
            Article.id,
            Article.kb,
            Article.source_locale,
            translation.locale,
            translation.title,
            translation.source_seq,
            source.changed_seq,
        )
        .join(Revision, (Revision.article_id == Article.id) & (Revision.seq == Article.current_seq))
        .join(
            source,
            (source.revision_id == Revision.id) & (source.locale == Article.source_locale),
        )
        .join(
            translation,
            (translation.revision_id == Revision.id)
            & (translation.locale != Article.source_locale),
        )
        .where(translation.source_seq < source.changed_seq)
        .order_by(Article.kb, translation.locale)
    ).all()
    wanted = {(row[0], seq) for row in rows for seq in (row[5], row[6])}
    numbers = {
        (article_id, seq): number
        for article_id, seq, number in session.execute(
            select(Revision.article_id, Revision.seq, Revision.number).where(
                Revision.article_id.in_({article_id for article_id, _ in wanted})
            )
        )
        if (article_id, seq) in wanted
    }
    return [
        OutdatedTranslation(
            kb=kb,
            locale=locale,
            title=title,
            source_locale=source_locale,
            source_changed_in=numbers[(article_id, changed)],
            translated_from=numbers.get((article_id, translated)),
        )
        for article_id, kb, source_locale, locale, title, translated, changed in rows
    ]
