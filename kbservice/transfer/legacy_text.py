"""Parse legacy plain-text knowledge-base articles, as exported from help-center pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..articles.locales import primary_tag
from ..catalog.products import Catalog

# Sentence-final punctuation: a line ending with one is a paragraph, never a heading.
_STOPS = "。．.:：!！?？"
_CLOSERS = "\"'”’」』)）"
_BULLET = re.compile(r"[•・●▪■]\s*(?P<text>\S.*)")
_NUMBERED = re.compile(r"(?P<number>\d{1,3})\.\s+(?P<text>\S.*)")
_CIDR = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}")
_KB_REFERENCE = re.compile(r"(?P<kb>\d{6,7})\s+\S.*")

_Block = tuple[str, str]  # (kind, Markdown)
_Section = tuple[str | None, list[_Block]]  # (heading, blocks)


class LegacyTextError(ValueError):
    """The text cannot be read as a legacy article (empty, no title, unknown locale)."""


def _article_line(article_id: str, last_review: str, revision: str) -> re.Pattern[str]:
    colon = r"\s*[:：]\s*"
    return re.compile(
        rf"{article_id}{colon}(?:KB)?(?P<kb>\d+)\s*-\s*"
        rf"{last_review}{colon}(?P<month>\d{{1,2}})/(?P<day>\d{{1,2}})/(?P<year>\d{{4}})"
        r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?\s*-\s*"
        rf"{revision}{colon}(?P<revision>\d+(?:\.\d+)*)",
        re.IGNORECASE,
    )


@dataclass(frozen=True)
class _Vocabulary:
    """The fixed words of a help-center page in one language."""

    chrome: tuple[str, ...]  # prefixes of browser-chrome lines around the article
    headings: frozenset[str]  # casefolded headings recognised even without body text after them
    more_information: frozenset[str]  # casefolded headings whose KB-number lines are related
    properties: str
    article_label: str
    article_line: re.Pattern[str]


_VOCABULARIES = {
    "ja": _Vocabulary(
        chrome=("現在オフラインです", "フィードバック"),
        headings=frozenset(
            {"はじめに", "概要", "詳細", "詳細情報", "症状", "原因", "解決方法", "回避策", "状況"}
        ),
        more_information=frozenset({"詳細", "詳細情報"}),
        properties="プロパティ",
        article_label="文書番号",
        article_line=_article_line("文書番号", "最終更新日", "リビジョン"),
    ),
    "en": _Vocabulary(
        chrome=("You are offline", "You're offline", "Feedback"),
        headings=frozenset(
            {
                "introduction",
                "summary",
                "more information",
                "symptoms",
                "cause",
                "resolution",
                "workaround",
                "status",
            }
        ),
        more_information=frozenset({"more information"}),
        properties="Properties",
        article_label="Article ID",
        article_line=_article_line("Article ID", "Last Review", "Revision"),
    ),
}


@dataclass(frozen=True)
class ParsedArticle:
    """What was read from a legacy article, shaped like the seed YAML's fields."""

    kb: str | None
    title: str
    sections: tuple[dict[str, Any], ...]  # {"heading": str | None, "body": markdown}
    revision_number: str | None
    updated_at: datetime | None  # aware UTC
    keywords: tuple[str, ...]
    related: tuple[str, ...]
    applies_to: tuple[dict[str, Any], ...]  # {"product", "edition", "architecture"}
    banners: tuple[str, ...]  # banner lines dropped from the text
    unrecognised: tuple[str, ...]  # applies-to phrases or property lines that could not be mapped

    def report(self) -> list[str]:
        """Human-readable lines: what was recognised, what was dropped and what was not mapped."""
        headings = ", ".join(s["heading"] or "(no heading)" for s in self.sections)
        lines = [
            f"title: {self.title}",
            f"sections: {len(self.sections)}" + (f" ({headings})" if headings else ""),
            f"kb: {self.kb or 'not found'}",
            f"revision: {self.revision_number or 'not found'}",
            f"updated at: {self.updated_at.isoformat() if self.updated_at else 'not found'}",
            f"keywords: {' '.join(self.keywords) or 'none'}",
            f"related: {', '.join(self.related) or 'none'}",
        ]
        lines += [
            f"applies to: {e['product']} edition={e['edition'] or 'any'} "
            f"architecture={e['architecture']}"
            for e in self.applies_to
        ] or ["applies to: none"]
        lines += [f"banner dropped: {banner}" for banner in self.banners]
        lines += [f"unrecognised: {item}" for item in self.unrecognised]
        return lines


def parse_legacy_text(text: str, catalog: Catalog, *, locale: str = "ja") -> ParsedArticle:
    """Parse a help-center text export into title, Markdown sections and properties."""
    vocabulary = _VOCABULARIES.get(primary_tag(locale))
    if vocabulary is None:
        raise LegacyTextError(f"unsupported locale {locale!r}: expected one of ja, en")
    # Blank lines are not reliable block separators in these exports: every line is a block.
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = _strip_chrome(lines, vocabulary)
    if not lines:
        raise LegacyTextError("no title: the text is empty or holds only page chrome")
    title, rest = lines[0], lines[1:]
    if title == vocabulary.properties:
        raise LegacyTextError("no title: the text starts with the properties block")
    if vocabulary.properties in rest:
        # The last marker: the properties block closes the page.
        marker = len(rest) - 1 - rest[::-1].index(vocabulary.properties)
        body, properties = rest[:marker], rest[marker + 1 :]
    else:
        body, properties = rest, []
    banners, body = _split_banners(body, _lifecycle_banners(catalog, locale))
    sections = _sections(body, vocabulary)
    props = _properties(properties, catalog, vocabulary)
    return ParsedArticle(
        kb=props.kb,
        title=title,
        sections=tuple({"heading": h, "body": _markdown(blocks)} for h, blocks in sections),
        revision_number=props.revision_number,
        updated_at=props.updated_at,
        keywords=props.keywords,
        related=_related(sections, vocabulary, props.kb),
        applies_to=props.applies_to,
        banners=tuple(banners),
        unrecognised=props.unrecognised,
    )


def _strip_chrome(lines: list[str], vocabulary: _Vocabulary) -> list[str]:
    # Chrome only surrounds the article; the same words inside it are text.
    start, end = 0, len(lines)
    while start < end and lines[start].startswith(vocabulary.chrome):
        start += 1
    while end > start and lines[end - 1].startswith(vocabulary.chrome):
        end -= 1
    return lines[start:end]


def _unstop(text: str) -> str:
    return text.rstrip().rstrip(_STOPS)


def _opens_with(text: str, head: str) -> bool:
    # `head` is the first sentence of `text`.
    return (
        bool(head) and len(text) > len(head) and text.startswith(head) and text[len(head)] in _STOPS
    )


def _lifecycle_banners(catalog: Catalog, locale: str) -> set[str]:
    """Every lifecycle notice the catalog can generate in `locale`, without its final stop."""
    texts: set[str] = set()
    for product in catalog.products:
        days = [product.mainstream_end, product.extended_end]
        days += [sp.end_of_support for sp in product.service_packs if sp.end_of_support]
        for level in (None, *(sp.number for sp in product.service_packs)):
            for day in days:
                for notice in product.lifecycle_notices(day + timedelta(days=1), level):
                    texts.add(_unstop(notice.text(locale)))
    return texts


def _split_banners(lines: list[str], generated: set[str]) -> tuple[list[str], list[str]]:
    """Split the banner lines that open the body (a heading, then its repeating paragraph)."""
    known = set(generated)
    count = 0
    while count < len(lines):
        line = lines[count]
        head = _unstop(line)
        following = lines[count + 1] if count + 1 < len(lines) else ""
        # A banner the catalog does not generate is still told by its paragraph repeating it.
        if head in known or _opens_with(following, head):
            known.add(head)
        elif not any(_opens_with(line, banner) for banner in known):
            break
        count += 1
    return lines[:count], lines[count:]


def _block(line: str) -> _Block:
    """A line as (kind, Markdown): a paragraph, a bullet item or a numbered item."""
    if found := _BULLET.fullmatch(line):
        return "bullet", f"- {found['text']}"
    if _CIDR.fullmatch(line):
        return "bullet", f"- {line}"
    if found := _NUMBERED.fullmatch(line):
        return "numbered", f"{found['number']}. {found['text']}"
    return "paragraph", line


def _is_heading(line: str, followed: bool, vocabulary: _Vocabulary) -> bool:
    if _block(line)[0] != "paragraph" or _KB_REFERENCE.fullmatch(line):
        return False
    if line.casefold() in vocabulary.headings:
        return True
    # Otherwise a heading is an unpunctuated line that body text follows.
    return followed and line.rstrip(_CLOSERS)[-1:] not in _STOPS


def _sections(lines: list[str], vocabulary: _Vocabulary) -> list[_Section]:
    sections: list[_Section] = []
    for index, line in enumerate(lines):
        if _is_heading(line, index + 1 < len(lines), vocabulary):
            sections.append((line, []))
        else:
            if not sections:
                sections.append((None, []))
            sections[-1][1].append(_block(line))
    return sections


def _markdown(blocks: list[_Block]) -> str:
    """Paragraphs and lists separated by blank lines; a list's items on consecutive lines."""
    parts: list[list[str]] = []  # lines of each part, joined once (+= would copy each time)
    previous = None
    for kind, text in blocks:
        if kind != "paragraph" and kind == previous:
            parts[-1].append(text)
        else:
            parts.append([text])
        previous = kind
    return "\n\n".join("\n".join(lines) for lines in parts) + "\n" if parts else ""


def _related(
    sections: list[_Section],
    vocabulary: _Vocabulary,
    kb: str | None,
) -> tuple[str, ...]:
    """KB numbers opening the lines of the last "more information" section."""
    last = [
        blocks
        for heading, blocks in sections
        if heading and heading.casefold() in vocabulary.more_information
    ]
    related: dict[str, None] = {}  # ordered, and a set: no list scan per line
    for kind, text in last[-1] if last else []:
        found = _KB_REFERENCE.fullmatch(text) if kind == "paragraph" else None
        if found and found["kb"] != kb:
            related[found["kb"]] = None
    return tuple(related)


@dataclass(frozen=True)
class _Properties:
    """What the properties block says."""

    kb: str | None = None
    revision_number: str | None = None
    updated_at: datetime | None = None
    keywords: tuple[str, ...] = ()
    applies_to: tuple[dict[str, Any], ...] = ()
    unrecognised: tuple[str, ...] = ()


def _properties(lines: list[str], catalog: Catalog, vocabulary: _Vocabulary) -> _Properties:
    kb = revision = updated_at = None
    keywords: list[str] = []
    applies_to: list[dict[str, Any]] = []
    unrecognised: list[str] = []
    for line in lines:
        if found := vocabulary.article_line.fullmatch(line):
            try:
                updated_at = datetime(
                    *(int(found[k] or 0) for k in ("year", "month", "day", "hour", "minute")),
                    int(found["second"] or 0),
                    tzinfo=UTC,  # the page gives no zone; the seed records take it as UTC
                )
            except ValueError:
                unrecognised.append(line)
                continue
            kb, revision = found["kb"], found["revision"]
        elif line.casefold().startswith(vocabulary.article_label.casefold()):
            unrecognised.append(line)
        elif found := _BULLET.fullmatch(line):
            keywords += found["text"].split()
        else:
            for phrase in _phrases(line, catalog):
                entry = _applies_to_entry(phrase, catalog)
                if entry is None:
                    unrecognised.append(phrase)
                elif entry not in applies_to:
                    applies_to.append(entry)
    return _Properties(
        kb, revision, updated_at, tuple(keywords), tuple(applies_to), tuple(unrecognised)
    )


def _phrases(line: str, catalog: Catalog) -> list[str]:
    """Split an applies-to line into product phrases."""
    # Names hold commas ("Microsoft Windows Server 2003, Enterprise Edition (32-bit x86)"), so a
    # segment joins the phrase before it unless it names a product itself. Phrases are kept
    # as their segments and joined once: a line of thousands of segments stays linear.
    phrases: list[list[str]] = []
    length = 0  # characters of the last phrase
    for segment in filter(None, (s.strip() for s in line.split(","))):
        if (
            phrases
            and catalog.match_caption(segment) is None
            and _continues(phrases[-1], length, segment, catalog)
        ):
            phrases[-1].append(segment)
            length += 2 + len(segment)
        else:
            phrases.append([segment])
            length = len(segment)
    return [", ".join(segments) for segments in phrases]


# Far longer than any product name with its qualifiers: a phrase this long is not matched
# against the catalog again as it grows (matching is linear in its length, per segment).
_MAX_NAME_LENGTH = 500


def _continues(segments: list[str], length: int, segment: str, catalog: Catalog) -> bool:
    if segments[-1].endswith(")"):
        return False  # an architecture in parentheses closes a phrase
    if length > _MAX_NAME_LENGTH:
        return True  # an unknown name with its qualifiers, reported as one
    phrase = ", ".join(segments)
    current = catalog.match_caption(phrase)
    if current is None:
        return True  # keep an unknown name together with its qualifiers, reported as one
    if current.edition is not None:
        return False
    combined = catalog.match_caption(f"{phrase}, {segment}")
    return combined is not None and combined.edition is not None


def _applies_to_entry(phrase: str, catalog: Catalog) -> dict[str, Any] | None:
    """The catalog product, edition and architecture a phrase names, if it names one."""
    found = _parenthetical(phrase)
    match = catalog.match_caption(found[0] if found else phrase)
    if match is None:
        return None
    # Without parentheses the caption rules apply, e.g. "x64 Edition" or the 32-bit default.
    architecture = _architecture(found[1], catalog) if found else match.architecture
    if architecture is None or match.product.architecture(architecture) is None:
        return None
    return {"product": match.product.id, "edition": match.edition, "architecture": architecture}


def _parenthetical(phrase: str) -> tuple[str, str] | None:
    """(name, note) of a phrase ending in parentheses that hold none: `Name (32-bit x86)`."""
    # Found from the end: a regular expression such as `(.*?)\s*\(([^()]*)\)` backtracks
    # through every space of a long phrase, which is quadratic.
    start = phrase.rfind("(")
    if not phrase.endswith(")") or start < 0 or ")" in phrase[start + 1 : -1]:
        return None
    return phrase[:start].rstrip(), phrase[start + 1 : -1]


def _architecture(note: str, catalog: Catalog) -> str | None:
    # "32-bit x86" names its architecture twice: every word that names one must agree.
    if whole := catalog.architecture_for(note):
        return whole
    named = {catalog.architecture_for(word) for word in note.split()} - {None}
    return named.pop() if len(named) == 1 else None
