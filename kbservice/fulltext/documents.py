"""Tokens to what each engine indexes, and query phrases to each engine's syntax (pure).

Both engines index the same tokens at the same positions (kbservice.fulltext.tokenizer),
so they match the same documents:

- PostgreSQL gets a `tsvector` literal: each term with its positions (1-based; the body
  follows the title after a section gap) and weight `A` in the title. A tsvector keeps at
  most 256 positions per term and positions up to 16,383, so both engines index only
  those tokens (`indexed`); a longer document is searched on its first 16,383 positions.
- SQLite FTS5 (`tokenize='ascii'`, which keeps every non-ASCII character and our already
  folded ASCII terms as they are) gets the terms as space-separated text, one column per
  field. FTS5 numbers tokens consecutively, so a gap between runs becomes one FILLER token
  and a section break one SECTION token; a token left out becomes a DROPPED token, which
  keeps its neighbours apart. Queries contain FILLER where a phrase crosses from a word to
  a CJK run; they never contain SECTION or DROPPED.

The engines receive what `index_form` makes of a document.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

from .tokenizer import RUN_GAP, SEGMENT_GAP, Terms, segment_terms

# Private-use characters: never a term (the tokenizer's words and runs exclude them).
FILLER = "\ue000"
SECTION = "\ue001"
DROPPED = "\ue002"
# PostgreSQL's tsvector limits (docs: "Text Search Types").
MAX_POSITION = 16383
MAX_POSITIONS_PER_TERM = 256
# A match in the title is weighed by the engines' title weights (ranking.py).
TITLE_LABEL = "A"


class IndexForm(NamedTuple):
    """One document as the engines index it."""

    fts_title: str
    fts_body: str
    # The tsvector literal (PostgreSQL), or None when not asked for.
    tsvector: str | None
    # How many tokens the index holds.
    tokens: int


def body_offset(title: Terms) -> int:
    """Where the body's positions start in a document's tsvector (0-based)."""
    return title.last + 1 + SEGMENT_GAP


def document_terms(segments: Sequence[str]) -> Terms:
    """A field's terms, marked with FILLER and SECTION for FTS5."""
    return segment_terms(segments, FILLER, SECTION)


def index_form(title: Terms, body: Terms, *, tsvector: bool) -> IndexForm:
    """Both fields for FTS5 and, if asked, as a tsvector literal.

    A term keeps its first MAX_POSITIONS_PER_TERM positions (title first); the body is cut
    at the first token past MAX_POSITION, counted after the title.
    """
    start = body_offset(title) + 1
    if _within_limits(title, body, start):
        return IndexForm(
            " ".join(title.marked),
            " ".join(body.marked),
            _tsvector(title, body, start) if tsvector else None,
            len(title.terms) + len(body.terms),
        )
    return _index_form_cut(title, body, tsvector=tsvector)


def _within_limits(title: Terms, body: Terms, start: int) -> bool:
    """True when a tsvector holds every token (the usual case, checked in C)."""
    if body.last + start > MAX_POSITION:
        return False
    if len(title.terms) + len(body.terms) <= MAX_POSITIONS_PER_TERM:
        return True
    counts = Counter(title.terms)
    counts.update(body.terms)
    return max(counts.values()) <= MAX_POSITIONS_PER_TERM


def _tsvector(title: Terms, body: Terms, start: int) -> str:
    """The literal: each term once with its positions, title terms first (weighted)."""
    body_positions: dict[str, list[str]] = {}
    get = body_positions.get
    for term, position in zip(body.terms, map(str, body.positions(start)), strict=True):
        found = get(term)
        if found is None:
            body_positions[term] = [position]
        else:
            found.append(position)
    title_positions: dict[str, list[str]] = {}
    for term, position in zip(title.terms, title.positions(1), strict=True):
        title_positions.setdefault(term, []).append(f"{position}{TITLE_LABEL}")
    parts = []
    for term, found in title_positions.items():
        found += body_positions.pop(term, ())
        parts.append(f"{_quoted(term)}:{','.join(found)}")
    parts += [f"{_quoted(term)}:{','.join(found)}" for term, found in body_positions.items()]
    return " ".join(parts)


def _index_form_cut(title: Terms, body: Terms, *, tsvector: bool) -> IndexForm:
    """index_form for a document that a tsvector cannot hold whole, token by token."""
    counts: dict[str, int] = {}
    by_term: dict[str, list[str]] = {}
    texts: list[str] = []
    kept = 0
    for terms, start, label in (
        (title, 1, TITLE_LABEL),
        (body, body_offset(title) + 1, ""),
    ):
        words: list[str] = []
        previous = -1
        for term, position in zip(terms.terms, terms.positions(), strict=True):
            if position + start > MAX_POSITION:
                break
            gap = position - previous - 1
            if previous >= 0 and gap:
                words.append(SECTION if gap > RUN_GAP else FILLER)
            previous = position
            seen = counts.get(term, 0)
            counts[term] = seen + 1
            if seen >= MAX_POSITIONS_PER_TERM:
                words.append(DROPPED)
                continue
            words.append(term)
            kept += 1
            if tsvector:
                found = by_term.get(term)
                if found is None:
                    found = by_term[term] = []
                found.append(f"{position + start}{label}")
        texts.append(" ".join(words))
    literal = (
        " ".join(f"{quote(term)}:{','.join(found)}" for term, found in by_term.items())
        if tsvector
        else None
    )
    return IndexForm(texts[0], texts[1], literal, kept)


def fts5_phrase(terms: Sequence[tuple[int, str]]) -> str:
    """A phrase (terms at offsets, as the parser gives them) as an FTS5 string.

    The parser checks a CJK run on every other bigram; FTS5 needs them all, so a skipped
    bigram is rebuilt from its neighbours. A step of a run gap becomes FILLER.
    """
    words = [terms[0][1]]
    for (before, left), (after, right) in pairwise(terms):
        step = after - before
        if step == 2:
            words.append(left[-1] + right[0])
        elif step > 2:
            words.append(FILLER)
        words.append(right)
    return '"' + " ".join(words) + '"'


def tsquery_phrase(terms: Sequence[tuple[int, str]], label: str = "") -> str:
    """A phrase as a tsquery: `'a' <2> 'b'`; `label` (e.g. A) restricts it to the title."""
    parts = [quote(terms[0][1]) + (f":{label}" if label else "")]
    for (before, _), (after, right) in pairwise(terms):
        parts.append(f"<{after - before}> {quote(right)}" + (f":{label}" if label else ""))
    return "(" + " ".join(parts) + ")"


def quote(term: str) -> str:
    """A term as a tsvector or tsquery lexeme, quoted."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


# A corpus has far fewer distinct terms than tokens: each is quoted once.
_quoted = functools.lru_cache(maxsize=65536)(quote)
