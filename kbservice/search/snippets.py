"""Snippets: a short piece of the matched text with the matches in `<mark>` (pure).

Everything but the `<mark>` tags is HTML-escaped, so a snippet can go into a page as is.
"""

from __future__ import annotations

import bisect
import html
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..fulltext.tokenizer import WORD_CHAR, normalize_with_offsets, word_term
from .parser import Highlight

SNIPPET_LENGTH = 160
# Characters of context shown before the first match of a passage.
LEAD = 40
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Span:
    """Characters `start:end` of a text match the query unit `key`."""

    start: int
    end: int
    key: str


class Highlighter:
    """Finds where a query's highlights occur in any text."""

    def __init__(self, highlights: Sequence[Highlight]) -> None:
        self.terms = {h.text for h in highlights if not h.cjk}
        # A page's bodies repeat the same few words: stem each once per query.
        self._word_terms: dict[str, str] = {}
        runs = sorted({h.text for h in highlights if h.cjk}, key=len, reverse=True)
        # A run matches across the spaces the tokenizer ignores inside CJK text.
        self._runs = (
            re.compile("|".join(r"[^\S\n]*".join(map(re.escape, run)) for run in runs))
            if runs
            else None
        )
        # Candidate words start like a term (a stem may end in a letter its words lack:
        # policy ← policies); each candidate is checked by computing its term.
        prefixes = sorted({_prefix(term) for term in self.terms}, key=len, reverse=True)
        self._words = (
            re.compile(
                rf"(?<!{WORD_CHAR})(?:kb0*)?(?:{'|'.join(map(re.escape, prefixes))})"
                rf"{WORD_CHAR}*"
            )
            if prefixes
            else None
        )

    def spans(self, text: str) -> list[Span]:
        """The matches in `text`, in order, not overlapping."""
        normalized, starts, ends = normalize_with_offsets(text)
        found: list[tuple[int, int, str]] = []
        if self._runs is not None:
            found += [
                (*m.span(), "".join(m.group().split())) for m in self._runs.finditer(normalized)
            ]
        if self._words is not None:
            for match in self._words.finditer(normalized):
                word = match.group()
                term = self._word_terms.get(word)
                if term is None:
                    term = self._word_terms[word] = word_term(word)
                if term in self.terms:
                    found.append((*match.span(), term))
        if starts is not None and ends is not None:
            found = [(starts[a], ends[b - 1], key) for a, b, key in found]
        spans: list[Span] = []
        for start, end, key in sorted(found):
            if spans and start < spans[-1].end:
                continue
            spans.append(Span(start, end, key))
        return spans


def _prefix(term: str) -> str:
    return term[:-1] if len(term) > 3 and term.isalpha() else term


def render(text: str, spans: Sequence[Span], start: int, end: int) -> str:
    """`text[start:end]` escaped, with the spans inside it marked and whitespace collapsed."""
    pieces: list[str] = ["…"] if start > 0 else []
    cursor = start
    for span in spans:
        if span.start < start or span.end > end:
            continue
        pieces.append(_plain(text[cursor : span.start]))
        pieces.append(f"<mark>{_plain(text[span.start : span.end])}</mark>")
        cursor = span.end
    pieces.append(_plain(text[cursor:end]))
    if end < len(text):
        pieces.append("…")
    return "".join(pieces).strip()


def _plain(text: str) -> str:
    return html.escape(_SPACES.sub(" ", text))


def make_snippet(
    highlighter: Highlighter,
    title: str,
    segments: Sequence[str],
    intro: str,
    length: int = SNIPPET_LENGTH,
) -> str:
    """The passage of the body with the most distinct matches; else the marked title.

    Without any match (an article found by its KB number alone), the start of `intro`.
    """
    # One pass over the whole body: a new line ends every word and run, so no match
    # spans two segments.
    offsets = list(itertools.accumulate((len(segment) + 1 for segment in segments), initial=0))
    by_segment: dict[int, list[Span]] = {}
    for span in highlighter.spans("\n".join(segments)):
        index = bisect.bisect_right(offsets, span.start) - 1
        shift = offsets[index]
        by_segment.setdefault(index, []).append(
            Span(span.start - shift, span.end - shift, span.key)
        )
    best = _best_passage(segments, by_segment, length)
    if best is not None:
        segment, spans, start = best
        return render(segment, spans, start, _cut(segment, start, length))
    title_spans = highlighter.spans(title)
    if title_spans:
        return render(title, title_spans, 0, len(title))
    return render(intro, [], 0, _cut(intro, 0, length))


def _best_passage(
    segments: Sequence[str], by_segment: dict[int, list[Span]], length: int
) -> tuple[str, list[Span], int] | None:
    """The first passage with the most distinct matches: its segment, spans and start."""
    # No passage holds more keys than the body: the first that holds them all wins (for a
    # one-term query, the first match), which spares scanning every other anchor.
    most = len({span.key for spans in by_segment.values() for span in spans})
    best: tuple[int, str, list[Span], int] | None = None
    for index, spans in by_segment.items():
        segment = segments[index]
        for anchor in spans:
            start = _start(segment, anchor.start)
            end = _cut(segment, start, length)
            distinct = len({s.key for s in spans if s.start >= start and s.end <= end})
            if best is None or distinct > best[0]:
                best = (distinct, segment, spans, start)
                if distinct == most:
                    return segment, spans, start
    return best[1:] if best is not None else None


def _start(text: str, first_match: int) -> int:
    if first_match <= LEAD:
        return 0
    start = first_match - LEAD
    # Begin at a word boundary when there is one close by (Japanese has none: cut anywhere).
    space = text.find(" ", start, first_match)
    return space + 1 if space != -1 and space - start < 15 else start


def _cut(text: str, start: int, length: int) -> int:
    end = min(len(text), start + length)
    if end == len(text):
        return end
    space = text.rfind(" ", end - 15, end)
    return space if space > start else end
